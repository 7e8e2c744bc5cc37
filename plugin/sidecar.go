package main

import (
	"errors"

	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"

	"github.com/lanedye/lanedye/internal/lane"
	"github.com/lanedye/lanedye/internal/propagation"
	"github.com/lanedye/lanedye/internal/request"
	"github.com/lanedye/lanedye/internal/sidecar"
)

// sharedData is Envoy shared data behind propagation.Store.
type sharedData struct{}

func (sharedData) Get(key string) ([]byte, uint32, error) {
	v, cas, err := proxywasm.GetSharedData(key)
	if errors.Is(err, types.ErrorStatusNotFound) {
		return nil, 0, propagation.ErrNotFound
	}
	return v, cas, err
}

func (sharedData) Set(key string, value []byte, cas uint32) error {
	err := proxywasm.SetSharedData(key, value, cas)
	if errors.Is(err, types.ErrorStatusCasMismatch) {
		return propagation.ErrCasMismatch
	}
	return err
}

// listenerDirection is the property path of the listener's traffic
// direction. Envoy >= 1.33 serves it under "xds"; the bare
// "listener_direction" of older Envoys (and of the SDK's properties helper)
// answers NotFound there.
var listenerDirection = []string{"xds", "listener_direction"}

// sidecar handles one request on a sidecar. The direction is read per
// request: Istio may share one root context between the inbound and outbound
// filter chains of a workload.
func (h *httpContext) sidecar() {
	defer h.p.recoverRequest()
	cfg, m := h.p.cfg, h.p.m
	hdrs, err := h.p.hdr.read()
	if err != nil {
		m.failed()
		return
	}
	var req request.Request
	req.Reset(cfg.Index, hdrs)
	r := &req
	raw, err := proxywasm.GetProperty(listenerDirection)
	dir := sidecar.Unknown
	if err == nil {
		dir = sidecar.ParseDirection(raw)
	}
	now := h.p.now().UnixMilli()
	var res sidecar.Result
	switch dir {
	case sidecar.Inbound:
		res = cfg.Sidecar.Inbound(r, sharedData{}, now)
	case sidecar.Outbound:
		res = cfg.Sidecar.Outbound(r, sharedData{}, now)
		m.decidedLane(res.Lane, res.Source)
		if res.Route != lane.None && m.route != nil {
			m.inc(m.route[res.Route])
		}
	default:
		m.inc(m.directionUnknown)
		return
	}
	m.propagated(&res.Stats)
	if res.Err != nil {
		m.failed()
	}
	if res.SetLane {
		if err := setRequestHeader(cfg.LaneHeader, cfg.Lanes.Name(res.Lane), r.Count(cfg.LaneHeaderID)); err != nil {
			m.failed()
			return
		}
	}
	if res.Baggage != "" {
		if err := setRequestHeader("baggage", res.Baggage, r.Count(cfg.BaggageHeaderID)); err != nil {
			m.failed()
		}
	}
	switch {
	case res.Route != lane.None:
		if err := setRequestHeader(cfg.RouteHeader, cfg.Lanes.Name(res.Route), r.Count(cfg.RouteHeaderID)); err != nil {
			m.failed()
		}
	case res.StripRoute:
		if err := removeRequestHeader(cfg.RouteHeader, r.Count(cfg.RouteHeaderID)); err != nil {
			m.failed()
		}
	}
	if cfg.Debug {
		// Inbound: the lane the application was told; outbound: its call's.
		h.debug = h.p.explain.Lane(res.Lane, res.Source)
	}
}
