// Package sidecarconf compiles the sections of the sidecar role into a
// sidecar.Sidecar. The sidecar module carries it and no gateway code.
package sidecarconf

import (
	"github.com/lanedye/lanedye/internal/config"
	"github.com/lanedye/lanedye/internal/sidecar"
)

// Part is what a sidecar configuration compiles to (config.Config.Part).
type Part struct {
	Sidecar *sidecar.Sidecar
}

// Of returns the sidecar part of c; nil for another role.
func Of(c *config.Config) *Part {
	p, _ := c.Part.(*Part)
	return p
}

// Parser compiles the sidecar role.
var Parser = config.RoleParser{Role: config.Sidecar, Compile: compile}

func compile(c *config.Config, s config.Sections, _ func(string) (string, bool)) (any, error) {
	o := sidecar.Options{Lanes: c.Lanes, LaneHeader: c.LaneHeaderID, RouteHeader: c.RouteHeaderID,
		Baggage: c.Baggage, BaggageHeader: c.BaggageHeaderID, Fallback: c.Fallback}
	if err := parsePropagation(c, s["propagation"], &o); err != nil {
		return nil, err
	}
	return &Part{Sidecar: sidecar.New(o)}, nil
}
