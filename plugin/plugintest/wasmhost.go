package plugintest

import (
	"context"
	"encoding/binary"
	"os"
	"sync"
	"testing"

	"github.com/lanedye/lanedye/bench/wasmhost"
)

// The instrumented host of bench/wasmhost, for what neither Envoy nor the
// SDK's emulator can show a test: host calls that fail on demand, the
// module's own malloc export and the header buffer behind it,
// proxy_on_done/proxy_on_delete (which the emulator's wasm wrapper never
// calls), and Envoy's remove (every occurrence of a header).

var hosted struct {
	sync.Mutex
	m map[string]*wasmhost.Module
}

// Hosted compiles the built module once per test binary for
// bench/wasmhost.
func (m *Module) Hosted(t *testing.T) *wasmhost.Module {
	t.Helper()
	hosted.Lock()
	defer hosted.Unlock()
	if c, ok := hosted.m[m.File]; ok {
		return c
	}
	wasm, err := os.ReadFile(m.Path())
	if err != nil {
		t.Fatalf("the module is required (run make build): %v", err)
	}
	c, err := wasmhost.Compile(context.Background(), wasm)
	if err != nil {
		t.Fatal(err)
	}
	if hosted.m == nil {
		hosted.m = map[string]*wasmhost.Module{}
	}
	hosted.m[m.File] = c
	return c
}

// Direction is the listener_direction property of a stream (1 inbound, 2
// outbound).
func Direction(d uint64) map[string][]byte {
	b := make([]byte, 8)
	binary.LittleEndian.PutUint64(b, d)
	return map[string][]byte{"xds\x00listener_direction": b}
}

// Run sends one stream through in with the full lifecycle.
func Run(t *testing.T, in *wasmhost.Instance, props map[string][]byte, req [][2]string, rsp [][2]string) *wasmhost.Stream {
	t.Helper()
	s, err := in.NewStream(props)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.RequestHeaders(req, true); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ResponseHeaders(rsp, true); err != nil {
		t.Fatal(err)
	}
	if err := s.Done(); err != nil {
		t.Fatal(err)
	}
	return s
}

// HostCounter flushes the instance's counters and returns one.
func HostCounter(t *testing.T, in *wasmhost.Instance, name string) uint64 {
	t.Helper()
	if err := in.Tick(); err != nil {
		t.Fatal(err)
	}
	v, _ := in.Counter(name)
	return v
}
