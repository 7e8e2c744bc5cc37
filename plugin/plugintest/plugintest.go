// Package plugintest runs the plugin's behaviour tests twice through one
// helper: natively, against the module's Go code in the SDK's host
// emulator, for fast debuggable runs; and against the built module of the
// role (build/lanedye-<role>.wasm) loaded by the SDK's wazero-based
// proxytest.NewWasmVMContext, which is what Envoy loads. A missing module
// is a failure, never a skip: a green run must mean the artifact was
// tested. Tests only; the modules do not link it.
package plugintest

import (
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

// Root is the repository root seen from a module's package directory
// (plugin/gateway, plugin/sidecar), where its tests run.
const Root = "../.."

// Module is one built module and its Go code.
type Module struct {
	// File is the module's file under build/ (lanedye-gateway.wasm);
	// LANEDYE_<ROLE>_WASM overrides its path.
	File string
	// Native returns the module's VM context running natively with the
	// clock now (milliseconds since the Unix epoch).
	Native func(now func() int64) types.VMContext

	once sync.Once
	vm   proxytest.WasmVMContext
	err  error
}

// Path is where the module is read from.
func (m *Module) Path() string {
	env := "LANEDYE_" + strings.ToUpper(strings.TrimSuffix(strings.TrimPrefix(m.File, "lanedye-"), ".wasm")) + "_WASM"
	if p := os.Getenv(env); p != "" {
		return p
	}
	return filepath.Join(Root, "build", m.File)
}

// Wasm returns the built module in the SDK's wazero host, compiled once per
// test binary (it takes seconds); each test still gets a fresh host
// emulator and a fresh plugin context, so no plugin state crosses tests.
func (m *Module) Wasm(t *testing.T) types.VMContext {
	t.Helper()
	m.once.Do(func() {
		wasm, err := os.ReadFile(m.Path())
		if err != nil {
			m.err = err
			return
		}
		m.vm, m.err = proxytest.NewWasmVMContext(wasm)
	})
	if m.err != nil {
		t.Fatalf("the module is required (run make build): %v", m.err)
	}
	return m.vm
}

// VMTest runs f natively and against the built module.
func (m *Module) VMTest(t *testing.T, f func(*testing.T, types.VMContext)) {
	t.Helper()
	t.Run("native", func(t *testing.T) { f(t, m.Native(RealNow)) })
	t.Run("wasm", func(t *testing.T) { f(t, m.Wasm(t)) })
}

// ClockTest runs f natively with a fake clock. The built module cannot
// take one: the SDK's wazero wrapper gives it a WASI clock nobody can set,
// so what the module does with time is checked in real Envoy (e2e/).
func (m *Module) ClockTest(t *testing.T, f func(*testing.T, types.VMContext, *Clock)) {
	t.Helper()
	c := &Clock{At: time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)}
	t.Run("native, fake clock", func(t *testing.T) { f(t, m.Native(c.Now), c) })
}

// RealNow is the clock of native runs.
func RealNow() int64 { return time.Now().UnixMilli() }

// Clock is a fake clock a test moves forward.
type Clock struct{ At time.Time }

// Now reads the clock.
func (c *Clock) Now() int64 { return c.At.UnixMilli() }

// Advance moves the clock.
func (c *Clock) Advance(d time.Duration) { c.At = c.At.Add(d) }

// Host is a started plugin in the SDK's host emulator.
type Host struct {
	proxytest.HostEmulator
	T     *testing.T
	reset func()
}

// Close releases the process-wide emulator; the next plugin can start only
// after it. It runs at the end of the test at the latest.
func (h *Host) Close() {
	if h.reset != nil {
		h.reset()
		h.reset = nil
	}
}

// StartPlugin starts the plugin with a configuration (and host
// properties) and fails the test unless it starts.
func StartPlugin(t *testing.T, vm types.VMContext, cfg string, props ...Property) *Host {
	t.Helper()
	h, status := TryStart(t, vm, cfg, props...)
	if status != types.OnPluginStartStatusOK {
		t.Fatalf("plugin did not start: %q", h.GetCriticalLogs())
	}
	return h
}

// Property is a host property a plugin reads at start, e.g. the path
// "xds", "node", "metadata", "LABELS", "lanedye.io/lane".
type Property struct {
	Path  []string
	Value string
}

