package sidecar

import (
	"errors"

	"github.com/lanedye/lanedye/internal/lane"
	"github.com/lanedye/lanedye/internal/propagation"
	"github.com/lanedye/lanedye/internal/request"
)

// Outbound restores the lane on an application's call and computes the
// route lane for its destination. now is unix milliseconds. An
// application's lane header wins, then a fresh mapping of the call's
// correlation id, then the workload's own lane, then nothing.
func (s *Sidecar) Outbound(r *request.Request, st propagation.Store, now int64) Result {
	o := &s.o
	res := s.fromHeader(r) // the application propagated it: keep it
	if res.Lane == lane.None && len(o.Keys) > 0 {
		s.lookup(r, st, now, &res)
	}
	if res.Lane == lane.None && s.workload != lane.None {
		s.restore(r, s.workload, lane.SourceWorkload, &res)
	}
	s.route(r, &res)
	return res
}

// route sets the route lane for the request's destination, or strips a
// route header the application forwarded when there is no fallback section.
func (s *Sidecar) route(r *request.Request, res *Result) {
	o := &s.o
	if o.Fallback != nil {
		res.Route = o.Fallback.Route(r.Host(), res.Lane.OrDefault())
	} else if r.Count(o.RouteHeader) > 0 {
		res.StripRoute = true
	}
}

// restore gives the request lane l from source src: the lane header, and
// the baggage member when configured.
func (s *Sidecar) restore(r *request.Request, l lane.ID, src lane.Source, res *Result) {
	o := &s.o
	res.Lane, res.Source, res.SetLane = l, src, true
	if o.Baggage != "" {
		old, _ := r.Joined(o.BaggageHeader)
		if nb, ok := propagation.AppendBaggageSet(r.Scratch(), old, o.Baggage, o.Lanes.Name(l)); ok {
			res.Baggage = r.Keep(nb)
		}
	}
}

func (s *Sidecar) lookup(r *request.Request, st propagation.Store, now int64, res *Result) {
	o := &s.o
	// One read per request: the first id present. Envoy generates a fresh
	// x-request-id when the application forwards none, so ids the
	// application forwards belong earlier in keys.
	id, ok := propagation.First(o.Keys, r)
	if !ok {
		res.NoID = true
		return
	}
	v, _, err := st.Get(propagation.SlotOf(id, o.Slots))
	if err != nil {
		if errors.Is(err, propagation.ErrNotFound) {
			res.Miss = true
		} else {
			res.Err = err
		}
		return
	}
	name, status := propagation.Inspect(v, id, now)
	switch status {
	case propagation.Fresh:
		l, known := o.Lanes.LookupBytes(name)
		if !known {
			res.Miss = true // a lane removed since it was stored: never propagate it
			return
		}
		res.Hit = true
		s.restore(r, l, lane.SourcePropagated, res)
	case propagation.Expired:
		res.Expired = true
	default:
		res.Miss = true
	}
}
