package main

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"
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
	h.T.Helper()
	b := make([]byte, 8) // fresh: the emulator keeps the slice
	binary.LittleEndian.PutUint64(b, d)
	if err := h.SetProperty([]string{"xds", "listener_direction"}, b); err != nil {
		h.T.Fatal(err)
	}
}

// in sends an inbound request; out sends an outbound one and returns what
// the upstream sees.
func (h *host) in(kv ...string) exchange {
	h.T.Helper()
	h.direction(inbound)
	return h.Do(req("svc-a.prod.svc.cluster.local", "/", kv...))
}

func (h *host) out(authority string, kv ...string) exchange {
	h.T.Helper()
	h.direction(outbound)
	return h.Do(req(authority, "/", kv...))
}

// slotKeys counts the propagation slots that hold a value, probing the
// namespace one key at a time; keys outside it are the wasm host's to show
// (bench's budget test enumerates every key).
func (h *host) slotKeys(slots int) int {
	h.T.Helper()
	n := 0
	for i := range 2 * slots {
		if _, _, err := h.SharedGet(fmt.Sprintf("lanedye.propagation.v1/%d", i)); err == nil {
			if i >= slots {
				h.T.Errorf("slot key %d beyond slots %d", i, slots)
			}
			n++
		}
	}
	return n
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
			t.Run(c.name, func(t *testing.T) {
				h := startPlugin(t, vm, sidecarConfig(60, 1024, "", ""))
				defer h.Close()
				h.in(append([]string{"x-swimlane", "dev-a"}, c.in...)...)
				ex := h.out("svc-b", c.out...)
				if got := one(t, ex.Req, "x-swimlane"); got != "dev-a" {
					t.Errorf("outbound lane %q, want dev-a", got)
				}
				if got := one(t, ex.Resp, "x-lanedye-decision"); got != "lane=dev-a; source=propagated" {
					t.Errorf("decision %q", got)
				}
				// An unrelated id of the same kind does not get the lane.
				ex = h.out("svc-b", c.out[0], c.other)
				if got := one(t, ex.Req, "x-swimlane"); got != "" {
					t.Errorf("other id %q got lane %q", c.other, got)
				}
				if s, hit := h.Counter("lanedye.propagation.stored"), h.Counter("lanedye.propagation.hit"); s == 0 || hit != 1 {
					t.Errorf("stored %d hit %d", s, hit)
				}
			})
		}
	})
}

const limitsRID = "9d5a4a6c-1b2f-4c3d-8e9f-0a1b2c3d4e5f"

func TestPropagationTTL(t *testing.T) {
	vmTest(t, func(t *testing.T, vm types.VMContext) {
		h := startPlugin(t, vm, sidecarConfig(1, 64, "", ""))
		h.in("x-swimlane", "gray", "x-request-id", limitsRID)
		if got := one(t, h.out("svc-b", "x-request-id", limitsRID).Req, "x-swimlane"); got != "gray" {
			t.Fatalf("fresh mapping: lane %q", got)
		}
	})
	clockTest(t, func(t *testing.T, vm types.VMContext, c *clock) {
		h := startPlugin(t, vm, sidecarConfig(1, 64, "", ""))
		h.in("x-swimlane", "gray", "x-request-id", limitsRID)
		c.Advance(999 * time.Millisecond)
		if got := one(t, h.out("svc-b", "x-request-id", limitsRID).Req, "x-swimlane"); got != "gray" {
			t.Fatalf("before the TTL: lane %q", got)
		}
		c.Advance(time.Millisecond)
		if got := one(t, h.out("svc-b", "x-request-id", limitsRID).Req, "x-swimlane"); got != "" {
			t.Fatalf("at the TTL: lane %q, want none", got)
		}
		if e, m := h.Counter("lanedye.propagation.expired"), h.Counter("lanedye.propagation.miss"); e != 1 || m != 0 {
			t.Errorf("expired = %d miss = %d, want 1 and 0", e, m)
		}
	})
}

func TestPropagationCollision(t *testing.T) {
	vmTest(t, func(t *testing.T, vm types.VMContext) {
		h := startPlugin(t, vm, sidecarConfig(60, 1, `,"ways":1`, "")) // one slot, one mapping: every id collides
		h.in("x-swimlane", "gray", "x-corr", "first")
		h.in("x-swimlane", "dev-a", "x-corr", "second")
		if got := one(t, h.out("svc-b", "x-corr", "first").Req, "x-swimlane"); got != "" {
			t.Errorf("first id got %q from the slot the second overwrote", got)
		}
		if got := one(t, h.out("svc-b", "x-corr", "second").Req, "x-swimlane"); got != "dev-a" {
			t.Errorf("newest mapping: lane %q, want dev-a", got)
		}
		if o, m := h.Counter("lanedye.propagation.overwritten"), h.Counter("lanedye.propagation.miss"); o != 1 || m != 1 {
			t.Errorf("overwritten %d miss %d", o, m)
		}
	})
}