// TryStart starts the plugin, with the host properties given, and returns
// the start status.
func TryStart(t *testing.T, vm types.VMContext, cfg string, props ...Property) (*Host, types.OnPluginStartStatus) {
	t.Helper()
	opt := proxytest.NewEmulatorOption().WithVMContext(vm).WithPluginConfiguration([]byte(cfg))
	for _, p := range props {
		opt = opt.WithProperty(p.Path, []byte(p.Value))
	}
	emu, reset := proxytest.NewHostEmulator(opt)
	h := &Host{HostEmulator: emu, T: t, reset: reset}
	t.Cleanup(h.Close)
	if emu.StartVM() != types.OnVMStartStatusOK {
		t.Fatal("VM did not start")
	}
	return h, emu.StartPlugin()
}

// FailsToStart starts the plugin with cfg and wants the start to fail with
// a critical log that names path (a bad configuration's JSON path).
func FailsToStart(t *testing.T, vm types.VMContext, cfg, path string) {
	t.Helper()
	h, status := TryStart(t, vm, cfg)
	defer h.Close()
	if status != types.OnPluginStartStatusFailed {
		t.Fatal("plugin started with a bad configuration")
	}
	if logs := strings.Join(h.GetCriticalLogs(), "\n"); !strings.Contains(logs, path) {
		t.Errorf("critical log %.200q does not name %q", logs, path)
	}
}

// Exchange is one request/response through the plugin.
type Exchange struct {
	Req  [][2]string // request headers as the upstream sees them
	Resp [][2]string // response headers as the client sees them
}

// Do sends request headers through the plugin, then upstream response
// headers back, and returns what each side sees. The emulator removes one
// occurrence of a header per call where Envoy removes all, so requests
// here carry each header the plugin writes at most once; sending one twice
// is tested in bench/wasmhost and in Envoy.
func (h *Host) Do(reqHeaders [][2]string, upstreamResp ...[2]string) Exchange {
	h.T.Helper()
	id := h.InitializeHttpContext()
	if a := h.CallOnRequestHeaders(id, reqHeaders, false); a != types.ActionContinue {
		h.T.Fatalf("request headers: action %v", a)
	}
	var ex Exchange
	ex.Req = h.GetCurrentRequestHeaders(id)
	resp := append([][2]string{{":status", "200"}}, upstreamResp...)
	if a := h.CallOnResponseHeaders(id, resp, false); a != types.ActionContinue {
		h.T.Fatalf("response headers: action %v", a)
	}
	ex.Resp = h.GetCurrentResponseHeaders(id)
	h.CompleteHttpContext(id)
	return ex
}

// Counter returns a counter's value, failing the test if it is not defined.
// It ticks first: the plugin hands its counts to the host on every tick.
func (h *Host) Counter(name string) uint64 {
	h.T.Helper()
	h.Tick()
	v, err := h.GetCounterMetric(name)
	if err != nil {
		h.T.Fatalf("counter %s: %v", name, err)
	}
	return v
}

// SharedGet reads shared data from the host side.
func (h *Host) SharedGet(key string) ([]byte, uint32, error) {
	return proxywasm.GetSharedData(key)
}

// Get returns all values of a header.
func Get(hs [][2]string, name string) []string {
	var out []string
	for _, h := range hs {
		if strings.EqualFold(h[0], name) {
			out = append(out, h[1])
		}
	}
	return out
}

// One returns the single value of a header, or "" when absent; more than
// one value is a test failure.
func One(t *testing.T, hs [][2]string, name string) string {
	t.Helper()
	vs := Get(hs, name)
	switch len(vs) {
	case 0:
		return ""
	case 1:
		return vs[0]
	}
	t.Fatalf("header %s appears %d times: %q", name, len(vs), vs)
	return ""
}

// Req builds request headers for GET path on authority with extra headers.
func Req(authority, path string, kv ...string) [][2]string {
	hs := [][2]string{{":method", "GET"}, {":authority", authority}, {":path", path}, {":scheme", "http"}}
	for i := 0; i+1 < len(kv); i += 2 {
		hs = append(hs, [2]string{kv[i], kv[i+1]})
	}
	return hs
}

// Fixture reads a file from the repository's testdata directory.
func Fixture(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(Root, "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
