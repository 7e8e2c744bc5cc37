package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/proxytest"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"
)

// wasmPath is the artifact under test; LANEDYE_WASM overrides it.
func wasmPath() string {
	if p := os.Getenv("LANEDYE_WASM"); p != "" {
		return p
	}
	return filepath.Join("..", "build", "lanedye.wasm")
}

// vmTest runs f twice: natively, for fast debuggable runs, and against the
// built wasm under wazero, which is what Envoy loads. A missing wasm is a
// failure, never a skip: a green run must mean the artifact was tested.
func vmTest(t *testing.T, f func(*testing.T, types.VMContext)) {
	t.Helper()
	t.Run("native", func(t *testing.T) { f(t, &vmContext{now: realNow}) })
	t.Run("wasm", func(t *testing.T) { f(t, wasmVM(t)) })
}

// realNow is the clock of native runs.
func realNow() time.Time { return time.Now() }

// clock is a fake clock a test moves forward.
type clock struct{ at time.Time }

func (c *clock) now() time.Time          { return c.at }
func (c *clock) advance(d time.Duration) { c.at = c.at.Add(d) }

// clockTest runs f natively with a fake clock. The wasm cannot take one:
// the SDK's wazero wrapper gives it a WASI clock nobody can set, so what the
// built module does with time is checked in real Envoy (e2e/).
func clockTest(t *testing.T, f func(*testing.T, types.VMContext, *clock)) {
	t.Helper()
	c := &clock{at: time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)}
	t.Run("native, fake clock", func(t *testing.T) { f(t, &vmContext{now: c.now}, c) })
}

// shared is the compiled wasm module of this test binary. Compiling takes
// seconds, so tests share one instance; each test still gets a fresh host
// emulator and a fresh plugin context, so no plugin state crosses tests.
var shared struct {
	once sync.Once
	vm   proxytest.WasmVMContext
	err  error
}

func wasmVM(t *testing.T) types.VMContext {
	t.Helper()
	shared.once.Do(func() {
		wasm, err := os.ReadFile(wasmPath())
		if err != nil {
			shared.err = fmt.Errorf("the wasm artifact is required (run make build): %w", err)
			return
		}
		shared.vm, shared.err = proxytest.NewWasmVMContext(wasm)
	})
	if shared.err != nil {
		t.Fatal(shared.err)
	}
	return shared.vm
}

// host is a started plugin in the SDK's host emulator.
type host struct {
	proxytest.HostEmulator
	t     *testing.T
	reset func()
}

// close releases the process-wide emulator; the next plugin can start only
// after it. It runs at the end of the test at the latest.
func (h *host) close() {
	if h.reset != nil {
		h.reset()
		h.reset = nil
	}
}

// startPlugin starts the plugin with a configuration and fails the test unless
// it starts.
func startPlugin(t *testing.T, vm types.VMContext, cfg string) *host {
	t.Helper()
	h, status := tryStart(t, vm, cfg)
	if status != types.OnPluginStartStatusOK {
		t.Fatalf("plugin did not start: %q", h.GetCriticalLogs())
	}
	return h
}

// tryStart starts the plugin and returns the start status.
func tryStart(t *testing.T, vm types.VMContext, cfg string) (*host, types.OnPluginStartStatus) {
	t.Helper()
	opt := proxytest.NewEmulatorOption().WithVMContext(vm).WithPluginConfiguration([]byte(cfg))
	emu, reset := proxytest.NewHostEmulator(opt)
	h := &host{HostEmulator: emu, t: t, reset: reset}
	t.Cleanup(h.close)
	if emu.StartVM() != types.OnVMStartStatusOK {
		t.Fatal("VM did not start")
	}
	return h, emu.StartPlugin()
}

// exchange is one request/response through the plugin.
type exchange struct {
	req  [][2]string // request headers as the upstream sees them
	resp [][2]string // response headers as the client sees them
}

// do sends request headers through the plugin, then upstream response headers
// back, and returns what each side sees.
func (h *host) do(reqHeaders [][2]string, upstreamResp ...[2]string) exchange {
	h.t.Helper()
	id := h.InitializeHttpContext()
	if a := h.CallOnRequestHeaders(id, reqHeaders, false); a != types.ActionContinue {
		h.t.Fatalf("request headers: action %v", a)
	}
	var ex exchange
	ex.req = h.GetCurrentRequestHeaders(id)
	resp := append([][2]string{{":status", "200"}}, upstreamResp...)
	if a := h.CallOnResponseHeaders(id, resp, false); a != types.ActionContinue {
		h.t.Fatalf("response headers: action %v", a)
	}
	ex.resp = h.GetCurrentResponseHeaders(id)
	h.CompleteHttpContext(id)
	return ex
}

// counter returns a counter's value, failing the test if it is not defined.
// It ticks first: the plugin hands its counts to the host on every tick.
func (h *host) counter(name string) uint64 {
	h.t.Helper()
	h.Tick()
	v, err := h.GetCounterMetric(name)
	if err != nil {
		h.t.Fatalf("counter %s: %v", name, err)
	}
	return v
}

// get returns all values of a header.
func get(hs [][2]string, name string) []string {
	var out []string
	for _, h := range hs {
		if strings.EqualFold(h[0], name) {
			out = append(out, h[1])
		}
	}
	return out
}

// one returns the single value of a header, or "" when absent; more than one
// value is a test failure.
func one(t *testing.T, hs [][2]string, name string) string {
	t.Helper()
	vs := get(hs, name)
	switch len(vs) {
	case 0:
		return ""
	case 1:
		return vs[0]
	}
	t.Fatalf("header %s appears %d times: %q", name, len(vs), vs)
	return ""
}

// req builds request headers for GET path on authority with extra headers.
func req(authority, path string, kv ...string) [][2]string {
	hs := [][2]string{{":method", "GET"}, {":authority", authority}, {":path", path}, {":scheme", "http"}}
	for i := 0; i+1 < len(kv); i += 2 {
		hs = append(hs, [2]string{kv[i], kv[i+1]})
	}
	return hs
}

// fixture reads a file from the repository's testdata directory.
func fixture(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// sharedGet reads shared data from the host side.
func (h *host) sharedGet(key string) ([]byte, uint32, error) {
	return proxywasm.GetSharedData(key)
}