func TestPropagationWaysKeepCollidingIDs(t *testing.T) {
	vmTest(t, func(t *testing.T, vm types.VMContext) {
		h := startPlugin(t, vm, sidecarConfig(60, 1, `,"ways":4`, "")) // one slot, four mappings
		lanes := []string{"gray", "dev-a", "base", "gray"}
		for i, l := range lanes {
			h.in("x-swimlane", l, "x-corr", fmt.Sprint("id-", i))
		}
		for i, l := range lanes {
			if got := one(t, h.out("svc-b", "x-corr", fmt.Sprint("id-", i)).Req, "x-swimlane"); got != l {
				t.Errorf("id-%d: lane %q, want %s", i, got, l)
			}
		}
		if o, k := h.Counter("lanedye.propagation.overwritten"), h.slotKeys(1); o != 0 || k != 1 {
			t.Errorf("overwritten %d, keys %d", o, k)
		}
		h.in("x-swimlane", "gray", "x-corr", "id-4")
		if got := one(t, h.out("svc-b", "x-corr", "id-0").Req, "x-swimlane"); got != "" || h.Counter("lanedye.propagation.overwritten") != 1 {
			t.Errorf("fifth id did not evict the oldest: %q", got)
		}
	})
}

func TestPropagationBoundedKeys(t *testing.T) {
	const n, slots = 100_000, 512
	vmTest(t, func(t *testing.T, vm types.VMContext) {
		h := startPlugin(t, vm, sidecarConfig(60, slots, "", ""))
		h.direction(inbound)
		for i := range n {
			id := h.InitializeHttpContext()
			h.CallOnRequestHeaders(id, [][2]string{{":authority", "a"}, {":path", "/"},
				{"x-swimlane", "gray"}, {"x-corr", fmt.Sprintf("req-%d", i)}}, true)
			h.CompleteHttpContext(id)
		}
		if k := h.slotKeys(slots); k > slots {
			t.Errorf("%d slot keys after %d ids, want <= %d", k, n, slots)
		}
		if got := one(t, h.out("svc-b", "x-corr", fmt.Sprintf("req-%d", n-1)).Req, "x-swimlane"); got != "gray" {
			t.Errorf("newest mapping after %d ids: lane %q", n, got)
		}
	})
}

