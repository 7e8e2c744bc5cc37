package main

import (
	"strings"
	"testing"

	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"

	"github.com/lanedye/lanedye/plugin/plugintest"
)

// laneLabel is the pod label Istio copies to node.metadata.LABELS.
func laneLabel(v string) plugintest.Property {
	return plugintest.Property{Path: []string{"xds", "node", "metadata", "LABELS", "lanedye.io/lane"}, Value: v}
}

const workloadCfg = `{"role":"sidecar","lanes":["gray","dev-a"],"debug":true,"baggage":"lane",
  "propagation":{"keys":["header:x-corr"]},"workload":{"lane_label":"lanedye.io/lane"}}`

// A sidecar whose pod is in a lane gives its application's outbound calls
// that carry no lane that lane: an application's lane header wins, then a
// fresh mapping, then the workload's lane, then nothing. Inbound is
// unchanged (docs/contract.md, Propagation).
func TestWorkloadLane(t *testing.T) {
	vmTest(t, func(t *testing.T, vm types.VMContext) {
		h := startPlugin(t, vm, workloadCfg, laneLabel("gray"))
		for _, tc := range []struct {
			name        string
			kv          []string
			lane, debug string
			baggage     string
			storeFirst  string // an inbound request's lane for x-corr "m1" first
		}{
			{"nothing: the workload's lane", nil, "gray", "lane=gray; source=workload", "lane=gray", ""},
			{"the application's lane header wins", []string{"x-swimlane", "dev-a"}, "dev-a", "lane=dev-a; source=header", "", ""},
			{"a fresh mapping wins", []string{"x-corr", "m1"}, "dev-a", "lane=dev-a; source=propagated", "lane=dev-a", "dev-a"},
			{"an id without a mapping: the workload's lane", []string{"x-corr", "m2"}, "gray", "lane=gray; source=workload", "lane=gray", ""},
		} {
			t.Run(tc.name, func(t *testing.T) {
				if tc.storeFirst != "" {
					h.in("x-swimlane", tc.storeFirst, "x-corr", "m1")
				}
				ex := h.out("svc-b", tc.kv...)
				if got := one(t, ex.Req, "x-swimlane"); got != tc.lane {
					t.Errorf("lane %q, want %q", got, tc.lane)
				}
				if got := one(t, ex.Resp, "x-lanedye-decision"); got != tc.debug {
					t.Errorf("decision %q, want %q", got, tc.debug)
				}
				if got := one(t, ex.Req, "baggage"); got != tc.baggage {
					t.Errorf("baggage %q, want %q", got, tc.baggage)
				}
			})
		}
		t.Run("inbound is unchanged", func(t *testing.T) {
			ex := h.in()
			if got := one(t, ex.Req, "x-swimlane"); got != "" {
				t.Errorf("inbound lane %q", got)
			}
		})
		if got := h.Counter("lanedye.source.workload.requests"); got != 2 {
			t.Errorf("source.workload = %d, want 2", got)
		}
	})
}

// A label that is no configured lane other than the default lane gives no
// workload lane, and is logged; never a failed start.
func TestWorkloadLaneIgnored(t *testing.T) {
	for _, tc := range []struct {
		name  string
		props []plugintest.Property
		log   string
	}{
		{"the default lane", []plugintest.Property{laneLabel("base")}, `is "base", the default lane`},
		{"not a configured lane", []plugintest.Property{laneLabel("purple")}, `is "purple", not a configured lane`},
		{"not a lane name", []plugintest.Property{laneLabel("gray lane")}, `is "gray lane", not a lane name`},
		{"no label", nil, "has no lanedye.io/lane"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			vmTest(t, func(t *testing.T, vm types.VMContext) {
				h := startPlugin(t, vm, workloadCfg, tc.props...)
				if got := one(t, h.out("svc-b").Req, "x-swimlane"); got != "" {
					t.Errorf("lane %q, want none", got)
				}
				logs := strings.Join(append(h.GetWarnLogs(), h.GetInfoLogs()...), "\n")
				if !strings.Contains(logs, "no workload lane") || !strings.Contains(logs, tc.log) {
					t.Errorf("logs %q do not say %q", logs, tc.log)
				}
			})
		})
	}
}
