// Package plugin is the Proxy-Wasm glue the modules share: the VM, plugin
// and HTTP contexts, reading a request's headers in one host call, writing
// headers, counting and logging. Each module is a main package that carries
// one role's glue and calls Start from its init (plugin/gateway builds
// lanedye-gateway.wasm, plugin/sidecar lanedye-sidecar.wasm); the decisions
// are the pure packages' under internal/. Nothing here imports a role's
// packages, so a module links only its own role's code.
package plugin

import (
	"errors"
	"time"

	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"

	"github.com/lanedye/lanedye/internal/config"
)

// Module is what one module carries.
type Module struct {
	// Roles parse the configurations of the roles the module carries; a
	// configuration of any other role fails the start, naming the module
	// that carries it.
	Roles []config.RoleParser
	// New returns the handler of a parsed configuration. It defines the
	// role's own counters on c; the shared ones are defined already.
	New func(cfg *config.Config, c *Counters) Handler
}

// Handler handles the requests of one plugin configuration.
type Handler interface {
	// Request reads and rewrites a request's headers. It returns false
	// when it could not apply its decision (a host call failed).
	Request(s *Stream) bool
	// FailClosed runs when Request returned false or panicked: it removes
	// what a client could have spoofed. Routing fails open, anti-spoofing
	// fails closed.
	FailClosed(s *Stream)
	// Response adds what Request left for the response.
	Response(s *Stream)
}

// Start makes m this VM's module. Call it from the main package's init:
// with -buildmode=c-shared, main never runs.
func Start(m Module) {
	proxywasm.SetVMContext(NewVM(m, WallClock))
}

// WallClock is the clock in Envoy: milliseconds since the Unix epoch. The
// clock is an integer so that no time.Time value, and with it time's
// formatting, is kept alive in the module.
func WallClock() int64 { return time.Now().UnixMilli() }

// NewVM returns the VM context of m with the clock now; tests pass a fake
// clock.
func NewVM(m Module, now func() int64) types.VMContext { return &vmContext{m: m, now: now} }

// vmContext is one VM.
type vmContext struct {
	types.DefaultVMContext
	m   Module
	now func() int64
}

// NewPluginContext is called once per plugin configuration (and per worker VM).
func (v *vmContext) NewPluginContext(uint32) types.PluginContext {
	return &pluginContext{m: v.m, now: v.now}
}

type pluginContext struct {
	types.DefaultPluginContext
	m   Module
	now func() int64
	cfg *config.Config
	c   *Counters
	h   Handler
	hdr headerReader // request headers of the current callback
	// free holds the HTTP contexts of finished streams for new ones: a
	// request then allocates nothing, and a VM's heap, whose linear memory
	// Envoy never gets back, stops growing once warm.
	free []*httpContext
}

// OnPluginStart parses the configuration. A bad configuration fails the start,
// which makes Envoy reject it and keep serving with the last good one.
func (p *pluginContext) OnPluginStart(int) types.OnPluginStartStatus {
	data, err := proxywasm.GetPluginConfiguration()
	if err != nil && !errors.Is(err, types.ErrorStatusNotFound) {
		proxywasm.LogCritical("lanedye: reading plugin configuration: " + err.Error())
		return types.OnPluginStartStatusFailed
	}
	cfg, err := config.Parse(data, config.Carry(p.m.Roles...)) // secret_env: the VM's environment
	if err != nil {
		proxywasm.LogCritical("lanedye: invalid configuration: " + err.Error())
		return types.OnPluginStartStatusFailed
	}
	p.cfg = cfg
	p.c = newCounters(cfg)
	p.h = p.m.New(cfg, p.c)
	p.c.ready()
	if err := proxywasm.SetTickPeriodMilliSeconds(flushPeriodMillis); err != nil {
		proxywasm.LogWarn("lanedye: no tick, counters are flushed only when the plugin stops: " + err.Error())
	}
	proxywasm.LogInfo("lanedye: started as " + cfg.Role.String() + " with " + itoa(cfg.Lanes.Len()) + " lanes")
	return types.OnPluginStartStatusOK
}

// OnTick hands the counts of the last period to Envoy.
func (p *pluginContext) OnTick() {
	if p.c != nil {
		p.c.flush()
	}
}

// OnPluginDone flushes what is left before the configuration goes away.
func (p *pluginContext) OnPluginDone() bool {
	p.OnTick()
	return true
}

// NewHttpContext returns the per-stream context, a finished stream's when
// there is one.
func (p *pluginContext) NewHttpContext(uint32) types.HttpContext {
	if p.cfg == nil {
		return &types.DefaultHttpContext{}
	}
	if n := len(p.free); n > 0 {
		h := p.free[n-1]
		p.free = p.free[:n-1]
		h.s = Stream{p: p}
		return h
	}
	return &httpContext{s: Stream{p: p}}
}