func TestPropagationRules(t *testing.T) {
	const rid = "9d5a4a6c-1b2f-4c3d-8e9f-0a1b2c3d4e5f"
	vmTest(t, func(t *testing.T, vm types.VMContext) {
		h := startPlugin(t, vm, sidecarConfig(60, 64, "", `,"baggage":"lane"`))
		// An unknown lane is never stored.
		h.in("x-swimlane", "prod-hack", "x-request-id", rid)
		if k := h.slotKeys(64); k != 0 {
			t.Errorf("unknown lane stored in %d slots", k)
		}
		// The application's own valid lane header is kept.
		h.in("x-swimlane", "gray", "x-request-id", rid)
		ex := h.out("svc-b", "x-request-id", rid, "x-swimlane", "dev-a")
		if got := one(t, ex.Req, "x-swimlane"); got != "dev-a" {
			t.Errorf("application's lane replaced by %q", got)
		}
		if got := one(t, ex.Resp, "x-lanedye-decision"); got != "lane=dev-a; source=header" {
			t.Errorf("decision %q", got)
		}
		// An invalid lane header from the application is not propagated.
		ex = h.out("svc-b", "x-request-id", rid, "x-swimlane", "nope")
		if got := one(t, ex.Req, "x-swimlane"); got != "gray" {
			t.Errorf("invalid app lane: %q, want the stored gray", got)
		}
		// No correlation id: nothing to restore.
		ex = h.out("svc-b")
		if got := one(t, ex.Req, "x-swimlane"); got != "" || h.Counter("lanedye.propagation.no_id") != 1 {
			t.Errorf("no id: lane %q no_id %d", got, h.Counter("lanedye.propagation.no_id"))
		}
		// Baggage in: the member sets the lane when the header is absent.
		ex = h.in("baggage", "userId=alice,lane=dev-a;ttl=1", "x-corr", "c1", "traceparent", "00-11111111111111111111111111111111-2222222222222222-01")
		if got := one(t, ex.Req, "x-swimlane"); got != "dev-a" {
			t.Errorf("baggage inbound: app sees lane %q", got)
		}
		// Baggage out: added next to the application's members, which keep their properties.
		ex = h.out("svc-b", "traceparent", "00-11111111111111111111111111111111-3333333333333333-01",
			"baggage", "userId=alice;p=1, lane=gray;ttl=5 ,theme=dark")
		if got, want := one(t, ex.Req, "baggage"), "userId=alice;p=1,lane=dev-a,theme=dark"; got != want {
			t.Errorf("baggage out %q, want %q", got, want)
		}
		ex = h.out("svc-b", "traceparent", "00-11111111111111111111111111111111-3333333333333333-01")
		if got := one(t, ex.Req, "baggage"); got != "lane=dev-a" {
			t.Errorf("baggage added %q", got)
		}
		// Malformed baggage is ignored, not rewritten.
		ex = h.out("svc-b", "traceparent", "00-11111111111111111111111111111111-3333333333333333-01", "baggage", "lane gray,=")
		if got := one(t, ex.Req, "baggage"); got != "lane gray,=" || one(t, ex.Req, "x-swimlane") != "dev-a" {
			t.Errorf("malformed baggage %q lane %q", got, one(t, ex.Req, "x-swimlane"))
		}
		// Percent-encoded member values are decoded.
		ex = h.in("baggage", "lane=dev%2Da", "x-corr", "c2")
		if got := one(t, ex.Req, "x-swimlane"); got != "dev-a" {
			t.Errorf("percent-encoded baggage: %q", got)
		}
		if h.Counter("lanedye.errors") != 0 {
			t.Errorf("errors = %d", h.Counter("lanedye.errors"))
		}
	})
}

