package main

import (
	"errors"
	"unsafe"

	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"

	"github.com/lanedye/lanedye/internal/config"
	"github.com/lanedye/lanedye/internal/config/gatewayconf"
	"github.com/lanedye/lanedye/internal/gateway"
	"github.com/lanedye/lanedye/internal/match"
	"github.com/lanedye/lanedye/internal/propagation"
	"github.com/lanedye/lanedye/internal/request"
	"github.com/lanedye/lanedye/internal/rules"
	"github.com/lanedye/lanedye/plugin"
)

// handler decides a request's lane at the gateway and writes the decision.
type handler struct {
	cfg     *config.Config
	gw      *gateway.Gateway
	state   *gateway.State // the cookie cache of this plugin context
	explain *gateway.Explainer
	c       *plugin.Counters
	// The gateway's own counters.
	rule                                   []plugin.Counter
	rejected, stickyIssued, baggageDropped plugin.Counter
}

func newHandler(cfg *config.Config, c *plugin.Counters) plugin.Handler {
	part := gatewayconf.Of(cfg)
	h := &handler{cfg: cfg, gw: part.Gateway, state: part.Gateway.NewState(),
		explain: gateway.NewExplainer(cfg.Lanes, part.Rules), c: c}
	h.rejected = c.Define("lanedye.lane_header.rejected")
	h.stickyIssued = c.Define("lanedye.sticky.issued")
	h.baggageDropped = c.Define("lanedye.baggage.dropped")
	for _, r := range part.Rules.Rules() {
		h.rule = append(h.rule, c.Define("lanedye.rule."+r.Name+".matched"))
	}
	return h
}

var sourceAddress = plugin.NewPropertyPath("source", "address")

// Request decides and writes the decision. It returns false when the
// decision could not be written; the plugin then calls FailClosed.
func (h *handler) Request(s *plugin.Stream) bool {
	hdrs, err := s.Headers()
	if err != nil {
		s.Failed()
		return false
	}
	var r request.Request
	r.Reset(h.cfg.Index, hdrs)
	if h.gw.NeedsSource(&r) {
		h.readSource(s, &r)
	}
	d := h.gw.Decide(&r, s.Now()/1000, h.state)
	h.c.Decided(d.Lane, d.Source)
	h.c.Routed(d.Route)
	if d.Rule != rules.None {
		h.c.Inc(h.rule[d.Rule])
	}
	if d.Spoofed {
		h.c.Inc(h.rejected)
	}
	if d.BaggageDropped {
		h.c.Inc(h.baggageDropped)
	}
	if err := h.write(&r, &d); err != nil {
		s.Failed()
		return false
	}
	s.SetCookie = d.SetCookie
	if h.cfg.Debug {
		s.Debug = h.explain.Explain(&d)
	}
	return true
}

// readSource gives the request its downstream address (Envoy's
// source.address, "ip:port" or "[ipv6]:port"). Without it, source_ip
// conditions do not hold: a trust block is then not granted.
func (h *handler) readSource(s *plugin.Stream, r *request.Request) {
	raw, err := plugin.Property(sourceAddress)
	if err != nil {
		s.Failed()
		return
	}
	if a, ok := match.ParseAddrPort(unsafe.String(unsafe.SliceData(raw), len(raw))); ok {
		r.SetSource(a)
	}
}

// write applies a decision to the request headers.
func (h *handler) write(r *request.Request, d *gateway.Decision) error {
	cfg := h.cfg
	if err := plugin.SetRequestHeader(cfg.LaneHeader, cfg.Lanes.Name(d.Lane), r.Count(cfg.LaneHeaderID)); err != nil {
		return err
	}
	if cfg.HasFallback() {
		if err := plugin.SetRequestHeader(cfg.RouteHeader, cfg.Lanes.Name(d.Route), r.Count(cfg.RouteHeaderID)); err != nil {
			return err
		}
	} else if r.Count(cfg.RouteHeaderID) > 0 {
		if err := plugin.RemoveRequestHeader(cfg.RouteHeader); err != nil {
			return err
		}
	}
	switch d.Baggage {
	case gateway.BaggageSet:
		return plugin.SetRequestHeader("baggage", d.BaggageValue, r.Count(cfg.BaggageHeaderID))
	case gateway.BaggageRemove:
		return plugin.RemoveRequestHeader("baggage")
	}
	return nil
}

// FailClosed removes the client's lane header, route header and baggage
// lane member without having read the request. Envoy's remove drops every
// occurrence. Only the first baggage header can be read here and a later
// one may carry the member, so every baggage header goes and the first
// comes back without the member (a malformed one does not come back).
// Errors are counted; if these fail too, the request goes on as it came.
func (h *handler) FailClosed(s *plugin.Stream) {
	cfg := h.cfg
	for _, name := range []string{cfg.LaneHeader, cfg.RouteHeader} {
		if err := plugin.RemoveRequestHeader(name); err != nil {
			s.Failed()
		}
	}
	if cfg.Baggage == "" {
		return
	}
	first, getErr := proxywasm.GetHttpRequestHeader("baggage")
	if errors.Is(getErr, types.ErrorStatusNotFound) {
		return
	}
	if err := plugin.RemoveRequestHeader("baggage"); err != nil {
		s.Failed()
		return
	}
	if getErr != nil {
		return
	}
	if clean, _, ok := propagation.BaggageDel(first, cfg.Baggage); ok && clean != "" {
		if err := proxywasm.AddHttpRequestHeader("baggage", clean); err != nil {
			s.Failed()
		}
	}
}

// Response adds the sticky cookie and the debug header.
func (h *handler) Response(s *plugin.Stream) {
	if s.SetCookie != "" {
		// Add, never replace: the upstream's own cookies must survive.
		if err := proxywasm.AddHttpResponseHeader("set-cookie", s.SetCookie); err != nil {
			s.Failed()
		} else {
			h.c.Inc(h.stickyIssued)
		}
	}
	s.AddDebug()
}
