// Package perf measures lanedye: native decision cost, the built module's
// per-request cost in a wazero host beside reference plugins, host calls,
// size, memory pages and shared-data keys. The budget tests and the
// `make bench` report both use it, so the figures in the README and the
// asserted budgets come from the same code.
package perf

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/lanedye/lanedye/internal/config"
	"github.com/lanedye/lanedye/internal/gateway"
	"github.com/lanedye/lanedye/internal/propagation"
	"github.com/lanedye/lanedye/internal/rules"
	"github.com/lanedye/lanedye/internal/sidecar"
	"github.com/lanedye/lanedye/internal/wasmhost"
)

// Root is the repository root seen from this package's directory, where its
// tests run; the report runs from the root and passes ".".
const Root = "../.."

// ShippedGatewayConfig returns the pluginConfig of deploy/'s gateway
// WasmPlugin: the seed gray router's rules with signed sticky cookies, as
// users deploy it (no debug header).
func ShippedGatewayConfig(root string) ([]byte, error) {
	b, err := os.ReadFile(filepath.Join(root, "deploy", "plugins", "wasmplugin-gateway.yaml"))
	if err != nil {
		return nil, err
	}
	var wp struct {
		Spec struct {
			PluginConfig json.RawMessage `json:"pluginConfig"`
		}
	}
	if err := yaml.Unmarshal(b, &wp); err != nil {
		return nil, err
	}
	if len(wp.Spec.PluginConfig) == 0 {
		return nil, errors.New("no pluginConfig in the gateway WasmPlugin")
	}
	return wp.Spec.PluginConfig, nil
}

// ReadFile reads a file relative to the repository root.
func ReadFile(root, name string) ([]byte, error) { return os.ReadFile(filepath.Join(root, name)) }

// Browser returns the headers of a typical browser request to the seed
// application, plus extra.
func Browser(extra ...[2]string) [][2]string {
	hs := [][2]string{
		{":authority", "myapp.example.com"}, {":path", "/api/orders?page=2&sort=desc"},
		{":method", "GET"}, {":scheme", "https"},
		{"user-agent", "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"},
		{"accept", "application/json, text/plain, */*"}, {"accept-language", "zh-CN,zh;q=0.9,en;q=0.8"},
		{"accept-encoding", "gzip, deflate, br"}, {"referer", "https://myapp.example.com/orders"},
		{"x-forwarded-for", "203.0.113.7"}, {"x-forwarded-proto", "https"},
		{"x-request-id", "0f6c2b2e-3d0a-4f5e-9b7c-1a2b3c4d5e6f"}, {"x-envoy-external-address", "203.0.113.7"},
		{"traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"},
	}
	return append(hs, extra...)
}

// SidecarConfig is the sidecar configuration measured: deploy/'s keys and
// four ways.
const SidecarConfig = `{"role":"sidecar","lanes":["gray","dev-a"],
 "propagation":{"keys":["traceparent","x-request-id"],"ttl":60,"slots":8192,"ways":4},
 "fallback":{"services":{"checkout":["gray"],"payment":["gray","dev-a"]},"parents":{"dev-a":"gray"}}}`

// Inbound returns an inbound request carrying lane gray and correlation id i.
func Inbound(i int) [][2]string {
	return [][2]string{{":authority", "frontend:8000"}, {":path", "/"}, {":method", "GET"},
		{"x-swimlane", "gray"}, {"x-request-id", fmt.Sprintf("9d5a4a6c-1b2f-4c3d-8e9f-%012d", i)},
		{"user-agent", "Go-http-client/1.1"}, {"accept-encoding", "gzip"}}
}

// Outbound returns the application's call for correlation id i.
func Outbound(i int) [][2]string {
	return [][2]string{{":authority", "checkout:8000"}, {":path", "/"}, {":method", "GET"},
		{"x-request-id", fmt.Sprintf("9d5a4a6c-1b2f-4c3d-8e9f-%012d", i)},
		{"user-agent", "Go-http-client/1.1"}, {"accept-encoding", "gzip"}}
}

