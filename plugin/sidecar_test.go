package main

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"
)

const (
	inbound  = 1
	outbound = 2
)

// direction sets Envoy's listener_direction for the next requests.
func (h *host) direction(d uint64) {
	h.t.Helper()
	b := make([]byte, 8) // fresh: the emulator keeps the slice
	binary.LittleEndian.PutUint64(b, d)
	if err := h.SetProperty([]string{"xds", "listener_direction"}, b); err != nil {
		h.t.Fatal(err)
	}
}

// in sends an inbound request; out sends an outbound one and returns what
// the upstream sees.
func (h *host) in(kv ...string) exchange {
	h.t.Helper()
	h.direction(inbound)
	return h.do(req("svc-a.prod.svc.cluster.local", "/", kv...))
}

func (h *host) out(authority string, kv ...string) exchange {
	h.t.Helper()
	h.direction(outbound)
	return h.do(req(authority, "/", kv...))
}

// sharedKeys lists the emulator's shared-data keys. The emulator has no
// accessor, so this reads its unexported map: the point is to see every key,
// not only the ones lanedye is expected to write.
func (h *host) sharedKeys() []string {
	h.t.Helper()
	v := reflect.ValueOf(h.HostEmulator).Elem().FieldByName("rootHostEmulator").Elem().FieldByName("sharedDataKVS")
	if !v.IsValid() {
		h.t.Fatal("emulator layout changed: no sharedDataKVS")
	}
	var keys []string
	for _, k := range v.MapKeys() {
		keys = append(keys, k.String())
	}
	return keys
}

const sidecarCfg = `{"role":"sidecar","lanes":["gray","dev-a"],"debug":true,
  "propagation":{"keys":["traceparent","b3","x-b3-traceid","uber-trace-id","sw8","header:x-corr","x-request-id"],"ttl":%d,"slots":%d%s}
  %s}`

func sidecarConfig(ttl, slots int, extra, fallback string) string {
	return fmt.Sprintf(sidecarCfg, ttl, slots, extra, fallback)
}

