// Package e2e runs lanedye end to end: a loopback mesh of proxies executing
// build/lanedye.wasm (always), real Envoy (e2e/envoy, when installed) and a
// kind cluster with Istio (e2e/istio, by hand).
package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/lanedye/lanedye/e2e/mesh"
)

func startMesh(t *testing.T, forward mesh.Forwarding) *mesh.Mesh {
	t.Helper()
	wasm, err := os.ReadFile(filepath.Join("..", "build", "lanedye.wasm"))
	if err != nil {
		t.Fatalf("the wasm artifact is required (run make build): %v", err)
	}
	topo, err := mesh.LoadTopology("..")
	if err != nil {
		t.Fatal(err)
	}
	m, err := mesh.Start(context.Background(), wasm, topo, forward)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	return m
}

// client sends requests to the gateway for myapp.example.com as a browser
// would; with traceparent it starts a new trace per request, as an
// instrumented front end does.
type client struct {
	t           *testing.T
	m           *mesh.Mesh
	http        *http.Client
	traceparent bool
}

func newClient(t *testing.T, m *mesh.Mesh, forward mesh.Forwarding) *client {
	jar, _ := cookiejar.New(nil)
	hc := m.Client()
	hc.Jar = jar
	return &client{t: t, m: m, http: hc, traceparent: forward == mesh.ForwardTraceparent}
}

func (c *client) get(path string, kv ...string) ([]mesh.Hop, *http.Response, error) {
	req, _ := http.NewRequest(http.MethodGet, c.m.GatewayURL+path, nil)
	req.Host = "myapp.example.com"
	for i := 0; i+1 < len(kv); i += 2 {
		req.Header.Add(kv[i], kv[i+1])
	}
	if c.traceparent {
		req.Header.Set("traceparent", mesh.NewTraceparent())
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, resp, fmt.Errorf("status %d", resp.StatusCode)
	}
	var hops []mesh.Hop
	err = json.NewDecoder(resp.Body).Decode(&hops)
	return hops, resp, err
}

func path(hops []mesh.Hop) string {
	var parts []string
	for _, h := range hops {
		parts = append(parts, h.Service+"-"+h.Version)
	}
	return strings.Join(parts, " > ")
}

const (
	grayPath = "frontend-gray > checkout-base > payment-gray"
	basePath = "frontend-base > checkout-base > payment-base"
)

func TestMesh(t *testing.T) {
	for _, fwd := range []mesh.Forwarding{mesh.ForwardRequestID, mesh.ForwardTraceparent} {
		t.Run("apps forward "+string(fwd), func(t *testing.T) {
			m := startMesh(t, fwd)
			expect := func(c *client, want, name, p string, kv ...string) *http.Response {
				t.Helper()
				hops, resp, err := c.get(p, kv...)
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				if got := path(hops); got != want {
					t.Errorf("%s: %s, want %s", name, got, want)
				}
				return resp
			}

			t.Run("dyed by rule, through a service without gray", func(t *testing.T) {
				expect(newClient(t, m, fwd), grayPath, "x-user-id 12340", "/", "x-user-id", "12340")
			})
			t.Run("undyed", func(t *testing.T) {
				expect(newClient(t, m, fwd), basePath, "no rule", "/")
			})
			t.Run("sticky cookie round trip", func(t *testing.T) {
				c := newClient(t, m, fwd)
				resp := expect(c, grayPath, "first request", "/", "x-user-id", "12341")
				if len(resp.Cookies()) != 1 || resp.Cookies()[0].Name != "x-sticky-version" {
					t.Fatalf("cookies %v", resp.Cookies())
				}
				// The jar sends the cookie; nothing else dyes the request.
				resp = expect(c, grayPath, "second request, cookie only", "/orders")
				if len(resp.Cookies()) != 0 {
					t.Errorf("cookie re-issued: %v", resp.Cookies())
				}
			})
			t.Run("forged cookie and spoofed header", func(t *testing.T) {
				c := newClient(t, m, fwd)
				expect(c, basePath, "forged cookie", "/", "cookie", "x-sticky-version=gray.Zm9yZ2Vk")
				expect(c, basePath, "unsigned cookie", "/", "cookie", "x-sticky-version=gray")
				expect(c, basePath, "spoofed lane header", "/", "x-swimlane", "gray")
				expect(c, basePath, "spoofed route header", "/", "x-lane-route", "gray")
			})
			t.Run("application forwards no id", func(t *testing.T) {
				// The documented limit: without a correlation id the lane is
				// lost after the first hop.
				expect(newClient(t, m, fwd), "frontend-gray > checkout-base > payment-base", "forward=none", "/?forward=none", "x-user-id", "12340")
			})
			t.Run("200 concurrent mixed-lane requests", func(t *testing.T) {
				var wg sync.WaitGroup
				var mu sync.Mutex
				mixups := 0
				for i := 0; i < 200; i++ {
					wg.Add(1)
					go func(i int) {
						defer wg.Done()
						c := newClient(t, m, fwd)
						var kv []string
						want := basePath
						if i%2 == 0 {
							kv, want = []string{"x-user-region", "beijing"}, grayPath
						}
						hops, _, err := c.get(fmt.Sprintf("/r/%d", i), kv...)
						if err != nil || path(hops) != want {
							mu.Lock()
							mixups++
							if mixups < 5 {
								t.Errorf("request %d: %s (%v), want %s", i, path(hops), err, want)
							}
							mu.Unlock()
						}
					}(i)
				}
				wg.Wait()
				if mixups != 0 {
					t.Errorf("%d of 200 requests in the wrong lane", mixups)
				}
			})
			// The sidecar that restored lanes counted them, and every stream
			// was released.
			if v, _ := m.Sidecar("frontend", "gray").Counter("lanedye.propagation.hit"); v == 0 {
				t.Error("frontend-gray's sidecar restored no lane")
			}
			if n := m.Sidecar("payment", "gray").LiveStreams(); n != 0 {
				t.Errorf("%d streams left open", n)
			}
		})
	}
}
