package istioe2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
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
			d := &driver{m: m}
			s := &mesh.Suite{Ledger: mesh.NewLedger(m.Topology), Forward: mesh.ForwardRequestID,
				NewBrowser: func(bool) mesh.Browser { return d.browser() }}
			s.Scenarios(t, false)
			t.Run("100 concurrent mixed-lane requests", func(t *testing.T) {
				s.Concurrent(t, 100, func(int) bool { return false })
			})
			t.Run("counters in each Envoy's /stats", func(t *testing.T) {
				if err := s.Ledger.Check(m.envoys()); err != nil {
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

// driver starts browsers on a mesh.
type driver struct {
	m *istioMesh
}

// browser is one user agent. The gateway of deploy/example serves plain
// HTTP (TLS would end in front of it), so the sticky cookie, marked Secure,
// is kept and sent back by hand.
type browser struct {
	d       *driver
	cookies map[string]string
}

func (d *driver) browser() *browser { return &browser{d: d, cookies: map[string]string{}} }

// Get implements mesh.Browser (the applications forward x-request-id by
// default); the browser keeps the response's Set-Cookie.
func (b *browser) Get(path string, fwd mesh.Forwarding, kv ...string) (*http.Response, []mesh.Hop, error) {
	req, err := mesh.GatewayRequest(b.d.m.GatewayURL, path, fwd, kv...)
	if err != nil {
		return nil, nil, err
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
