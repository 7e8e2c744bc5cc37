package bench

import (
	"context"
	"encoding/binary"
	"errors"
	"time"

	"github.com/tetratelabs/wazero"

	"github.com/lanedye/lanedye/bench/wasmhost"
)

// Stream is one request through an instance: its properties and headers.
type Stream struct {
	Props map[string][]byte
	Req   [][2]string
}

// Direction returns the listener_direction property.
func Direction(d uint64) map[string][]byte {
	b := make([]byte, 8)
	binary.LittleEndian.PutUint64(b, d)
	return map[string][]byte{"xds\x00listener_direction": b}
}

// Run sends one stream through in with the full lifecycle.
func Run(in *wasmhost.Instance, s Stream) (*wasmhost.Stream, error) {
	st, err := in.NewStream(s.Props)
	if err != nil {
		return nil, err
	}
	if _, err := st.RequestHeaders(append([][2]string(nil), s.Req...), true); err != nil {
		return nil, err
	}
	if _, err := st.ResponseHeaders([][2]string{{":status", "200"}, {"content-type", "application/json"}}, true); err != nil {
		return nil, err
	}
	return st, st.Done()
}

// Cost is the measured per-request cost of a workload in the harness.
type Cost struct {
	NsPerRequest float64            `json:"ns_per_request"`
	HostCalls    map[string]float64 `json:"host_calls_per_request"`
	DataCalls    float64            `json:"data_returning_calls_per_request"`
}

// Measure runs warm streams, then n measured ones (gen(i) for i in
// [warm, warm+n)), and returns the per-request cost and host calls.
func Measure(in *wasmhost.Instance, gen func(i int) []Stream, warm, n int) (Cost, error) {
	for i := 0; i < warm; i++ {
		for _, s := range gen(i) {
			if _, err := Run(in, s); err != nil {
				return Cost{}, err
			}
		}
	}
	in.ResetHostCalls()
	start := time.Now()
	for i := warm; i < warm+n; i++ {
		for _, s := range gen(i) {
			if _, err := Run(in, s); err != nil {
				return Cost{}, err
			}
		}
	}
	el := time.Since(start)
	c := Cost{NsPerRequest: float64(el.Nanoseconds()) / float64(n), HostCalls: map[string]float64{}, DataCalls: float64(in.DataCalls) / float64(n)}
	for k, v := range in.HostCalls {
		c.HostCalls[k] = float64(v) / float64(n)
	}
	return c, nil
}

// InitialPages returns the initial linear memory size, in 64 KiB pages,
// that a module declares (its exported or imported memory).
func InitialPages(ctx context.Context, wasm []byte) (uint32, error) {
	rt := wazero.NewRuntime(ctx)
	defer rt.Close(ctx)
	cm, err := rt.CompileModule(ctx, wasm)
	if err != nil {
		return 0, err
	}
	for _, m := range cm.ExportedMemories() {
		return m.Min(), nil
	}
	for _, m := range cm.ImportedMemories() {
		return m.Min(), nil
	}
	return 0, errors.New("the module has no memory")
}

// Instance compiles wasm and starts one instance with cfg.
func Instance(ctx context.Context, wasm, cfg []byte) (*wasmhost.Module, *wasmhost.Instance, error) {
	m, err := wasmhost.Compile(ctx, wasm)
	if err != nil {
		return nil, nil, err
	}
	in, err := m.NewInstance(ctx, cfg)
	if err != nil {
		m.Close(ctx)
		return nil, nil, err
	}
	return m, in, nil
}

// Soak runs gen's streams for i in [0, n) and records linear memory pages at
// every checkpoint (a request count).
func Soak(in *wasmhost.Instance, gen func(i int) []Stream, n int, checkpoints ...int) (map[int]uint32, error) {
	out := map[int]uint32{}
	next := 0
	for i := 0; i < n; i++ {
		for _, s := range gen(i) {
			if _, err := Run(in, s); err != nil {
				return nil, err
			}
		}
		if next < len(checkpoints) && i+1 == checkpoints[next] {
			out[checkpoints[next]] = in.MemoryPages()
			next++
		}
	}
	return out, nil
}