// DecideBenchmarks are the native gateway decision cases.
func DecideBenchmarks(cfg *config.Config) map[string][][2]string {
	cookie := "x-sticky-version=" + cfg.Sticky.SetCookie(1)[len("x-sticky-version="):len("x-sticky-version=")+46]
	return map[string][][2]string{
		"gateway/header-rule-first":     Browser([2]string{"x-gray-tag", "internal-test"}, [2]string{"x-gray-token", "secret-12345"}),
		"gateway/header-rule":           Browser([2]string{"x-user-region", "beijing"}),
		"gateway/cookie-rule":           Browser([2]string{"cookie", "a=1; beta2=on; c=3"}),
		"gateway/percentage-last-rule":  Browser([2]string{"x-user-id", "12345"}),
		"gateway/sticky-cookie":         Browser([2]string{"cookie", "_ga=GA1.2.3; " + cookie}),
		"gateway/no-match-all-20-rules": Browser([2]string{"cookie", "_ga=GA1.2.3; theme=dark"}),
	}
}

// Decide is the native benchmark of one gateway decision.
func Decide(cfg *config.Config, hs [][2]string) func(*testing.B) {
	return func(b *testing.B) {
		var r rules.Request
		b.ReportAllocs()
		for b.Loop() {
			r.Reset(cfg.Index, hs)
			_ = gateway.Decide(cfg, &r)
		}
	}
}

// SidecarInbound is the native benchmark of storing one id -> lane.
func SidecarInbound(cfg *config.Config) func(*testing.B) {
	return func(b *testing.B) {
		st := propagation.NewMemStore()
		reqs := make([][][2]string, 1024)
		for i := range reqs {
			reqs[i] = Inbound(i)
		}
		var r rules.Request
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			r.Reset(cfg.Index, reqs[i%len(reqs)])
			_ = sidecar.HandleInbound(cfg, &r, st, 1)
			i++
		}
	}
}

// SidecarOutbound is the native benchmark of restoring one lane.
func SidecarOutbound(cfg *config.Config) func(*testing.B) {
	return func(b *testing.B) {
		st := propagation.NewMemStore()
		reqs := make([][][2]string, 1024)
		var r rules.Request
		for i := range reqs {
			r.Reset(cfg.Index, Inbound(i))
			sidecar.HandleInbound(cfg, &r, st, 1)
			reqs[i] = Outbound(i)
		}
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			r.Reset(cfg.Index, reqs[i%len(reqs)])
			if !sidecar.HandleOutbound(cfg, &r, st, 2).Hit {
				b.Fatal("miss")
			}
			i++
		}
	}
}

// Stream is one request through an instance: its properties and headers.
type Stream struct {
	Props map[string][]byte
	Req   [][2]string
}

// Direction returns the listener_direction property.
func Direction(d uint64) map[string][]byte {
	b := make([]byte, 8)
	binary.LittleEndian.PutUint64(b, d)
	return map[string][]byte{"xds\x00listener_direction": b}
}

// Run sends one stream through in with the full lifecycle.
func Run(in *wasmhost.Instance, s Stream) (*wasmhost.Stream, error) {
	st, err := in.NewStream(s.Props)
	if err != nil {
		return nil, err
	}
	if _, err := st.RequestHeaders(append([][2]string(nil), s.Req...), true); err != nil {
		return nil, err
	}
	if _, err := st.ResponseHeaders([][2]string{{":status", "200"}, {"content-type", "application/json"}}, true); err != nil {
		return nil, err
	}
	return st, st.Done()
}

// Cost is the measured per-request cost of a workload in the harness.
type Cost struct {
	NsPerRequest float64            `json:"ns_per_request"`
	HostCalls    map[string]float64 `json:"host_calls_per_request"`
	DataCalls    float64            `json:"data_returning_calls_per_request"`
}

// Measure runs warm streams, then n measured ones (gen(i) for i in
// [warm, warm+n)), and returns the per-request cost and host calls.
func Measure(in *wasmhost.Instance, gen func(i int) []Stream, warm, n int) (Cost, error) {
	for i := 0; i < warm; i++ {
		for _, s := range gen(i) {
			if _, err := Run(in, s); err != nil {
				return Cost{}, err
			}
		}
	}
	in.ResetHostCalls()
	start := time.Now()
	for i := warm; i < warm+n; i++ {
		for _, s := range gen(i) {
			if _, err := Run(in, s); err != nil {
				return Cost{}, err
			}
		}
	}
	el := time.Since(start)
	c := Cost{NsPerRequest: float64(el.Nanoseconds()) / float64(n), HostCalls: map[string]float64{}, DataCalls: float64(in.DataCalls) / float64(n)}
	for k, v := range in.HostCalls {
		c.HostCalls[k] = float64(v) / float64(n)
	}
	return c, nil
}