func TestPropagationRoundTrip(t *testing.T) {
	sw8 := "1-" + base64.StdEncoding.EncodeToString([]byte("a1b2c3.55.16790000000000001")) + "-" +
		base64.StdEncoding.EncodeToString([]byte("seg")) + "-3-" + strings.Repeat(base64.StdEncoding.EncodeToString([]byte("x"))+"-", 3) +
		base64.StdEncoding.EncodeToString([]byte("10.0.0.1:80"))
	sw8Other := strings.Replace(sw8, base64.StdEncoding.EncodeToString([]byte("a1b2c3.55.16790000000000001")),
		base64.StdEncoding.EncodeToString([]byte("a1b2c3.55.16790000000000002")), 1)
	cases := []struct {
		name    string
		in, out []string // the correlation headers on each side
		other   string   // a value of out[0] for another trace
	}{
		{"traceparent", []string{"traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"},
			[]string{"traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-b7ad6b7169203331-00"}, "00-5bf92f3577b34da6a3ce929d0e0e4736-b7ad6b7169203331-00"},
		{"x-request-id", []string{"x-request-id", "9d5a4a6c-1b2f-4c3d-8e9f-0a1b2c3d4e5f"},
			[]string{"x-request-id", "9d5a4a6c-1b2f-4c3d-8e9f-0a1b2c3d4e5f"}, "9d5a4a6c-1b2f-4c3d-8e9f-0a1b2c3d4e50"},
		{"x-request-id with Envoy's index-14 rewrite", []string{"x-request-id", "9d5a4a6c-1b2f-4c3d-8e9f-0a1b2c3d4e5f"},
			[]string{"x-request-id", "9d5a4a6c-1b2f-bc3d-8e9f-0a1b2c3d4e5f"}, "9d5a4a6c-1b2f-bc3d-8e9f-0a1b2c3d4e50"},
		{"b3 single header", []string{"b3", "80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1-05e3ac9a4f6e3b90"},
			[]string{"b3", "80f198ee56343ba864fe8b2a57d3eff7-05e3ac9a4f6e3b90-1"}, "90f198ee56343ba864fe8b2a57d3eff7-05e3ac9a4f6e3b90-1"},
		{"x-b3-traceid", []string{"x-b3-traceid", "463ac35c9f6413ad"}, []string{"x-b3-traceid", "463ac35c9f6413ad"}, "463ac35c9f6413ae"},
		{"uber-trace-id", []string{"uber-trace-id", "4bf92f3577b34da6:a3ce929d0e0e4736:0:1"},
			[]string{"uber-trace-id", "4bf92f3577b34da6%3Ab3ce929d0e0e4736%3Aa3ce929d0e0e4736%3A1"}, "5bf92f3577b34da6%3Ab3ce929d0e0e4736%3Aa3ce929d0e0e4736%3A1"},
		{"sw8", []string{"sw8", sw8}, []string{"sw8", sw8}, sw8Other},
		{"custom header", []string{"x-corr", "order-77"}, []string{"x-corr", "order-77"}, "order-78"},
		{"b3 to traceparent of the same trace", []string{"b3", "4bf92f3577b34da6a3ce929d0e0e4736-e457b5a2e4d86bd1"},
			[]string{"traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}, "00-5bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"},
	}
	vmTest(t, func(t *testing.T, vm types.VMContext) {
		for _, c := range cases {
			h := startPlugin(t, vm, sidecarConfig(60, 1024, "", ""))
			h.in(append([]string{"x-swimlane", "dev-a"}, c.in...)...)
			ex := h.out("svc-b", c.out...)
			if got := one(t, ex.req, "x-swimlane"); got != "dev-a" {
				t.Errorf("%s: outbound lane %q, want dev-a", c.name, got)
			}
			if got := one(t, ex.resp, "x-lanedye-decision"); got != "lane=dev-a; source=propagated" {
				t.Errorf("%s: decision %q", c.name, got)
			}
			// An unrelated id of the same kind does not get the lane.
			ex = h.out("svc-b", c.out[0], c.other)
			if got := one(t, ex.req, "x-swimlane"); got != "" {
				t.Errorf("%s: other id %q got lane %q", c.name, c.other, got)
			}
			if h.counter("lanedye.propagation.stored") == 0 || h.counter("lanedye.propagation.hit") != 1 {
				t.Errorf("%s: stored %d hit %d", c.name, h.counter("lanedye.propagation.stored"), h.counter("lanedye.propagation.hit"))
			}
			h.close()
		}
	})
}

func TestPropagationLimits(t *testing.T) {
	const rid = "9d5a4a6c-1b2f-4c3d-8e9f-0a1b2c3d4e5f"
	t.Run("ttl", func(t *testing.T) {
		vmTest(t, func(t *testing.T, vm types.VMContext) {
			h := startPlugin(t, vm, sidecarConfig(1, 64, "", ""))
			h.in("x-swimlane", "gray", "x-request-id", rid)
			if got := one(t, h.out("svc-b", "x-request-id", rid).req, "x-swimlane"); got != "gray" {
				t.Fatalf("fresh mapping: lane %q", got)
			}
			// The plugin reads the WASI clock. Natively that is real time;
			// under the SDK's wazero wrapper it is wazero's fake clock, which
			// advances 1 ms per reading. Looking up repeatedly, with short
			// real pauses, passes the TTL on either clock.
			_, native := vm.(*vmContext)
			expired := false
			i := 0
			for ; i < 50000 && !expired; i++ {
				if native && i%50 == 49 {
					time.Sleep(25 * time.Millisecond)
				}
				expired = one(t, h.out("svc-b", "x-request-id", rid).req, "x-swimlane") == ""
			}
			if !expired {
				t.Fatal("the mapping never expired")
			}
			t.Logf("expired after %d lookups", i)
			if h.counter("lanedye.propagation.expired") != 1 || h.counter("lanedye.propagation.miss") != 0 {
				t.Errorf("expired = %d miss = %d, want 1 and 0", h.counter("lanedye.propagation.expired"), h.counter("lanedye.propagation.miss"))
			}
		})
	})
	t.Run("collision", func(t *testing.T) {
		vmTest(t, func(t *testing.T, vm types.VMContext) {
			h := startPlugin(t, vm, sidecarConfig(60, 1, "", "")) // one slot: every id collides
			h.in("x-swimlane", "gray", "x-corr", "first")
			h.in("x-swimlane", "dev-a", "x-corr", "second")
			if got := one(t, h.out("svc-b", "x-corr", "first").req, "x-swimlane"); got != "" {
				t.Errorf("first id got %q from the slot the second overwrote", got)
			}
			if got := one(t, h.out("svc-b", "x-corr", "second").req, "x-swimlane"); got != "dev-a" {
				t.Errorf("newest mapping: lane %q, want dev-a", got)
			}
			if h.counter("lanedye.propagation.overwritten") != 1 || h.counter("lanedye.propagation.miss") != 1 {
				t.Errorf("overwritten %d miss %d", h.counter("lanedye.propagation.overwritten"), h.counter("lanedye.propagation.miss"))
			}
		})
	})
	t.Run("ways keep colliding ids", func(t *testing.T) {
		vmTest(t, func(t *testing.T, vm types.VMContext) {
			h := startPlugin(t, vm, sidecarConfig(60, 1, `,"ways":4`, "")) // one slot, four mappings
			lanes := []string{"gray", "dev-a", "base", "gray"}
			for i, l := range lanes {
				h.in("x-swimlane", l, "x-corr", fmt.Sprint("id-", i))
			}
			for i, l := range lanes {
				if got := one(t, h.out("svc-b", "x-corr", fmt.Sprint("id-", i)).req, "x-swimlane"); got != l {
					t.Errorf("id-%d: lane %q, want %s", i, got, l)
				}
			}
			if h.counter("lanedye.propagation.overwritten") != 0 || len(h.sharedKeys()) != 1 {
				t.Errorf("overwritten %d, keys %d", h.counter("lanedye.propagation.overwritten"), len(h.sharedKeys()))
			}
			h.in("x-swimlane", "gray", "x-corr", "id-4")
			if got := one(t, h.out("svc-b", "x-corr", "id-0").req, "x-swimlane"); got != "" || h.counter("lanedye.propagation.overwritten") != 1 {
				t.Errorf("fifth id did not evict the oldest: %q", got)
			}
		})
	})
	t.Run("bounded keys", func(t *testing.T) {
		const n, slots = 100_000, 512
		vmTest(t, func(t *testing.T, vm types.VMContext) {
			h := startPlugin(t, vm, sidecarConfig(60, slots, "", ""))
			h.direction(inbound)
			for i := 0; i < n; i++ {
				id := h.InitializeHttpContext()
				h.CallOnRequestHeaders(id, [][2]string{{":authority", "a"}, {":path", "/"},
					{"x-swimlane", "gray"}, {"x-corr", fmt.Sprintf("req-%d", i)}}, true)
				h.CompleteHttpContext(id)
			}
			keys := h.sharedKeys()
			if len(keys) > slots {
				t.Errorf("%d shared-data keys after %d ids, want <= %d", len(keys), n, slots)
			}
			for _, k := range keys {
				if !strings.HasPrefix(k, "lanedye.propagation.v1/") {
					t.Errorf("key %q outside the namespace", k)
				}
			}
			if got := one(t, h.out("svc-b", "x-corr", fmt.Sprintf("req-%d", n-1)).req, "x-swimlane"); got != "gray" {
				t.Errorf("newest mapping after %d ids: lane %q", n, got)
			}
			t.Logf("%d ids -> %d keys (slots %d), overwritten %d", n, len(keys), slots, h.counter("lanedye.propagation.overwritten"))
		})
	})
}

func TestPropagationRules(t *testing.T) {
	const rid = "9d5a4a6c-1b2f-4c3d-8e9f-0a1b2c3d4e5f"
	vmTest(t, func(t *testing.T, vm types.VMContext) {
		h := startPlugin(t, vm, sidecarConfig(60, 64, `,"baggage":"lane"`, ""))
		// An unknown lane is never stored.
		h.in("x-swimlane", "prod-hack", "x-request-id", rid)
		if keys := h.sharedKeys(); len(keys) != 0 {
			t.Errorf("unknown lane stored: %q", keys)
		}
		// The application's own valid lane header is kept.
		h.in("x-swimlane", "gray", "x-request-id", rid)
		ex := h.out("svc-b", "x-request-id", rid, "x-swimlane", "dev-a")
		if got := one(t, ex.req, "x-swimlane"); got != "dev-a" {
			t.Errorf("application's lane replaced by %q", got)
		}
		if got := one(t, ex.resp, "x-lanedye-decision"); got != "lane=dev-a; source=header" {
			t.Errorf("decision %q", got)
		}
		// An invalid lane header from the application is not propagated.
		ex = h.out("svc-b", "x-request-id", rid, "x-swimlane", "nope")
		if got := one(t, ex.req, "x-swimlane"); got != "gray" {
			t.Errorf("invalid app lane: %q, want the stored gray", got)
		}
		// No correlation id: nothing to restore.
		ex = h.out("svc-b")
		if got := one(t, ex.req, "x-swimlane"); got != "" || h.counter("lanedye.propagation.no_id") != 1 {
			t.Errorf("no id: lane %q no_id %d", got, h.counter("lanedye.propagation.no_id"))
		}
		// Baggage in: the member sets the lane when the header is absent.
		ex = h.in("baggage", "userId=alice,lane=dev-a;ttl=1", "x-corr", "c1", "traceparent", "00-11111111111111111111111111111111-2222222222222222-01")
		if got := one(t, ex.req, "x-swimlane"); got != "dev-a" {
			t.Errorf("baggage inbound: app sees lane %q", got)
		}
		// Baggage out: added next to the application's members, which keep their properties.
		ex = h.out("svc-b", "traceparent", "00-11111111111111111111111111111111-3333333333333333-01",
			"baggage", "userId=alice;p=1, lane=gray;ttl=5 ,theme=dark")
		if got, want := one(t, ex.req, "baggage"), "userId=alice;p=1,lane=dev-a,theme=dark"; got != want {
			t.Errorf("baggage out %q, want %q", got, want)
		}
		ex = h.out("svc-b", "traceparent", "00-11111111111111111111111111111111-3333333333333333-01")
		if got := one(t, ex.req, "baggage"); got != "lane=dev-a" {
			t.Errorf("baggage added %q", got)
		}
		// Malformed baggage is ignored, not rewritten.
		ex = h.out("svc-b", "traceparent", "00-11111111111111111111111111111111-3333333333333333-01", "baggage", "lane gray,=")
		if got := one(t, ex.req, "baggage"); got != "lane gray,=" || one(t, ex.req, "x-swimlane") != "dev-a" {
			t.Errorf("malformed baggage %q lane %q", got, one(t, ex.req, "x-swimlane"))
		}
		// Percent-encoded member values are decoded.
		ex = h.in("baggage", "lane=dev%2Da", "x-corr", "c2")
		if got := one(t, ex.req, "x-swimlane"); got != "dev-a" {
			t.Errorf("percent-encoded baggage: %q", got)
		}
		if h.counter("lanedye.errors") != 0 {
			t.Errorf("errors = %d", h.counter("lanedye.errors"))
		}
	})
}

func TestDirection(t *testing.T) {
	vmTest(t, func(t *testing.T, vm types.VMContext) {
		h := startPlugin(t, vm, sidecarConfig(60, 64, "", ""))
		// No listener_direction property at all.
		ex := h.do(req("svc-b", "/", "x-swimlane", "gray", "x-corr", "a"))
		for _, d := range []uint64{0, 3} {
			h.direction(d)
			h.do(req("svc-b", "/", "x-swimlane", "gray", "x-corr", "a"))
		}
		if got := h.counter("lanedye.direction.unknown"); got != 3 {
			t.Errorf("direction.unknown = %d, want 3", got)
		}
		if len(h.sharedKeys()) != 0 || one(t, ex.req, "x-swimlane") != "gray" {
			t.Error("a request of unknown direction was acted on")
		}
	})
}

func TestSidecarFallback(t *testing.T) {
	fb := `,"fallback":{"services":{"reviews":["gray"],"ratings.prod.svc.cluster.local":["gray","dev-a"]},"parents":{"dev-a":"gray"}}`
	hosts := []string{"reviews", "reviews.prod.svc.cluster.local:9080", "ratings.prod.svc.cluster.local", "ratings", "details.prod"}
	want := map[string][3]string{ // route for base, gray, dev-a
		"reviews":                             {"base", "gray", "gray"},
		"reviews.prod.svc.cluster.local:9080": {"base", "gray", "gray"},
		"ratings.prod.svc.cluster.local":      {"base", "gray", "dev-a"},
		"ratings":                             {"base", "base", "base"},
		"details.prod":                        {"base", "base", "base"},
	}
	vmTest(t, func(t *testing.T, vm types.VMContext) {
		h := startPlugin(t, vm, sidecarConfig(60, 64, "", fb))
		for _, host := range hosts {
			for li, l := range []string{"base", "gray", "dev-a"} {
				ex := h.out(host, "x-swimlane", l, "x-lane-route", "stale")
				if got := one(t, ex.req, "x-lane-route"); got != want[host][li] {
					t.Errorf("%s in %s: route %q, want %q", host, l, got, want[host][li])
				}
				if got := one(t, ex.req, "x-swimlane"); got != l {
					t.Errorf("%s in %s: lane header changed to %q", host, l, got)
				}
			}
			// No lane at all: the default lane's route.
			if got := one(t, h.out(host).req, "x-lane-route"); got != "base" {
				t.Errorf("%s without lane: route %q", host, got)
			}
		}
	})
	t.Run("no fallback section strips a forwarded route header", func(t *testing.T) {
		vmTest(t, func(t *testing.T, vm types.VMContext) {
			h := startPlugin(t, vm, sidecarConfig(60, 64, "", ""))
			ex := h.out("svc-b", "x-lane-route", "gray", "x-lane-route", "gray")
			if got := get(ex.req, "x-lane-route"); len(got) != 0 {
				t.Errorf("route header forwarded: %q", got)
			}
			// Inbound leaves it: it was computed for this service.
			ex = h.in("x-lane-route", "gray")
			if got := one(t, ex.req, "x-lane-route"); got != "gray" {
				t.Errorf("inbound route header: %q", got)
			}
		})
	})
}

func TestSidecarHostileInput(t *testing.T) {
	big := strings.Repeat("a", 64<<10)
	var members []string
	for i := 0; i < 1000; i++ {
		members = append(members, fmt.Sprintf("%x=1", i))
	}
	manyMembers := strings.Join(members, ",")
	cases := [][]string{
		{"x-swimlane", big, "x-request-id", big},
		{"x-swimlane", "gray", "x-corr", big},
		{"x-swimlane", "gray", "traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7"},
		{"x-swimlane", "gray", "traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f0"},
		{"x-swimlane", "gray\xff\xfe", "x-request-id", "\xc3\x28\xa0\xa1-bad-utf8-\xf0\x28\x8c\x28"},
		{"baggage", manyMembers + ",lane=gray", "x-corr", "bag"},
		{"baggage", manyMembers + strings.Repeat(",k=v", 2000) + ",lane=gray", "x-corr", "bag2"}, // over 8 KiB
		{"b3", "0", "sw8", "1-!!!-x-1-a-b-c-d", "uber-trace-id", ":::", "x-b3-traceid", "zz"},
		{"baggage", "lane=%zz", "x-corr", "bag3"},
	}
	vmTest(t, func(t *testing.T, vm types.VMContext) {
		h := startPlugin(t, vm, sidecarConfig(60, 64, `,"baggage":"lane"`, ""))
		for i, c := range cases {
			h.in(c...)
			ex := h.out("svc-b", c...)
			lane := one(t, ex.req, "x-swimlane")
			if i >= 5 && i <= 8 && lane != "" && lane != "gray" {
				t.Errorf("case %d: lane %q", i, lane)
			}
		}
		for _, k := range h.sharedKeys() {
			v, _, err := h.sharedGet(k)
			if err == nil && len(v) > 512 {
				t.Errorf("stored value of %d bytes for %s", len(v), k)
			}
		}
		// 1000 members within 8 KiB are handled; over 8 KiB is malformed.
		if got := one(t, h.in("baggage", manyMembers+",lane=gray", "x-corr", "z").req, "x-swimlane"); got != "gray" {
			t.Errorf("1000-member baggage: lane %q", got)
		}
		if h.counter("lanedye.errors") != 0 {
			t.Errorf("errors = %d", h.counter("lanedye.errors"))
		}
	})
}
