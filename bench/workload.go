// Package bench measures lanedye: native decision cost, the built module's
// per-request cost in an instrumented wazero host (bench/wasmhost) beside
// reference plugins, host calls, size, memory pages and shared-data keys.
// Its tests assert the deterministic budgets; `make bench` (cmd/bench) writes
// the figures. Both use this package, so what docs/performance.md reports
// and what the tests assert come from the same code. It is measurement code,
// not the product: nothing under internal/ or plugin/ imports it.
package bench

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/lanedye/lanedye/internal/sticky"
	"github.com/lanedye/lanedye/internal/testfixture"
)

// Root is the repository root seen from this package's directory, where its
// tests run; the report runs from the root and passes ".".
const Root = ".."

// ShippedGatewayConfig is the gateway configuration deploy/ ships, as
// measured (testfixture.ShippedGatewayConfig).
func ShippedGatewayConfig(root string) ([]byte, error) { return testfixture.ShippedGatewayConfig(root) }

// ReadFile reads a file relative to the repository root.
func ReadFile(root, name string) ([]byte, error) { return os.ReadFile(filepath.Join(root, name)) }

// Browser is a browser-like request (testfixture.Browser).
func Browser(extra ...[2]string) [][2]string { return testfixture.Browser(extra...) }

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
