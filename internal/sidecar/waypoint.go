package sidecar

import (
	"github.com/lanedye/lanedye/internal/lane"
	"github.com/lanedye/lanedye/internal/propagation"
	"github.com/lanedye/lanedye/internal/request"
)

// Waypoint handles a request at an Istio ambient waypoint, an Envoy that
// serves requests to services and has no inbound/outbound listener pair.
// A request that brings a lane (its lane header, else the baggage member)
// has it remembered under every correlation id it carries, as a sidecar's
// inbound does; a request without one gets the lane of a fresh mapping of
// its first correlation id, as a sidecar's outbound does. Then the route
// lane is set for the destination. Mappings live in that waypoint Envoy's
// shared data: an onward call finds its caller's lane when both pass the
// same waypoint Envoy.
func (s *Sidecar) Waypoint(r *request.Request, st propagation.Store, now int64) Result {
	res := s.laneIn(r)
	if res.Lane != lane.None {
		s.remember(r, st, now, &res)
	} else if len(s.o.Keys) > 0 {
		s.lookup(r, st, now, &res)
	}
	s.route(r, &res)
	return res
}