// GatewayStreams is the gateway workload: browser requests of 1000 users,
// dyed by the seed's user-id tail or percentage rule or left in the default
// lane.
func GatewayStreams(i int) []Stream {
	return []Stream{{Req: Browser([2]string{"x-user-id", fmt.Sprint(10000 + i%1000)})}}
}

// SidecarStreams is one hop through a sidecar: the inbound request for id i,
// then the application's outbound call.
func SidecarStreams(i int) []Stream {
	return []Stream{{Props: Direction(1), Req: Inbound(i)}, {Props: Direction(2), Req: Outbound(i)}}
}

// InitialPages reads the initial linear memory size (in 64 KiB pages) that a
// module declares, from its memory section or a memory import.
func InitialPages(wasm []byte) (uint32, error) {
	if len(wasm) < 8 || string(wasm[:4]) != "\x00asm" {
		return 0, errors.New("not a wasm module")
	}
	p := 8
	for p < len(wasm) {
		id := wasm[p]
		size, n := uleb(wasm[p+1:])
		body := p + 1 + n
		if n == 0 || body+int(size) > len(wasm) {
			return 0, errors.New("truncated section")
		}
		sec := wasm[body : body+int(size)]
		switch id {
		case 5: // memory: vec(limits)
			if count, n := uleb(sec); count > 0 && n > 0 {
				return limitsMin(sec[n:])
			}
		case 2: // import: vec(module name, field name, kind, desc)
			count, q := uleb(sec)
			for i := 0; i < int(count); i++ {
				for j := 0; j < 2; j++ {
					l, n := uleb(sec[q:])
					q += n + int(l)
				}
				kind := sec[q]
				q++
				if kind == 2 {
					return limitsMin(sec[q:])
				}
				switch kind {
				case 0: // function: type index
					_, n := uleb(sec[q:])
					q += n
				case 1: // table: reftype, limits
					flag := sec[q+1]
					_, n := uleb(sec[q+2:])
					q += 2 + n
					if flag&1 != 0 {
						_, n = uleb(sec[q:])
						q += n
					}
				case 3: // global: valtype, mutability
					q += 2
				}
			}
		}
		p = body + int(size)
	}
	return 0, errors.New("no memory")
}

func limitsMin(b []byte) (uint32, error) {
	if len(b) < 2 {
		return 0, errors.New("truncated limits")
	}
	v, n := uleb(b[1:])
	if n == 0 {
		return 0, errors.New("bad limits")
	}
	return uint32(v), nil
}

func uleb(b []byte) (uint64, int) {
	var v uint64
	for i := 0; i < len(b) && i < 10; i++ {
		v |= uint64(b[i]&0x7f) << (7 * i)
		if b[i]&0x80 == 0 {
			return v, i + 1
		}
	}
	return 0, 0
}

// Instance compiles wasm and starts one instance with cfg.
func Instance(ctx context.Context, wasm, cfg []byte) (*wasmhost.Module, *wasmhost.Instance, error) {
	m, err := wasmhost.Compile(ctx, wasm)
	if err != nil {
		return nil, nil, err
	}
	in, err := m.NewInstance(ctx, cfg)
	if err != nil {
		m.Close(ctx)
		return nil, nil, err
	}
	return m, in, nil
}

// Soak runs gen's streams for i in [0, n) and records linear memory pages at
// every checkpoint (a request count).
func Soak(in *wasmhost.Instance, gen func(i int) []Stream, n int, checkpoints ...int) (map[int]uint32, error) {
	out := map[int]uint32{}
	next := 0
	for i := 0; i < n; i++ {
		for _, s := range gen(i) {
			if _, err := Run(in, s); err != nil {
				return nil, err
			}
		}
		if next < len(checkpoints) && i+1 == checkpoints[next] {
			out[checkpoints[next]] = in.MemoryPages()
			next++
		}
	}
	return out, nil
}
