// Command gateway is lanedye-gateway.wasm: the module of the gateway role.
// It is built with GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared;
// main never runs, the host enters through the exported proxy_on_*
// functions. This package is glue only: it reads the request once, hands
// it to internal/gateway, and applies the decision with host calls.
package main

import (
	"runtime/debug"

	"github.com/lanedye/lanedye/internal/config"
	"github.com/lanedye/lanedye/internal/config/gatewayconf"
	"github.com/lanedye/lanedye/plugin"
)

// module is the gateway module: the gateway role and its handler.
var module = plugin.Module{Roles: []config.RoleParser{gatewayconf.Parser}, New: newHandler}

func init() {
	plugin.Start(module)
	// Linear memory never shrinks, so the heap's high-water mark is what a
	// VM costs Envoy for good: GOGC=25 keeps it low at no measurable cost
	// per request (docs/performance.md, GC). The sidecar module leaves
	// Go's default: its requests allocate nothing, and runtime/debug
	// imports fmt and with it os (plugin/sdkpatch).
	debug.SetGCPercent(25)
}

func main() {}
