package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/lanedye/lanedye/bench/wasmhost"
	"github.com/lanedye/lanedye/internal/fnv"
	"github.com/lanedye/lanedye/internal/sticky"
	"github.com/lanedye/lanedye/plugin/plugintest"
)

// These tests run the built module in bench/wasmhost (plugintest.Hosted):
// host calls that fail on demand, the module's malloc and the header buffer
// behind it, proxy_on_done/proxy_on_delete, and Envoy's remove.

func TestGatewayStream(t *testing.T) {
	m := mod.Hosted(t)
	in, err := m.NewInstance(context.Background(), []byte(`{"role":"gateway","lanes":["gray"],
	  "rules":[{"name":"beta","lane":"gray","match":[{"headers":{"x-beta":{"present":true}}}]}],
	  "sticky":{"cookie":"x-lane"}}`))
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	in.ResetHostCalls() // start-up read the configuration
	s := plugintest.Run(t, in, nil,
		[][2]string{{":authority", "a"}, {":path", "/"}, {":method", "GET"}, {"x-beta", "1"}, {"x-swimlane", "x"}, {"x-swimlane", "y"}},
		[][2]string{{":status", "200"}, {"set-cookie", "s=1"}})
	if got := get(s.Req, "x-swimlane"); len(got) != 1 || got[0] != "gray" {
		t.Errorf("lane headers %q", got)
	}
	// Added as its own entry, as Envoy does.
	if got := get(s.Rsp, "set-cookie"); len(got) != 2 || got[0] != "s=1" || !strings.HasPrefix(got[1], "x-lane=gray;") {
		t.Errorf("set-cookie %q", got)
	}
	if in.TickPeriodMillis != 1000 || in.HostCalls["proxy_increment_metric"] != 0 {
		t.Errorf("tick period %d, increments on the request path %d", in.TickPeriodMillis, in.HostCalls["proxy_increment_metric"])
	}
	if err := in.Tick(); err != nil {
		t.Fatal(err)
	}
	if v, _ := in.Counter("lanedye.lane.gray.requests"); v != 1 {
		t.Errorf("counter %d", v)
	}
	if in.HostCalls["proxy_get_header_map_pairs"] != 1 || in.DataCalls != 1 {
		t.Errorf("host calls %v, data-returning %d", in.HostCalls, in.DataCalls)
	}
}

func TestBadConfiguration(t *testing.T) {
	_, err := mod.Hosted(t).NewInstance(context.Background(), []byte(`{"role":"gateway","lanes":["-x"]}`))
	if !errors.Is(err, wasmhost.ErrStartFailed) || !strings.Contains(err.Error(), "lanes[0]:") {
		t.Errorf("err = %v", err)
	}
}

// With proxy_on_done and proxy_on_delete delivered, the guest keeps no
// per-stream state and its memory stops growing once the Go heap has warmed
// up (measured: 72 pages after 1k streams, 136 from 50k to 400k).
func TestLifecycleReleasesStreams(t *testing.T) {
	in, err := mod.Hosted(t).NewInstance(context.Background(), []byte(`{"role":"gateway","lanes":["gray"],"debug":true}`))
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	req := [][2]string{{":authority", "a"}, {":path", "/"}, {":method", "GET"}}
	for i := 0; i < 60000; i++ {
		plugintest.Run(t, in, nil, append([][2]string(nil), req...), nil)
	}
	before := in.MemoryPages()
	for i := 0; i < 40000; i++ {
		plugintest.Run(t, in, nil, append([][2]string(nil), req...), nil)
	}
	if after := in.MemoryPages(); after != before || in.LiveStreams() != 0 {
		t.Errorf("memory %d -> %d pages, %d live streams", before, after, in.LiveStreams())
	}
}

// When Envoy refuses a host call, routing fails open (the request goes on,
// the error is counted) but anti-spoofing fails closed: the client's lane
// header, route header and baggage lane member are removed all the same;
// only when removing fails too does the request go on as it came.
func TestHostCallFailuresFailClosed(t *testing.T) {
	in, err := mod.Hosted(t).NewInstance(context.Background(), []byte(`{"role":"gateway","lanes":["gray"],"baggage":"lane",
	  "rules":[{"name":"all","lane":"gray"}],"sticky":{"cookie":"x-lane"}}`))
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	spoofed := [][2]string{{":authority", "a"}, {":path", "/"}, {":method", "GET"},
		{"x-swimlane", "gray"}, {"x-lane-route", "gray"}, {"baggage", "lane=gray,k=v"}}
	cases := []struct {
		fail                 []string
		lane, route, baggage string
		errors               uint64
	}{
		{[]string{"proxy_get_header_map_pairs"}, "", "", "k=v", 1},
		{[]string{"proxy_replace_header_map_value"}, "", "", "k=v", 1},
		{[]string{"proxy_get_header_map_pairs", "proxy_get_header_map_value"}, "", "", "", 1},
		{[]string{"proxy_get_header_map_pairs", "proxy_remove_header_map_value"}, "gray", "gray", "lane=gray,k=v", 4},
		{[]string{"proxy_add_header_map_value"}, "gray", "", "lane=gray,k=v", 1}, // only the Set-Cookie fails
	}
	for _, c := range cases {
		t.Run(strings.Join(c.fail, "+"), func(t *testing.T) {
			in.Fail = map[string]bool{}
			for _, f := range c.fail {
				in.Fail[f] = true
			}
			before := plugintest.HostCounter(t, in, "lanedye.errors")
			s := plugintest.Run(t, in, nil, append([][2]string(nil), spoofed...), [][2]string{{":status", "200"}})
			in.Fail = nil
			for name, want := range map[string]string{"x-swimlane": c.lane, "x-lane-route": c.route, "baggage": c.baggage} {
				if got := strings.Join(get(s.Req, name), ","); got != want {
					t.Errorf("%s %q, want %q", name, got, want)
				}
			}
			if got := get(s.Rsp, ":status"); len(got) != 1 {
				t.Errorf("response %v", s.Rsp)
			}
			if n := plugintest.HostCounter(t, in, "lanedye.errors") - before; n != c.errors {
				t.Errorf("%d errors counted, want %d", n, c.errors)
			}
		})
	}
	// Only the first baggage header is readable without the header list: a
	// lane member in a later one must not get through.
	t.Run("proxy_get_header_map_pairs, member in a second baggage header", func(t *testing.T) {
		in.Fail = map[string]bool{"proxy_get_header_map_pairs": true}
		req := append(spoofed[:5:5], [2]string{"baggage", "k=v"}, [2]string{"baggage", "m=n,lane=gray"})
		s := plugintest.Run(t, in, nil, req, [][2]string{{":status", "200"}})
		in.Fail = nil
		if got := get(s.Req, "baggage"); len(got) != 1 || got[0] != "k=v" {
			t.Errorf("baggage %q, want [\"k=v\"]", got)
		}
	})
	// And it recovers once the host does.
	s := plugintest.Run(t, in, nil, append([][2]string(nil), spoofed...), nil)
	if got := get(s.Req, "x-swimlane"); len(got) != 1 || got[0] != "gray" {
		t.Errorf("after failures: lane %q", got)
	}
}

