package main

import (
	"errors"
	"net/netip"

	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"

	"github.com/lanedye/lanedye/internal/gateway"
	"github.com/lanedye/lanedye/internal/propagation"
	"github.com/lanedye/lanedye/internal/request"
)

var sourceAddress = []string{"source", "address"}

// gateway decides a request's lane and writes the decision. Routing fails
// open, anti-spoofing fails closed: whatever goes wrong (reading the headers,
// deciding, writing), the client's unverified lane header, route header and
// baggage lane member are removed.
func (h *httpContext) gateway() {
	written := false
	defer func() {
		if r := recover(); r != nil {
			h.p.m.failed()
			proxywasm.LogErrorf("lanedye: internal error: %v", r)
		}
		if !written {
			h.failClosed()
		}
	}()
	hdrs, err := h.p.hdr.read()
	if err != nil {
		h.p.m.failed()
		return
	}
	var r request.Request
	r.Reset(h.p.cfg.Index, hdrs)
	if h.p.cfg.Gateway.NeedsSource(&r) {
		h.readSource(&r)
	}
	d := h.p.cfg.Gateway.Decide(&r, h.p.now().Unix(), h.p.gw)
	h.p.m.decided(&d)
	if d.Spoofed {
		h.p.m.inc(h.p.m.rejected)
	}
	if err := h.write(&r, &d); err != nil {
		h.p.m.failed()
		return
	}
	written = true
	h.setCookie = d.SetCookie
	if h.p.cfg.Debug {
		h.debug = h.p.explain.Explain(&d)
	}
}

// readSource gives the request its downstream address (Envoy's
// source.address, "ip:port" or "[ipv6]:port"). Without it, source_ip
// conditions do not hold: a trust block is then not granted.
func (h *httpContext) readSource(r *request.Request) {
	raw, err := proxywasm.GetProperty(sourceAddress)
	if err != nil {
		h.p.m.failed()
		return
	}
	s := string(raw)
	if ap, err := netip.ParseAddrPort(s); err == nil {
		r.SetSource(ap.Addr())
	} else if a, err := netip.ParseAddr(s); err == nil {
		r.SetSource(a)
	}
}

// write applies a decision to the request headers.
func (h *httpContext) write(r *request.Request, d *gateway.Decision) error {
	cfg := h.p.cfg
	if err := setRequestHeader(cfg.LaneHeader, cfg.Lanes.Name(d.Lane), r.Count(cfg.LaneHeaderID)); err != nil {
		return err
	}
	if cfg.HasFallback {
		if err := setRequestHeader(cfg.RouteHeader, cfg.Lanes.Name(d.Route), r.Count(cfg.RouteHeaderID)); err != nil {
			return err
		}
	} else if n := r.Count(cfg.RouteHeaderID); n > 0 {
		if err := removeRequestHeader(cfg.RouteHeader, n); err != nil {
			return err
		}
	}
	switch d.Baggage {
	case gateway.BaggageSet:
		return setRequestHeader("baggage", d.BaggageValue, r.Count(cfg.BaggageHeaderID))
	case gateway.BaggageRemove:
		return removeRequestHeader("baggage", r.Count(cfg.BaggageHeaderID))
	}
	return nil
}

// failClosed removes the client's lane header, route header and baggage
// lane member without having read the request. Envoy's remove drops every
// occurrence. Only the first baggage header can be read here and a later
// one may carry the member, so every baggage header goes and the first
// comes back without the member (a malformed one does not come back).
// Errors are counted; if these fail too, the request goes on as it came.
func (h *httpContext) failClosed() {
	cfg := h.p.cfg
	for _, name := range []string{cfg.LaneHeader, cfg.RouteHeader} {
		if err := proxywasm.RemoveHttpRequestHeader(name); err != nil {
			h.p.m.failed()
		}
	}
	if cfg.Baggage == "" {
		return
	}
	first, getErr := proxywasm.GetHttpRequestHeader("baggage")
	if errors.Is(getErr, types.ErrorStatusNotFound) {
		return
	}
	if err := proxywasm.RemoveHttpRequestHeader("baggage"); err != nil {
		h.p.m.failed()
		return
	}
	if getErr != nil {
		return
	}
	if clean, _, ok := propagation.BaggageDel(first, cfg.Baggage); ok && clean != "" {
		if err := proxywasm.AddHttpRequestHeader("baggage", clean); err != nil {
			h.p.m.failed()
		}
	}
}
