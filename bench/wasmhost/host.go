// Package wasmhost is a small instrumented Proxy-Wasm host on wazero, with
// Envoy's semantics where lanedye depends on them. Real Envoy is the truth
// for behaviour (the end-to-end tests run there); this host exists for what
// Envoy cannot give a test: deterministic budgets (host calls per request,
// linear memory pages, shared-data keys, per-request cost without machine
// noise) for bench/ and make bench, and host calls that fail on demand (Fail),
// which plugin/'s tests use to show that routing fails open and
// anti-spoofing fails closed, and CAS conflicts on demand (CASConflicts).
// Nothing else uses it.
//
// What it emulates, as Envoy does:
//   - one VM per Instance, with one root (plugin) context configured through
//     proxy_on_vm_start, proxy_on_context_create and proxy_on_configure;
//   - the HTTP stream lifecycle: proxy_on_context_create, request headers,
//     response headers, proxy_on_log, proxy_on_done, proxy_on_delete;
//   - header maps: get pairs, replace (first occurrence, or add), add (a new
//     entry), remove (every occurrence);
//   - shared data per Instance (an Envoy vm_id): CAS tokens starting at 1,
//     cas 0 writes unconditionally, a stale token is CasMismatch;
//   - properties by path (whatever the caller sets per stream, e.g.
//     "xds\x00listener_direction"), counters, logs, the plugin configuration buffer, the tick
//     period (ticks are delivered by calling Tick);
//   - WASI with the real clock and random source.
//
// What it does not: bodies, trailers, timer-driven ticks, queues, HTTP callouts, gRPC,
// foreign functions, and network filters (those imports are not in lanedye's
// module; instantiation fails loudly if a future module imports them).
package wasmhost

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
)

// Proxy-Wasm ABI values used here.
const (
	statusOK          = 0
	statusNotFound    = 1
	statusBadArgument = 2
	statusCasMismatch = 8

	statusInternalFailure = 10

	mapRequestHeaders  = 0
	mapResponseHeaders = 2

	bufferPluginConfiguration = 7
)

// Log levels.
const (
	LogTrace = iota
	LogDebug
	LogInfo
	LogWarn
	LogError
	LogCritical
)

// Module is a compiled plugin. Compiling is the expensive step; every
// Instance of a Module shares it.
type Module struct {
	rt        wazero.Runtime
	compiled  wazero.CompiledModule
	instances sync.Map // module name -> *Instance
	seq       atomic.Uint64
}

// Compile compiles a Proxy-Wasm module.
func Compile(ctx context.Context, wasm []byte) (*Module, error) {
	rt := wazero.NewRuntime(ctx)
	m := &Module{rt: rt}
	if _, err := wasi_snapshot_preview1.Instantiate(ctx, rt); err != nil {
		rt.Close(ctx)
		return nil, err
	}
	if err := m.exportHost(ctx); err != nil {
		rt.Close(ctx)
		return nil, err
	}
	c, err := rt.CompileModule(ctx, wasm)
	if err != nil {
		rt.Close(ctx)
		return nil, err
	}
	m.compiled = c
	return m, nil
}

// Exports says whether the module exports a function of that name.
func (m *Module) Exports(name string) bool { return m.compiled.ExportedFunctions()[name] != nil }

// Close releases the runtime and every Instance.
func (m *Module) Close(ctx context.Context) error { return m.rt.Close(ctx) }

// Instance is one VM with one configured plugin: one Envoy vm_id's worth of
// shared data, counters and logs.
type Instance struct {
	m      *Module
	mod    api.Module
	alloc  api.Function
	calls  guestABI
	mu     sync.Mutex
	ctx    context.Context
	config []byte
	root   uint32
	nextID uint32

	shared   map[string]sharedEntry
	metricID map[string]uint32
	metrics  []metric
	logs     []Log
	current  *Stream
	streams  map[uint32]*Stream

	// Fail names imports that answer with an error, to test how the plugin
	// copes with a host refusing a call.
	Fail map[string]bool
	// CASConflicts makes that many next proxy_set_shared_data calls answer
	// CasMismatch, as when a writer on another worker got there first.
	CASConflicts int

	// TickPeriodMillis is what the plugin asked for; Tick delivers ticks.
	TickPeriodMillis uint32

	// HostCalls counts host calls by import name; DataCalls counts those that
	// return data to the guest (each costs a re-entrant allocation).
	HostCalls map[string]uint64
	DataCalls uint64
}

