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
	gw      *gateway.State // the gateway's cookie cache; nil on a sidecar
	hdr     headerReader   // request headers of the current callback
}

// OnPluginStart parses the configuration. A bad configuration fails the start,
// which makes Envoy reject it and keep serving with the last good one.
func (p *pluginContext) OnPluginStart(int) types.OnPluginStartStatus {
	data, err := proxywasm.GetPluginConfiguration()
	if err != nil && !errors.Is(err, types.ErrorStatusNotFound) {
		proxywasm.LogCriticalf("lanedye: reading plugin configuration: %v", err)
		return types.OnPluginStartStatusFailed
	}
	cfg, err := config.Parse(data) // secret_env: the VM's environment
	if err != nil {
		proxywasm.LogCriticalf("lanedye: invalid configuration: %v", err)
		return types.OnPluginStartStatusFailed
	}
	p.cfg = cfg
	p.m = defineMetrics(cfg)
	p.explain = gateway.NewExplainer(cfg.Lanes, cfg.Rules)
	if cfg.Gateway != nil {
		p.gw = cfg.Gateway.NewState()
	}
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
	if h.p.cfg.Role == config.Gateway {
		h.gateway()
	} else {
		h.sidecar()
	}
	return types.ActionContinue
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
