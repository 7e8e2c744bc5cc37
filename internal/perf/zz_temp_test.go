package perf

import (
	"context"
	"os"
	"sort"
	"testing"

	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"
)

type cnt map[string]int

func (c cnt) NewFunctionListener(d api.FunctionDefinition) experimental.FunctionListener {
	name := d.DebugName()
	return experimental.FunctionListenerFunc(func(_ context.Context, _ api.Module, _ api.FunctionDefinition, _ []uint64, _ experimental.StackIterator) {
		c[name]++
	})
}

func TestZZCount(t *testing.T) {
	c := cnt{}
	ctx := experimental.WithFunctionListenerFactory(context.Background(), c)
	wasm, _ := os.ReadFile(os.Getenv("ZZWASM"))
	m, gw, err := Instance(ctx, wasm, gatewayConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close(ctx)
	if _, err := Measure(gw, GatewayStreams, 100, 100); err != nil {
		t.Fatal(err)
	}
	for k := range c {
		delete(c, k)
	}
	if _, err := Measure(gw, GatewayStreams, 0, 1000); err != nil {
		t.Fatal(err)
	}
	type kv struct {
		k string
		v int
	}
	var l []kv
	tot := 0
	for k, v := range c {
		l = append(l, kv{k, v})
		tot += v
	}
	sort.Slice(l, func(i, j int) bool { return l[i].v > l[j].v })
	t.Logf("total calls per req: %.1f", float64(tot)/1000)
	for _, e := range l[:min(90, len(l))] {
		t.Logf("%8.2f %s", float64(e.v)/1000, e.k)
	}
}