type guestABI struct {
	onContextCreate, onRequestHeaders, onResponseHeaders, onLog, onDone, onDelete api.Function
}

type sharedEntry struct {
	value []byte
	cas   uint32
}

type metric struct {
	name  string
	kind  uint32
	value uint64
}

// Log is one proxy_log call.
type Log struct {
	Level   int
	Message string
}

// maxLogs bounds the kept log lines; older ones are dropped.
const maxLogs = 1000

// ErrStartFailed is returned when proxy_on_configure rejects the configuration.
var ErrStartFailed = errors.New("plugin start failed")

// NewInstance instantiates the module and configures its root context with
// pluginConfig, as Envoy does when it loads a filter configuration.
func (m *Module) NewInstance(ctx context.Context, pluginConfig []byte) (*Instance, error) {
	name := fmt.Sprintf("lanedye-%d", m.seq.Add(1))
	in := &Instance{
		m: m, ctx: ctx, config: pluginConfig, root: 1, nextID: 2,
		shared: map[string]sharedEntry{}, metricID: map[string]uint32{},
		streams: map[uint32]*Stream{}, HostCalls: map[string]uint64{},
	}
	m.instances.Store(name, in)
	cfg := wazero.NewModuleConfig().WithName(name).
		WithStartFunctions("_initialize").
		WithSysWalltime().WithSysNanotime().WithSysNanosleep().
		WithRandSource(rand.Reader).
		WithStdout(io.Discard).WithStderr(io.Discard)
	mod, err := m.rt.InstantiateModule(ctx, m.compiled, cfg)
	if err != nil {
		m.instances.Delete(name)
		return nil, err
	}
	in.mod = mod
	// As proxy-wasm-cpp-host: a module's malloc export comes first.
	if in.alloc = mod.ExportedFunction("malloc"); in.alloc == nil {
		in.alloc = mod.ExportedFunction("proxy_on_memory_allocate")
	}
	in.calls = guestABI{
		onContextCreate:   mod.ExportedFunction("proxy_on_context_create"),
		onRequestHeaders:  mod.ExportedFunction("proxy_on_request_headers"),
		onResponseHeaders: mod.ExportedFunction("proxy_on_response_headers"),
		onLog:             mod.ExportedFunction("proxy_on_log"),
		onDone:            mod.ExportedFunction("proxy_on_done"),
		onDelete:          mod.ExportedFunction("proxy_on_delete"),
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	if r, err := mod.ExportedFunction("proxy_on_vm_start").Call(ctx, 0, 0); err != nil || r[0] != 1 {
		return nil, fmt.Errorf("proxy_on_vm_start: %v %w", r, err)
	}
	if _, err := in.calls.onContextCreate.Call(ctx, uint64(in.root), 0); err != nil {
		return nil, err
	}
	r, err := mod.ExportedFunction("proxy_on_configure").Call(ctx, uint64(in.root), uint64(len(pluginConfig)))
	if err != nil {
		return nil, err
	}
	if r[0] != 1 {
		return in, fmt.Errorf("%w: %s", ErrStartFailed, strings.Join(in.logsAt(LogCritical), "; "))
	}
	return in, nil
}

// Close ends the VM.
func (in *Instance) Close() error {
	in.m.instances.Delete(in.mod.Name())
	return in.mod.Close(in.ctx)
}

// Stream is one HTTP stream through the plugin.
type Stream struct {
	in  *Instance
	id  uint32
	Req [][2]string // request headers, as the plugin left them
	Rsp [][2]string // response headers, as the plugin left them
	// Props are the properties the plugin can read on this stream, keyed by
	// path segments joined with "\x00" (e.g. "listener_direction").
	Props map[string][]byte
}

// NewStream creates an HTTP context in the plugin.
func (in *Instance) NewStream(props map[string][]byte) (*Stream, error) {
	in.mu.Lock()
	defer in.mu.Unlock()
	s := &Stream{in: in, id: in.nextID, Props: props}
	in.nextID++
	in.streams[s.id] = s
	in.current = s
	_, err := in.calls.onContextCreate.Call(in.ctx, uint64(s.id), uint64(in.root))
	return s, err
}

// RequestHeaders runs proxy_on_request_headers over headers (names must be
// lower-case, pseudo-headers included, as Envoy delivers them) and returns
// the action.
func (s *Stream) RequestHeaders(headers [][2]string, endOfStream bool) (uint32, error) {
	s.Req = headers
	return s.call(s.in.calls.onRequestHeaders, uint64(len(headers)), boolArg(endOfStream))
}

// ResponseHeaders runs proxy_on_response_headers.
func (s *Stream) ResponseHeaders(headers [][2]string, endOfStream bool) (uint32, error) {
	s.Rsp = headers
	return s.call(s.in.calls.onResponseHeaders, uint64(len(headers)), boolArg(endOfStream))
}

// Done ends the stream as Envoy does: proxy_on_log, proxy_on_done,
// proxy_on_delete. After Done the guest holds nothing for the stream.
func (s *Stream) Done() error {
	if _, err := s.call(s.in.calls.onLog); err != nil {
		return err
	}
	if _, err := s.call(s.in.calls.onDone); err != nil {
		return err
	}
	_, err := s.call(s.in.calls.onDelete)
	s.in.mu.Lock()
	delete(s.in.streams, s.id)
	s.in.mu.Unlock()
	return err
}

func (s *Stream) call(f api.Function, args ...uint64) (uint32, error) {
	in := s.in
	in.mu.Lock()
	defer in.mu.Unlock()
	in.current = s
	r, err := f.Call(in.ctx, append([]uint64{uint64(s.id)}, args...)...)
	if err != nil || len(r) == 0 {
		return 0, err
	}
	return uint32(r[0]), nil
}

func boolArg(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}

// Tick runs proxy_on_tick on the root context, as Envoy does every
// TickPeriodMillis; lanedye hands its counts to the host then.
func (in *Instance) Tick() error {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.current = nil
	_, err := in.mod.ExportedFunction("proxy_on_tick").Call(in.ctx, uint64(in.root))
	return err
}

// Counter returns a counter's value by name.
func (in *Instance) Counter(name string) (uint64, bool) {
	in.mu.Lock()
	defer in.mu.Unlock()
	id, ok := in.metricID[name]
	if !ok {
		return 0, false
	}
	return in.metrics[id].value, true
}

// Logs returns the kept log lines at a level.
func (in *Instance) Logs(level int) []string {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.logsAt(level)
}

func (in *Instance) logsAt(level int) []string {
	var out []string
	for _, l := range in.logs {
		if l.Level == level {
			out = append(out, l.Message)
		}
	}
	return out
}

// SharedKeys returns the number of shared-data keys.
func (in *Instance) SharedKeys() int {
	in.mu.Lock()
	defer in.mu.Unlock()
	return len(in.shared)
}

// SharedKeyNames returns the shared-data keys.
func (in *Instance) SharedKeyNames() []string {
	in.mu.Lock()
	defer in.mu.Unlock()
	out := make([]string, 0, len(in.shared))
	for k := range in.shared {
		out = append(out, k)
	}
	return out
}

// MemoryPages returns the guest's linear memory size in 64 KiB pages.
func (in *Instance) MemoryPages() uint32 { return in.mod.Memory().Size() / 65536 }

// LiveStreams returns the streams created and not yet Done.
func (in *Instance) LiveStreams() int {
	in.mu.Lock()
	defer in.mu.Unlock()
	return len(in.streams)
}

// ResetHostCalls zeroes the host call counters.
func (in *Instance) ResetHostCalls() {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.HostCalls = map[string]uint64{}
	in.DataCalls = 0
}

// SerializeMap encodes headers in the Proxy-Wasm map format.
func SerializeMap(hs [][2]string) []byte {
	size := 4
	for _, h := range hs {
		size += 8 + len(h[0]) + len(h[1]) + 2
	}
	b := make([]byte, size)
	binary.LittleEndian.PutUint32(b, uint32(len(hs)))
	p := 4
	for _, h := range hs {
		binary.LittleEndian.PutUint32(b[p:], uint32(len(h[0])))
		binary.LittleEndian.PutUint32(b[p+4:], uint32(len(h[1])))
		p += 8
	}
	for _, h := range hs {
		p += copy(b[p:], h[0]) + 1
		p += copy(b[p:], h[1]) + 1
	}
	return b
}
