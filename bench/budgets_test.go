package bench

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"

	"github.com/lanedye/lanedye/bench/wasmhost"
	"github.com/lanedye/lanedye/internal/config/gatewayconf"
	"github.com/lanedye/lanedye/internal/lane"
	"github.com/lanedye/lanedye/internal/request"
)

const soakRequests = 1_000_000

// artifact reads a role's built module.
func artifact(t *testing.T, role string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(Root, "build", "lanedye-"+role+".wasm"))
	if err != nil {
		t.Fatalf("the %s module is required (run make build): %v", role, err)
	}
	return b
}

func gatewayConfig(t testing.TB) []byte {
	b, err := ShippedGatewayConfig(Root)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestModuleBudgets(t *testing.T) {
	for _, tc := range []struct {
		role  string
		bytes int
	}{{"gateway", MaxGatewayBytes}, {"sidecar", MaxSidecarBytes}} {
		t.Run(tc.role, func(t *testing.T) {
			wasm := artifact(t, tc.role)
			if len(wasm) > tc.bytes {
				t.Errorf("module is %d bytes, budget %d", len(wasm), tc.bytes)
			}
			pages, err := InitialPages(context.Background(), wasm)
			if err != nil {
				t.Fatal(err)
			}
			if pages > MaxInitialPages {
				t.Errorf("initial memory %d pages, budget %d", pages, MaxInitialPages)
			}
			t.Logf("%d bytes, %d initial pages", len(wasm), pages)
		})
	}
}

// Host calls that return data re-enter the guest to allocate; the gateway
// needs exactly one (the request headers), plus source.address only when a
// decision can depend on it (a rule's source_ip, or a trust block's for a
// request that carries a lane header).
func TestGatewayHostCallBudgets(t *testing.T) {
	ctx := context.Background()
	wasm := artifact(t, "gateway")
	shipped := gatewayConfig(t)
	if !gjson.GetBytes(shipped, "trust.match.0.source_ip").Exists() {
		t.Fatal("the shipped gateway configuration has no source_ip condition in trust; this budget needs one")
	}
	noSource, err := sjson.DeleteBytes(shipped, "trust")
	if err != nil {
		t.Fatal(err)
	}
	ruleSource, err := sjson.SetRawBytes(shipped, "rules.-1", []byte(`{"name":"office","lane":"gray","match":[{"source_ip":["10.8.0.0/16"]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	m, gw, err := Instance(ctx, wasm, shipped)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close(ctx)
	instance := func(cfg []byte) *wasmhost.Instance {
		in, err := m.NewInstance(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		return in
	}
	laneHeader := func(i int) []Stream {
		s := GatewayStreams(i)
		s[0].Req = append(s[0].Req, [2]string{"x-swimlane", "gray"})
		return s
	}
	for _, tc := range []struct {
		name     string
		in       *wasmhost.Instance
		gen      func(int) []Stream
		data     int
		property int
	}{
		{"shipped, no lane header", gw, GatewayStreams, GatewayDataCalls, 0},
		{"shipped, client lane header: trust reads the source", gw, laneHeader, GatewayDataCalls + SourceDataCalls, 1},
		{"source_ip in a rule", instance(ruleSource), GatewayStreams, GatewayDataCalls + SourceDataCalls, 1},
		{"without source_ip, client lane header", instance(noSource), laneHeader, GatewayDataCalls, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Measure(tc.in, tc.gen, 100, 1000)
			if err != nil {
				t.Fatal(err)
			}
			if c.DataCalls > float64(tc.data) {
				t.Errorf("%.2f data-returning host calls per request, budget %d (%v)", c.DataCalls, tc.data, c.HostCalls)
			}
			if c.HostCalls["proxy_get_header_map_pairs"] != 1 || c.HostCalls["proxy_get_header_map_value"] != 0 {
				t.Errorf("headers read other than once: %v", c.HostCalls)
			}
			if got := c.HostCalls["proxy_get_property"]; got != float64(tc.property) {
				t.Errorf("get_property %.2f per request, want %d", got, tc.property)
			}
			expectNoErrors(t, tc.in)
		})
	}
}

// The sidecar needs three data-returning host calls per direction: headers,
// listener_direction and one shared-data read.
func TestSidecarHostCallBudgets(t *testing.T) {
	ctx := context.Background()
	m, sc, err := Instance(ctx, artifact(t, "sidecar"), []byte(SidecarConfig))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close(ctx)
	for _, dir := range []uint64{1, 2} {
		gen := func(i int) []Stream { return SidecarStreams(i)[dir-1 : dir] }
		c, err := Measure(sc, gen, 100, 1000)
		if err != nil {
			t.Fatal(err)
		}
		if c.DataCalls > SidecarDataCalls {
			t.Errorf("sidecar direction %d: %.2f data-returning host calls per request, budget %d (%v)", dir, c.DataCalls, SidecarDataCalls, c.HostCalls)
		}
	}
	expectNoErrors(t, sc)
	if v, _ := sc.Counter("lanedye.propagation.hit"); v < 1000 {
		t.Errorf("the sidecar workload restored %d lanes, want every one", v)
	}
}

// expectNoErrors flushes the instance's counters and wants lanedye.errors at 0.
func expectNoErrors(t *testing.T, in *wasmhost.Instance) {
	t.Helper()
	if err := in.Tick(); err != nil {
		t.Fatal(err)
	}
	if v, _ := in.Counter("lanedye.errors"); v != 0 {
		t.Errorf("lanedye.errors = %d", v)
	}
}

// Linear memory never shrinks; with the whole stream lifecycle delivered it
// must not grow between 100k and 1M requests, and shared data must stay
// within slots. The first checkpoint is where the heap has settled: the
// cookie cache fills and the collector, which runs less often the less a
// request allocates, reaches its steady heap goal.
func TestSoakBudgets(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	const settled = 100_000
	ctx := context.Background()
	m, gw, err := Instance(ctx, artifact(t, "gateway"), gatewayConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close(ctx)
	pages, err := Soak(gw, GatewayStreams, soakRequests, settled, soakRequests)
	if err != nil {
		t.Fatal(err)
	}
	if pages[soakRequests] > pages[settled] {
		t.Errorf("gateway memory grew from %d pages at 100k to %d at 1M requests", pages[settled], pages[soakRequests])
	}
	sm, sc, err := Instance(ctx, artifact(t, "sidecar"), []byte(SidecarConfig))
	if err != nil {
		t.Fatal(err)
	}
	defer sm.Close(ctx)
	in := func(i int) []Stream { return SidecarStreams(i)[:1] }
	spages, err := Soak(sc, in, soakRequests, settled, soakRequests)
	if err != nil {
		t.Fatal(err)
	}
	if spages[soakRequests] > spages[settled] {
		t.Errorf("sidecar memory grew from %d pages at 100k to %d at 1M ids", spages[settled], spages[soakRequests])
	}
	if keys := sc.SharedKeys(); keys > 8192 {
		t.Errorf("%d shared-data keys after 1M distinct ids, slots 8192", keys)
	}
	t.Logf("gateway pages %v; sidecar pages %v, keys %d", pages, spages, sc.SharedKeys())
}

// Native decisions allocate nothing for header, cookie and percentage rules,
// and for valid sticky cookies.
func TestNativeAllocationBudgets(t *testing.T) {
	cfg := benchConfig(t)
	for name, hs := range DecideCases(BenchSecret) {
		t.Run(name, func(t *testing.T) {
			var r request.Request
			st := gatewayconf.Of(cfg).Gateway.NewState()
			r.Reset(cfg.Index, hs)
			if d := gatewayconf.Of(cfg).Gateway.Decide(&r, BenchNow, st); name == "gateway/sticky-cookie" && d.Source != lane.SourceCookie {
				t.Fatalf("the sticky case is decided by %v", d.Source)
			}
			if n := testing.AllocsPerRun(200, func() { r.Reset(cfg.Index, hs); _ = gatewayconf.Of(cfg).Gateway.Decide(&r, BenchNow, st) }); n != 0 {
				t.Errorf("%.1f allocations per decision", n)
			}
		})
	}
}
