// Package perf measures lanedye: native decision cost, the built module's
// per-request cost in an instrumented wazero host beside reference plugins,
// host calls, size, memory pages and shared-data keys. The budget tests and
// `make bench` (internal/perf/report) both use it, so the figures in the
// README and the asserted budgets come from the same code.
package perf

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"

	"github.com/lanedye/lanedye/e2e/mesh"

	"github.com/lanedye/lanedye/internal/sticky"
)

// Root is the repository root seen from this package's directory, where its
// tests run; the report runs from the root and passes ".".
const Root = "../.."

// ShippedGatewayConfig returns the pluginConfig of deploy/'s gateway
// WasmPlugin: the seed gray router's rules with signed sticky cookies, as
// users deploy it (no debug header). The sticky key, which Envoy's VM takes
// from its environment (sticky.secret_env), is put inline: the wazero host
// gives the module no environment, and where the key comes from costs
// nothing per request.
func ShippedGatewayConfig(root string) ([]byte, error) {
	topo, err := mesh.LoadTopology(root)
	if err != nil {
		return nil, err
	}
	cfg := topo.Gateway
	if name := gjson.GetBytes(cfg, "sticky.secret_env"); name.Exists() {
		key, ok := topo.GatewayEnv[name.Str]
		if !ok {
			return nil, errors.New("deploy/ does not provide " + name.Str)
		}
		if cfg, err = sjson.DeleteBytes(cfg, "sticky.secret_env"); err != nil {
			return nil, err
		}
		if cfg, err = sjson.SetBytes(cfg, "sticky.secret", key); err != nil {
			return nil, err
		}
	}
	return cfg, nil
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

// DecideCases are the native gateway decision cases for
// testdata/bench-gateway.json, whose sticky secret is secret.
func DecideCases(secret string) map[string][][2]string {
	cookie := "x-sticky-version=" + sticky.Sign([]byte(secret), "v2", BenchNow+86400)
	return map[string][][2]string{
		"gateway/header-rule-first":     Browser([2]string{"x-gray-tag", "internal-test"}, [2]string{"x-gray-token", "secret-12345"}),
		"gateway/header-rule":           Browser([2]string{"x-user-region", "beijing"}),
		"gateway/cookie-rule":           Browser([2]string{"cookie", "a=1; beta2=on; c=3"}),
		"gateway/percentage-last-rule":  Browser([2]string{"x-user-id", "12345"}),
		"gateway/sticky-cookie":         Browser([2]string{"cookie", "_ga=GA1.2.3; " + cookie}),
		"gateway/no-match-all-20-rules": Browser([2]string{"cookie", "_ga=GA1.2.3; theme=dark"}),
	}
}

// BenchNow is the time (Unix seconds) the native benchmarks decide at.
const BenchNow = 1_800_000_000

// BenchSecret is the sticky secret of testdata/bench-gateway.json.
const BenchSecret = "change-me-to-32-random-bytes!!!!"

// GatewayStreams is the gateway workload: browser requests of 1000 users,
// dyed by the seed's user-id tail or percentage rule or left in the default
// lane.
func GatewayStreams(i int) []Stream {
	return []Stream{{Props: ClientAddress(), Req: Browser([2]string{"x-user-id", fmt.Sprint(10000 + i%1000)})}}
}

// ClientAddress is the source.address Envoy gives every stream: a client
// outside the shipped configuration's trusted office network.
func ClientAddress() map[string][]byte {
	return map[string][]byte{"source\x00address": []byte("203.0.113.7:51234")}
}

// SidecarStreams is one hop through a sidecar: the inbound request for id i,
// then the application's outbound call.
func SidecarStreams(i int) []Stream {
	return []Stream{{Props: Direction(1), Req: Inbound(i)}, {Props: Direction(2), Req: Outbound(i)}}
}
