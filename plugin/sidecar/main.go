// Command sidecar is lanedye-sidecar.wasm: the module of the sidecar role.
// It carries none of the gateway's code (rules, regular expressions, the
// sticky cookie's cryptography): every sidecar of a mesh loads it, and V8
// keeps every byte of a module compiled in every Envoy. This package is
// glue only: it reads the request once, hands it to internal/sidecar, and
// applies the result with host calls.
package main

import (
	"github.com/lanedye/lanedye/internal/config"
	"github.com/lanedye/lanedye/internal/config/sidecarconf"
	"github.com/lanedye/lanedye/plugin"
)

// module is the sidecar module: the sidecar role and its handler.
var module = plugin.Module{Roles: []config.RoleParser{sidecarconf.Parser, sidecarconf.WaypointParser}, New: newHandler}

func init() { plugin.Start(module) }

func main() {}
