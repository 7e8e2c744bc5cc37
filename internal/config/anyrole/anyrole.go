// Package anyrole parses a configuration of any role. The lanedye command,
// the tests and the benchmarks carry every role; a module carries only its
// own (plugin/gateway, plugin/sidecar), which is why config.Parse does not.
package anyrole

import (
	"github.com/lanedye/lanedye/internal/config"
	"github.com/lanedye/lanedye/internal/config/gatewayconf"
	"github.com/lanedye/lanedye/internal/config/sidecarconf"
)

// Parse is config.Parse carrying every role.
func Parse(data []byte, opts ...config.Option) (*config.Config, error) {
	return config.Parse(data, append(opts, config.Carry(gatewayconf.Parser, sidecarconf.Parser, sidecarconf.WaypointParser))...)
}
