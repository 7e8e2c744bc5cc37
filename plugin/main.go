// Command lanedye is the Proxy-Wasm plugin. It is built with
// GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared; main never runs, the
// host enters through the exported proxy_on_* functions.
//
// This package is glue only: it reads the request once, hands it to the pure
// packages under internal/, and applies their decision with host calls.
package main

import (
	"errors"
	"runtime/debug"
	"time"

	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"

	"github.com/lanedye/lanedye/internal/config"
	"github.com/lanedye/lanedye/internal/gateway"
	"github.com/lanedye/lanedye/internal/request"
)

func init() {
	proxywasm.SetVMContext(&vmContext{now: time.Now})
	// Linear memory never shrinks, so the heap's high-water mark is what a VM
	// costs Envoy for good. Measured through the full stream lifecycle over
	// 300k gateway requests: default GOGC settles at 131 pages only after
	// ~50k requests; GOGC=25 holds 92 pages from 10k on, with no measurable
	// change in per-request cost. A memory limit did as well but thrashes
	// once a large configuration's live heap nears it; forcing runtime.GC
	// every 1000 streams reached 83 pages at the price of periodic pauses.
	debug.SetGCPercent(25)
}

func main() {}

// vmContext is one VM. now is its clock: the WASI clock in Envoy, a fake
// one in tests.
type vmContext struct {
	types.DefaultVMContext
	now func() time.Time
}

// NewPluginContext is called once per plugin configuration (and per worker VM).
func (v *vmContext) NewPluginContext(uint32) types.PluginContext { return &pluginContext{now: v.now} }

type pluginContext struct {
	types.DefaultPluginContext
	now     func() time.Time
	cfg     *config.Config
	m       *metrics
	explain *gateway.Explainer
}

// OnPluginStart parses the configuration. A bad configuration fails the start,
// which makes Envoy reject it and keep serving with the last good one.
func (p *pluginContext) OnPluginStart(int) types.OnPluginStartStatus {
	data, err := proxywasm.GetPluginConfiguration()
	if err != nil && !errors.Is(err, types.ErrorStatusNotFound) {
		proxywasm.LogCriticalf("lanedye: reading plugin configuration: %v", err)
		return types.OnPluginStartStatusFailed
	}
	cfg, err := config.Parse(data)
	if err != nil {
		proxywasm.LogCriticalf("lanedye: invalid configuration: %v", err)
		return types.OnPluginStartStatusFailed
	}
	p.cfg = cfg
	p.m = defineMetrics(cfg)
	p.explain = gateway.NewExplainer(cfg.Lanes, cfg.Rules)
	if err := proxywasm.SetTickPeriodMilliSeconds(flushPeriodMillis); err != nil {
		proxywasm.LogWarnf("lanedye: no tick, counters are flushed only when the plugin stops: %v", err)
	}
	proxywasm.LogInfof("lanedye: started as %s with %d lanes and %d rules",
		cfg.Role, cfg.Lanes.Len(), len(cfg.Rules.Rules()))
	return types.OnPluginStartStatusOK
}

// OnTick hands the counts of the last period to Envoy.
func (p *pluginContext) OnTick() {
	if p.m != nil {
		p.m.flush()
	}
}

// OnPluginDone flushes what is left before the configuration goes away.
func (p *pluginContext) OnPluginDone() bool {
	p.OnTick()
	return true
}

// NewHttpContext returns the per-stream context.
func (p *pluginContext) NewHttpContext(uint32) types.HttpContext {
	if p.cfg == nil {
		return &types.DefaultHttpContext{}
	}
	return &httpContext{p: p}
}

// recoverRequest turns a panic on a request path into a counted error: routing
// fails open, the request goes on unchanged.
func (p *pluginContext) recoverRequest() {
	if r := recover(); r != nil {
		p.m.failed()
		proxywasm.LogErrorf("lanedye: internal error: %v", r)
	}
}

type httpContext struct {
	types.DefaultHttpContext
	p *pluginContext
	// Set in the request phase, used in the response phase.
	setCookie string
	debug     string
}

// OnHttpRequestHeaders reads all request headers in one host call, decides,
// and rewrites the lane and route headers.
func (h *httpContext) OnHttpRequestHeaders(int, bool) types.Action {
	defer h.p.recoverRequest()
	hdrs, err := proxywasm.GetHttpRequestHeaders()
	if err != nil {
		h.p.m.failed()
		return types.ActionContinue
	}
	var r request.Request
	r.Reset(h.p.cfg.Index, hdrs)
	if h.p.cfg.Role == config.Gateway {
		h.gateway(&r)
	} else {
		h.sidecar(&r)
	}
	return types.ActionContinue
}

func (h *httpContext) gateway(r *request.Request) {
	cfg, m := h.p.cfg, h.p.m
	d := cfg.Gateway.Decide(r)
	m.decided(&d)
	if d.Spoofed {
		m.inc(m.rejected)
	}
	if err := setRequestHeader(cfg.LaneHeader, cfg.Lanes.Name(d.Lane), r.Count(cfg.LaneHeaderID)); err != nil {
		m.failed()
		return
	}
	if cfg.HasFallback {
		if err := setRequestHeader(cfg.RouteHeader, cfg.Lanes.Name(d.Route), r.Count(cfg.RouteHeaderID)); err != nil {
			m.failed()
		}
	} else if n := r.Count(cfg.RouteHeaderID); n > 0 {
		if err := removeRequestHeader(cfg.RouteHeader, n); err != nil {
			m.failed()
		}
	}
	h.setCookie = d.SetCookie
	if cfg.Debug {
		h.debug = h.p.explain.Explain(&d)
	}
}

// OnHttpResponseHeaders adds the sticky cookie and the debug header.
func (h *httpContext) OnHttpResponseHeaders(int, bool) types.Action {
	if h.setCookie == "" && h.debug == "" {
		return types.ActionContinue
	}
	defer h.p.recoverRequest()
	if h.setCookie != "" {
		// Add, never replace: the upstream's own cookies must survive.
		if err := proxywasm.AddHttpResponseHeader("set-cookie", h.setCookie); err != nil {
			h.p.m.failed()
		} else {
			h.p.m.inc(h.p.m.stickyIssued)
		}
	}
	if h.debug != "" {
		if err := proxywasm.ReplaceHttpResponseHeader(gateway.DebugHeader, h.debug); err != nil {
			h.p.m.failed()
		}
	}
	return types.ActionContinue
}

// setRequestHeader sets name to exactly one value; count is how often the
// request carries it now. Replace only rewrites the first occurrence, so a
// header the client sent twice is removed first.
func setRequestHeader(name, value string, count int) error {
	if count > 1 {
		if err := removeRequestHeader(name, count); err != nil {
			return err
		}
		return proxywasm.AddHttpRequestHeader(name, value)
	}
	return proxywasm.ReplaceHttpRequestHeader(name, value)
}

// removeRequestHeader removes every occurrence of name. Envoy's remove drops
// them all at once (the extra calls are no-ops there); some hosts, the SDK's
// emulator among them, drop one per call.
func removeRequestHeader(name string, count int) error {
	for range count {
		if err := proxywasm.RemoveHttpRequestHeader(name); err != nil {
			return err
		}
	}
	return nil
}
