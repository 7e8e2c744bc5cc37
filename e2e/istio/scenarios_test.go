package istioe2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lanedye/lanedye/e2e/envoy"
	"github.com/lanedye/lanedye/e2e/mesh"
)

// The control-plane path: deploy/'s example, configured by Istio, on real
// Envoys. Istio's discovery server is loaded with deploy/'s manifests (the
// plugins as WasmPlugins, then as TrafficExtensions), lanedye render's
// DestinationRules and VirtualServices, a Sidecar per workload and the
// Kubernetes objects of the example's Deployments, and serves the ingress
// gateway and every sidecar over ADS; each module comes from the registry
// through the agent's Wasm cache. The demo's scenarios run through the
// gateway, each request checked hop by hop (version, and the lane and
// route headers each application saw) against mesh.Ledger, the model the
// e2e suite checks hand-written bootstraps with, and every lanedye counter
// of every Envoy against it at the end. The applications forward only
// x-request-id.
func TestIstioMesh(t *testing.T) {
	for _, a := range []api{wasmPluginAPI, trafficExtensionAPI} {
		t.Run(string(a), func(t *testing.T) {
			start := time.Now()
			m := startMesh(t, meshOptions{API: a})
			t.Logf("%s: istiod, registry, 6 agents and 6 Envoys ready in %.1fs", a, time.Since(start).Seconds())
			d := &driver{m: m, ledger: mesh.NewLedger(m.Topology)}
			d.scenarios(t)
			t.Run("100 concurrent mixed-lane requests", d.concurrent)
			t.Run("counters in each Envoy's /stats", func(t *testing.T) {
				if err := d.ledger.Check(m.envoys()); err != nil {
					t.Error(err)
				}
			})
			for name, ag := range m.Agents {
				if conv, failed, err := ag.stats(); conv == 0 || failed > 0 {
					t.Errorf("agent of %s: %d ECDS responses converted, %d failed (%v)", name, conv, failed, err)
				}
			}
		})
	}
}

// envoys are the mesh's Envoys by the ledger's names.
func (m *istioMesh) envoys() map[string]*envoy.Process {
	out := map[string]*envoy.Process{"gateway": m.Gateway}
	for k, v := range m.Sidecars {
		out[k] = v
	}
	return out
}

type driver struct {
	m      *istioMesh
	ledger *mesh.Ledger
}

// browser is one user agent. The gateway of deploy/example serves plain
// HTTP (TLS would end in front of it), so the sticky cookie, marked Secure,
// is kept and sent back by hand.
type browser struct {
	d       *driver
	cookies map[string]string
}

func (d *driver) browser() *browser { return &browser{d: d, cookies: map[string]string{}} }

const (
	grayPath = "frontend-gray > checkout-base > payment-gray"
	basePath = "frontend-base > checkout-base > payment-base"
)

// get sends one request through the gateway (kv: extra headers; fwd "": the
// applications' default, x-request-id) and returns the response, whose
// Set-Cookie the browser keeps, and the hops.
func (b *browser) get(path string, fwd mesh.Forwarding, kv ...string) (*http.Response, []mesh.Hop, error) {
	if fwd != "" {
		sep := "?"
		if strings.Contains(path, "?") {
			sep = "&"
		}
		path += sep + "forward=" + string(fwd)
	}
	req, err := http.NewRequest(http.MethodGet, b.d.m.GatewayURL+path, nil)
	if err != nil {
		return nil, nil, err
	}
	req.Host = mesh.GatewayHost
	for i := 0; i+1 < len(kv); i += 2 {
		req.Header.Add(kv[i], kv[i+1])
	}
	for k, v := range b.cookies {
		req.AddCookie(&http.Cookie{Name: k, Value: v})
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	for _, c := range resp.Cookies() {
		b.cookies[c.Name] = c.Value
	}
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return resp, nil, fmt.Errorf("status %d: %s", resp.StatusCode, strings.TrimSpace(string(body)))
	}
	var hops []mesh.Hop
	err = json.NewDecoder(resp.Body).Decode(&hops)
	return resp, hops, err
}

// send makes a request and checks its hops against the ledger's
// expectation for decision dec.
func (b *browser) send(t *testing.T, path string, dec mesh.Decision, fwd mesh.Forwarding, kv ...string) (*http.Response, string) {
	t.Helper()
	resp, hops, err := b.get(path, fwd, kv...)
	if err != nil {
		t.Fatalf("%s %v: %v", path, kv, err)
	}
	if fwd == "" {
		fwd = mesh.ForwardRequestID
	}
	want := b.d.ledger.Expect(dec, fwd, false)
	if got, w := pathOf(hops, true), pathOf(want, true); got != w {
		t.Errorf("%s %v:\n got  %s\n want %s", path, kv, got, w)
	}
	return resp, pathOf(hops, false)
}