func TestDirection(t *testing.T) {
	vmTest(t, func(t *testing.T, vm types.VMContext) {
		h := startPlugin(t, vm, sidecarConfig(60, 64, "", ""))
		// No listener_direction property at all.
		ex := h.Do(req("svc-b", "/", "x-swimlane", "gray", "x-corr", "a"))
		for _, d := range []uint64{0, 3} {
			h.direction(d)
			h.Do(req("svc-b", "/", "x-swimlane", "gray", "x-corr", "a"))
		}
		if got := h.Counter("lanedye.direction.unknown"); got != 3 {
			t.Errorf("direction.unknown = %d, want 3", got)
		}
		if h.slotKeys(64) != 0 || one(t, ex.Req, "x-swimlane") != "gray" {
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
			t.Run(host, func(t *testing.T) {
				for li, l := range []string{"base", "gray", "dev-a"} {
					ex := h.out(host, "x-swimlane", l, "x-lane-route", "stale")
					if got := one(t, ex.Req, "x-lane-route"); got != want[host][li] {
						t.Errorf("in %s: route %q, want %q", l, got, want[host][li])
					}
					if got := one(t, ex.Req, "x-swimlane"); got != l {
						t.Errorf("in %s: lane header changed to %q", l, got)
					}
				}
				// No lane at all: the default lane's route.
				if got := one(t, h.out(host).Req, "x-lane-route"); got != "base" {
					t.Errorf("without lane: route %q", got)
				}
			})
		}
	})
	t.Run("no fallback section strips a forwarded route header", func(t *testing.T) {
		vmTest(t, func(t *testing.T, vm types.VMContext) {
			h := startPlugin(t, vm, sidecarConfig(60, 64, "", ""))
			ex := h.out("svc-b", "x-lane-route", "gray")
			if got := get(ex.Req, "x-lane-route"); len(got) != 0 {
				t.Errorf("route header forwarded: %q", got)
			}
			// Inbound leaves it: it was computed for this service.
			ex = h.in("x-lane-route", "gray")
			if got := one(t, ex.Req, "x-lane-route"); got != "gray" {
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
		h := startPlugin(t, vm, sidecarConfig(60, 64, "", `,"baggage":"lane"`))
		// What the application's call carries afterwards: its own lane
		// header when it sent one (valid or not, nothing was stored for an
		// invalid one), the restored lane for the baggage within 8 KiB,
		// nothing for malformed input.
		want := []string{big, "gray", "gray", "gray", "gray\xff\xfe", "gray", "", "", ""}
		for i, c := range cases {
			t.Run(fmt.Sprint("case ", i), func(t *testing.T) {
				h.in(c...)
				if got := one(t, h.out("svc-b", c...).Req, "x-swimlane"); got != want[i] {
					t.Errorf("lane %.40q, want %.40q", got, want[i])
				}
			})
		}
		for i := range 64 {
			if v, _, err := h.SharedGet(fmt.Sprintf("lanedye.propagation.v1/%d", i)); err == nil && len(v) > 512 {
				t.Errorf("stored value of %d bytes in slot %d", len(v), i)
			}
		}
		// 1000 members within 8 KiB are handled; over 8 KiB is malformed.
		if got := one(t, h.in("baggage", manyMembers+",lane=gray", "x-corr", "z").Req, "x-swimlane"); got != "gray" {
			t.Errorf("1000-member baggage: lane %q", got)
		}
		if h.Counter("lanedye.errors") != 0 {
			t.Errorf("errors = %d", h.Counter("lanedye.errors"))
		}
	})
}

// Several baggage headers are one list: read inbound as one. (Written
// outbound as one header: TestHeadersSentTwice.)
func TestSidecarBaggageHeaders(t *testing.T) {
	vmTest(t, func(t *testing.T, vm types.VMContext) {
		h := startPlugin(t, vm, sidecarConfig(60, 64, "", `,"baggage":"lane"`))
		t.Run("two baggage headers in, one list", func(t *testing.T) {
			ex := h.in("baggage", "a=1", "baggage", "lane=dev-a,b=2", "x-corr", "bg-1")
			if got := one(t, ex.Req, "x-swimlane"); got != "dev-a" {
				t.Errorf("lane %q", got)
			}
			if got := one(t, ex.Resp, "x-lanedye-decision"); got != "lane=dev-a; source=baggage" {
				t.Errorf("inbound decision %q", got)
			}
		})
	})
}

// Inbound responses explain the lane the application was told.
func TestSidecarInboundDebug(t *testing.T) {
	vmTest(t, func(t *testing.T, vm types.VMContext) {
		h := startPlugin(t, vm, sidecarConfig(60, 64, "", `,"baggage":"lane"`))
		for kv, want := range map[string]string{"gray": "lane=gray; source=header", "": "lane=base; source=default"} {
			var hs []string
			if kv != "" {
				hs = []string{"x-swimlane", kv}
			}
			if got := one(t, h.in(hs...).Resp, "x-lanedye-decision"); got != want {
				t.Errorf("inbound %q: decision %q, want %q", kv, got, want)
			}
		}
	})
}

// An application's lane header that is not a configured lane counts as
// absent: a mapping found replaces it, else it is left as it is.
func TestSidecarUnknownApplicationLane(t *testing.T) {
	vmTest(t, func(t *testing.T, vm types.VMContext) {
		h := startPlugin(t, vm, sidecarConfig(60, 64, "", `,"baggage":"lane"`))
		h.in("x-swimlane", "gray", "x-corr", "app-2")
		if got := one(t, h.out("svc-b", "x-corr", "app-2", "x-swimlane", "bogus").Req, "x-swimlane"); got != "gray" {
			t.Errorf("with a mapping: %q", got)
		}
		if got := one(t, h.out("svc-b", "x-corr", "app-none", "x-swimlane", "bogus").Req, "x-swimlane"); got != "bogus" {
			t.Errorf("without a mapping: %q", got)
		}
	})
}

// A Kubernetes FQDN service key also matches its short forms.
func TestSidecarFQDNServiceKeys(t *testing.T) {
	fb := `,"fallback":{"services":{"ratings.prod.svc.cluster.local":["gray"],"reviews.prod":["dev-a"]}}`
	vmTest(t, func(t *testing.T, vm types.VMContext) {
		h := startPlugin(t, vm, sidecarConfig(60, 64, "", fb))
		for host, want := range map[string]string{
			"ratings.prod.svc.cluster.local": "gray", "ratings.prod.svc": "gray", "ratings.prod": "gray",
			"ratings.prod:9080": "gray", "ratings": "base", "ratings.other": "base", "reviews.prod.svc.cluster.local": "base",
		} {
			t.Run(host, func(t *testing.T) {
				if got := one(t, h.out(host, "x-swimlane", "gray").Req, "x-lane-route"); got != want {
					t.Errorf("route %q, want %q", got, want)
				}
			})
		}
	})
}