// The module reads request headers into one buffer it reuses (its malloc
// export, which Envoy and this host prefer to proxy_on_memory_allocate), so
// nothing may keep a header string beyond its request. The sticky cache
// is the one place that keeps request values: a value it verified must not
// change under it when the next request's headers land where the verified
// cookie was. The second request below puts a forged cookie, of the same
// length and in the same cache slot, at the very bytes of the first
// request's valid one.
func TestHeaderBufferReuse(t *testing.T) {
	const key = "0123456789abcdef0123456789abcdef"
	m := mod.Hosted(t)
	if !m.Exports("malloc") {
		t.Fatal("the module exports no malloc")
	}
	in, err := m.NewInstance(context.Background(), []byte(`{"role":"gateway","lanes":["gray"],"debug":true,
	  "sticky":{"cookie":"x-lane","secret":"`+key+`"}}`))
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	valid := sticky.Sign([]byte(key), "gray", time.Now().Unix()+3600)
	forged := ""
	for i := 0; forged == ""; i++ {
		f := valid[:len(valid)-4] + fmt.Sprintf("%04d", i)
		if f != valid && fnv.New.String(f)%64 == fnv.New.String(valid)%64 {
			forged = f
		}
	}
	req := func(cookie string, extra int) [][2]string {
		return [][2]string{{":authority", "a"}, {":path", "/"}, {":method", "GET"},
			{"cookie", "x-lane=" + cookie}, {"x-padding", strings.Repeat("p", extra)}}
	}
	for _, tc := range []struct {
		name   string
		cookie string
		extra  int
		want   string
	}{
		{"a valid cookie, verified and cached", valid, 0, "lane=gray; source=cookie"},
		{"a forged one where the valid one was", forged, 0, "lane=base; source=default"},
		{"headers that outgrow the buffer", valid, 20000, "lane=gray; source=cookie"},
		{"a forged one again, after the buffer grew", forged, 0, "lane=base; source=default"},
		{"and the valid one", valid, 0, "lane=gray; source=cookie"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := plugintest.Run(t, in, nil, req(tc.cookie, tc.extra), [][2]string{{":status", "200"}})
			if got := get(s.Rsp, "x-lanedye-decision"); len(got) != 1 || got[0] != tc.want {
				t.Errorf("decision %q, want %q", got, tc.want)
			}
		})
	}
}

// A header a client sends twice is one list (baggage) or a spoof (the
// lane header) and leaves the gateway once. The SDK's emulator removes one
// occurrence per call, Envoy every one, so these run in bench/wasmhost.
func TestHeadersSentTwice(t *testing.T) {
	in, err := mod.Hosted(t).NewInstance(context.Background(), []byte(`{"role":"gateway","lanes":["gray","dev-a"],"baggage":"lane",
	  "rules":[{"name":"beta","lane":"gray","match":[{"headers":{"x-beta":{"present":true}}}]}],
	  "fallback":{"services":{"shop":["gray"]}}}`))
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	for _, tc := range []struct {
		name                 string
		kv                   []string
		lane, route, baggage string
	}{
		{"duplicate spoofed lane headers", []string{"x-swimlane", "gray", "x-swimlane", "dev-a"}, "base", "base", ""},
		{"duplicate spoofed route headers", []string{"x-lane-route", "gray", "x-lane-route", "dev-a"}, "base", "base", ""},
		{"two baggage headers, one list, one header", []string{"x-beta", "1", "baggage", "a=1", "baggage", "lane=dev,b=2"}, "gray", "gray", "a=1,lane=gray,b=2"},
		{"two baggage headers, default lane", []string{"baggage", "a=1", "baggage", "lane=gray"}, "base", "base", "a=1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := plugintest.Run(t, in, nil, plugintest.Req("shop", "/", tc.kv...), [][2]string{{":status", "200"}})
			for name, want := range map[string]string{"x-swimlane": tc.lane, "x-lane-route": tc.route, "baggage": tc.baggage} {
				if got := strings.Join(get(s.Req, name), "|"); got != want {
					t.Errorf("%s %q, want %q", name, got, want)
				}
			}
		})
	}
	if got := plugintest.HostCounter(t, in, "lanedye.lane_header.rejected"); got != 1 {
		t.Errorf("rejected = %d, want 1", got)
	}
}
