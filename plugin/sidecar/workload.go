package main

import (
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"

	"github.com/lanedye/lanedye/internal/config"
	"github.com/lanedye/lanedye/internal/httpsyntax"
	"github.com/lanedye/lanedye/internal/lane"
	"github.com/lanedye/lanedye/plugin"
)

// workloadLane reads, once at plugin start, the workload's own lane: its
// pod's label, which Istio copies to node.metadata.LABELS (a plain Envoy
// has it from its bootstrap's node.metadata). Envoy serves the node under
// "xds", as it does the listener direction (handler.go): Envoy 1.40
// answers NotFound for a bare "node" (e2e/workload_test.go). A value that
// is not a
// configured lane other than the default lane gives no workload lane; it
// is logged, never a failed start: a pod's labels are not the plugin's
// configuration.
func workloadLane(cfg *config.Config, label string) lane.ID {
	raw, err := plugin.Property(plugin.NewPropertyPath("xds", "node", "metadata", "LABELS", label))
	if err != nil {
		proxywasm.LogInfo("lanedye: no workload lane: the proxy's node.metadata.LABELS has no " + label)
		return lane.None
	}
	v := string(raw)
	l, known := cfg.Lanes.Lookup(v)
	why := ""
	switch {
	case !lane.ValidName(v):
		why = "not a lane name"
	case !known:
		why = "not a configured lane"
	case l == lane.Default:
		why = "the default lane"
	default:
		proxywasm.LogInfo("lanedye: workload lane " + v + " (label " + label + ")")
		return l
	}
	proxywasm.LogWarn("lanedye: no workload lane: label " + label + " is " + httpsyntax.Quote(v) + ", " + why)
	return lane.None
}