// pathOf renders hops as "frontend-gray > checkout-base > payment-gray",
// with the lane and route headers each application saw when full.
func pathOf(hops []mesh.Hop, full bool) string {
	var parts []string
	for _, h := range hops {
		p := h.Service + "-" + h.Version
		if full {
			p += fmt.Sprintf("[lane=%s route=%s]", h.Lane, h.Route)
		}
		parts = append(parts, p)
	}
	return strings.Join(parts, " > ")
}

func (d *driver) scenarios(t *testing.T) {
	rule := func(name string) mesh.Decision {
		return mesh.Decision{Lane: "gray", Source: "rule", Rule: name, Issued: true}
	}
	undyed := mesh.Decision{Lane: "base", Source: "default"}
	check := func(t *testing.T, resp *http.Response, want string, path ...string) {
		t.Helper()
		if len(path) == 2 && path[0] != path[1] {
			t.Errorf("path %s, want %s", path[0], path[1])
		}
		var got []string
		for _, c := range resp.Cookies() {
			got = append(got, c.Name)
		}
		if strings.Join(got, ",") != want {
			t.Errorf("Set-Cookie %q, want cookies %q", resp.Header.Values("Set-Cookie"), want)
		}
	}
	t.Run("dyed by rule, through a service without gray (route header base), back into gray", func(t *testing.T) {
		resp, path := d.browser().send(t, "/", rule("user-tail-012"), "", "x-user-id", "12340")
		check(t, resp, "x-sticky-version", path, grayPath)
	})
	t.Run("undyed", func(t *testing.T) {
		resp, path := d.browser().send(t, "/", undyed, "")
		check(t, resp, "", path, basePath)
	})
	t.Run("sticky cookie round trip", func(t *testing.T) {
		b := d.browser()
		resp, _ := b.send(t, "/", rule("beijing-region"), "", "x-user-region", "beijing")
		check(t, resp, "x-sticky-version")
		// The cookie comes back; nothing else dyes the request.
		resp, path := b.send(t, "/orders", mesh.Decision{Lane: "gray", Source: "cookie"}, "")
		check(t, resp, "", path, grayPath)
	})
	t.Run("the application's own Set-Cookie survives beside the sticky one", func(t *testing.T) {
		resp, _ := d.browser().send(t, "/?set-cookie=1", rule("user-tail-012"), "", "x-user-id", "12342")
		check(t, resp, mesh.AppCookie+",x-sticky-version")
	})
	t.Run("forged cookies and spoofed lane, route and baggage headers", func(t *testing.T) {
		b := d.browser()
		b.send(t, "/", undyed, "", "cookie", "x-sticky-version=gray.Zm9yZ2Vk")
		b.send(t, "/", undyed, "", "cookie", "x-sticky-version=gray")
		b.send(t, "/", mesh.Decision{Lane: "base", Source: "default", Rejected: true}, "", "x-swimlane", "gray")
		b.send(t, "/", undyed, "", "x-lane-route", "gray")
		b.send(t, "/", undyed, "", "baggage", "lane=gray")
	})
	t.Run("applications that forward no id: the workload lane", func(t *testing.T) {
		resp, path := d.browser().send(t, "/", rule("user-tail-012"), mesh.ForwardNone, "x-user-id", "12340")
		check(t, resp, "x-sticky-version", path, "frontend-gray > checkout-base > payment-base")
	})
}

func (d *driver) concurrent(t *testing.T) {
	var wg sync.WaitGroup
	var mu sync.Mutex
	var wrong []string
	for i := range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			dec, kv, want := mesh.Decision{Lane: "base", Source: "default"}, []string(nil), basePath
			if i%2 == 0 {
				dec = mesh.Decision{Lane: "gray", Source: "rule", Rule: "beijing-region", Issued: true}
				kv, want = []string{"x-user-region", "beijing"}, grayPath
			}
			_, hops, err := d.browser().get(fmt.Sprintf("/r/%d", i), "", kv...)
			exp := d.ledger.Expect(dec, mesh.ForwardRequestID, false)
			if err != nil || pathOf(hops, true) != pathOf(exp, true) || pathOf(hops, false) != want {
				mu.Lock()
				wrong = append(wrong, fmt.Sprintf("request %d: %s (%v), want %s", i, pathOf(hops, true), err, pathOf(exp, true)))
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(wrong) > 0 {
		t.Errorf("%d of 100 requests in the wrong lane, e.g.\n%s", len(wrong), strings.Join(wrong[:min(5, len(wrong))], "\n"))
	}
}

// waitLoaded waits until every Envoy runs lanedye: its counters, defined
// when the plugin starts, are in /stats.
func (m *istioMesh) waitLoaded(t *testing.T, limit time.Duration) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for name, p := range m.envoys() {
		for {
			c, err := p.Lanedye(context.Background())
			if err == nil && len(c) > 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s runs no lanedye after %v (%v); its log:\n%s", name, limit, err, p.LogTail(30))
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
}
