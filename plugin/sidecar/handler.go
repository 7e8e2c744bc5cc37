package main

import (
	"github.com/lanedye/lanedye/internal/config"
	"github.com/lanedye/lanedye/internal/config/sidecarconf"
	"github.com/lanedye/lanedye/internal/lane"
	"github.com/lanedye/lanedye/internal/request"
	"github.com/lanedye/lanedye/internal/sidecar"
	"github.com/lanedye/lanedye/plugin"
)

// handler stores lanes inbound and restores them outbound; at a waypoint
// it does both on each request.
type handler struct {
	cfg      *config.Config
	waypoint bool
	data     sharedData
	sc       *sidecar.Sidecar
	debug    *lane.Debug
	c        *plugin.Counters
	// req is every request's view: reused, so that the baggage header it
	// builds reuses its memory (a VM runs one callback at a time).
	req request.Request
	// The sidecar's own counters.
	stored, hit, miss, expired, overwritten              plugin.Counter
	casRetries, retriesExhausted, noID, directionUnknown plugin.Counter
}

func newHandler(cfg *config.Config, c *plugin.Counters) plugin.Handler {
	part := sidecarconf.Of(cfg)
	h := &handler{cfg: cfg, waypoint: cfg.Role == config.Waypoint, sc: part.Sidecar, debug: lane.NewDebug(cfg.Lanes), c: c}
	if part.WorkloadLabel != "" {
		h.sc = h.sc.WithWorkloadLane(workloadLane(cfg, part.WorkloadLabel))
	}
	for _, d := range [...]struct {
		c    *plugin.Counter
		name string
	}{
		{&h.stored, "lanedye.propagation.stored"}, {&h.hit, "lanedye.propagation.hit"},
		{&h.miss, "lanedye.propagation.miss"}, {&h.expired, "lanedye.propagation.expired"},
		{&h.overwritten, "lanedye.propagation.overwritten"},
		{&h.casRetries, "lanedye.propagation.cas_retries"},
		{&h.retriesExhausted, "lanedye.propagation.retries_exhausted"},
		{&h.noID, "lanedye.propagation.no_id"}, {&h.directionUnknown, "lanedye.direction.unknown"},
	} {
		*d.c = c.Define(d.name)
	}
	return h
}

// listenerDirection is the property path of the listener's traffic
// direction. Envoy >= 1.33 serves it under "xds"; the bare
// "listener_direction" of older Envoys (and of the SDK's properties helper)
// answers NotFound there.
var listenerDirection = plugin.NewPropertyPath("xds", "listener_direction")

// Request handles one request. The direction is read per request: Istio
// may share one root context between the inbound and outbound filter
// chains of a workload. Nothing a sidecar writes guards against spoofing
// (applications may set their own lane), so it always reports done.
func (h *handler) Request(s *plugin.Stream) bool {
	hdrs, err := s.Headers()
	if err != nil {
		s.Failed()
		return true
	}
	r := &h.req
	r.Reset(h.cfg.Index, hdrs)
	if h.waypoint {
		res := h.sc.Waypoint(r, &h.data, s.Now())
		h.c.Decided(res.Lane, res.Source)
		h.c.Routed(res.Route)
		h.finish(s, r, &res)
		return true
	}
	raw, err := plugin.Property(listenerDirection)
	dir := sidecar.Unknown
	if err == nil {
		dir = sidecar.ParseDirection(raw)
	}
	var res sidecar.Result
	switch dir {
	case sidecar.Inbound:
		res = h.sc.Inbound(r, &h.data, s.Now())
	case sidecar.Outbound:
		res = h.sc.Outbound(r, &h.data, s.Now())
		h.c.Decided(res.Lane, res.Source)
		h.c.Routed(res.Route)
	default:
		h.c.Inc(h.directionUnknown)
		return true
	}
	h.finish(s, r, &res)
	return true
}

// finish counts a result and applies it.
func (h *handler) finish(s *plugin.Stream, r *request.Request, res *sidecar.Result) {
	h.count(&res.Stats)
	if res.Err != nil {
		s.Failed()
	}
	h.write(s, r, res)
	if h.cfg.Debug {
		// Inbound: the lane the application was told; outbound (and at a
		// waypoint): the lane the request goes on with.
		s.Debug = h.debug.Value(res.Lane, res.Source)
	}
}

// write applies a result to the request headers.
func (h *handler) write(s *plugin.Stream, r *request.Request, res *sidecar.Result) {
	cfg := h.cfg
	if res.SetLane {
		if err := plugin.SetRequestHeader(cfg.LaneHeader, cfg.Lanes.Name(res.Lane), r.Count(cfg.LaneHeaderID)); err != nil {
			s.Failed()
			return
		}
	}
	if len(res.Baggage) > 0 {
		if err := plugin.SetRequestHeaderBytes("baggage", res.Baggage, r.Count(cfg.BaggageHeaderID)); err != nil {
			s.Failed()
		}
	}
	switch {
	case res.Route != lane.None:
		if err := plugin.SetRequestHeader(cfg.RouteHeader, cfg.Lanes.Name(res.Route), r.Count(cfg.RouteHeaderID)); err != nil {
			s.Failed()
		}
	case res.StripRoute:
		if err := plugin.RemoveRequestHeader(cfg.RouteHeader); err != nil {
			s.Failed()
		}
	}
}

// count counts the propagation events of a request.
func (h *handler) count(st *sidecar.Stats) {
	h.c.Add(h.stored, uint64(st.Stored))
	h.c.Add(h.casRetries, uint64(st.CASRetries))
	for _, e := range [...]struct {
		on bool
		c  plugin.Counter
	}{{st.Hit, h.hit}, {st.Miss, h.miss}, {st.Expired, h.expired}, {st.Overwritten, h.overwritten},
		{st.RetriesExhausted, h.retriesExhausted}, {st.NoID, h.noID}} {
		if e.on {
			h.c.Inc(e.c)
		}
	}
}

// FailClosed has nothing to do: a sidecar guards no header against its
// application.
func (h *handler) FailClosed(*plugin.Stream) {}

// Response adds the debug header.
func (h *handler) Response(s *plugin.Stream) { s.AddDebug() }
