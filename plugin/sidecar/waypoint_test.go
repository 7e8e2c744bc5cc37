package main

import (
	"testing"

	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"
)

const waypointCfg = `{"role":"waypoint","lanes":["gray","dev-a"],"debug":true,"baggage":"lane",
  "propagation":{"keys":["x-request-id"]},
  "fallback":{"services":{"b":["gray"],"c":["dev-a"]},"parents":{"dev-a":"gray"}}}`

// At a waypoint every request is both: one that brings a lane has it
// stored under its ids; one that brings none gets a fresh mapping's; then
// the route header is set for the destination (docs/contract.md, Roles).
func TestWaypoint(t *testing.T) {
	vmTest(t, func(t *testing.T, vm types.VMContext) {
		h := startPlugin(t, vm, waypointCfg)
		for _, tc := range []struct {
			name               string
			host               string
			kv                 []string
			lane, route, debug string
		}{
			{"a lane header: stored", "a", []string{"x-swimlane", "gray", "x-request-id", "r1"}, "gray", "base", "lane=gray; source=header"},
			{"the onward call: restored, routed to gray", "b", []string{"x-request-id", "r1"}, "gray", "gray", "lane=gray; source=propagated"},
			{"the next call: restored, no gray deployment", "c", []string{"x-request-id", "r1"}, "gray", "base", "lane=gray; source=propagated"},
			{"a baggage member: stored, the header set", "a", []string{"baggage", "lane=dev-a", "x-request-id", "r2"}, "dev-a", "base", "lane=dev-a; source=baggage"},
			{"dev-a's onward call falls back to gray", "b", []string{"x-request-id", "r2"}, "dev-a", "gray", "lane=dev-a; source=propagated"},
			{"dev-a has a deployment of c", "c", []string{"x-request-id", "r2"}, "dev-a", "dev-a", "lane=dev-a; source=propagated"},
			{"an unknown id: nothing", "b", []string{"x-request-id", "r3"}, "", "base", "lane=base; source=default"},
			{"a stale route header is recomputed", "b", []string{"x-request-id", "r1", "x-lane-route", "dev-a"}, "gray", "gray", "lane=gray; source=propagated"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				ex := h.Do(req(tc.host, "/", tc.kv...))
				if got := one(t, ex.Req, "x-swimlane"); got != tc.lane {
					t.Errorf("lane %q, want %q", got, tc.lane)
				}
				if got := one(t, ex.Req, "x-lane-route"); got != tc.route {
					t.Errorf("route %q, want %q", got, tc.route)
				}
				if got := one(t, ex.Resp, "x-lanedye-decision"); got != tc.debug {
					t.Errorf("decision %q, want %q", got, tc.debug)
				}
			})
		}
		for name, want := range map[string]uint64{
			"lanedye.propagation.stored": 2, "lanedye.propagation.hit": 5, "lanedye.propagation.miss": 1,
			"lanedye.source.propagated.requests": 5, "lanedye.lane.gray.requests": 4, "lanedye.route.gray.requests": 3,
		} {
			if got := h.Counter(name); got != want {
				t.Errorf("%s = %d, want %d", name, got, want)
			}
		}
	})
}
