// Package sidecarconf compiles the sections of the sidecar and waypoint
// roles into a sidecar.Sidecar. The sidecar module carries it and no
// gateway code.
package sidecarconf

import (
	"github.com/lanedye/lanedye/internal/config"
	"github.com/lanedye/lanedye/internal/config/bind"
	"github.com/lanedye/lanedye/internal/sidecar"
)

// Part is what a sidecar or waypoint configuration compiles to
// (config.Config.Part).
type Part struct {
	Sidecar *sidecar.Sidecar
	// WorkloadLabel is workload.lane_label: the pod label whose value is
	// the workload's own lane ("" none). Istio copies a pod's labels to
	// its proxy's node.metadata.LABELS.
	WorkloadLabel string
}

// Of returns the sidecar part of c; nil for another role.
func Of(c *config.Config) *Part {
	p, _ := c.Part.(*Part)
	return p
}

// Parser compiles the sidecar role.
var Parser = config.RoleParser{Role: config.Sidecar, Compile: compile}

// WaypointParser compiles the waypoint role.
var WaypointParser = config.RoleParser{Role: config.Waypoint, Compile: compile}

func compile(c *config.Config, s config.Sections, _ func(string) (string, bool)) (any, error) {
	o := sidecar.Options{Lanes: c.Lanes, LaneHeader: c.LaneHeaderID, RouteHeader: c.RouteHeaderID,
		Baggage: c.Baggage, BaggageHeader: c.BaggageHeaderID, Fallback: c.Fallback}
	if err := parsePropagation(c, s["propagation"], &o); err != nil {
		return nil, err
	}
	part := &Part{}
	if w, ok := s["workload"]; ok {
		err := bind.Object(w, "workload",
			bind.Req("lane_label", "the pod label holding the workload's lane, e.g. lanedye.io/lane", labelKey(&part.WorkloadLabel)),
		)
		if err != nil {
			return nil, err
		}
	}
	part.Sidecar = sidecar.New(o)
	return part, nil
}
