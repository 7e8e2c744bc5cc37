package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/lanedye/lanedye/e2e/envoy"
	"github.com/lanedye/lanedye/e2e/mesh"
)

// A sidecar whose pod carries a lane label (node.metadata.LABELS, where
// Istio copies the pod's labels) dyes its application's outbound calls
// that bring no lane: the workload lane, after an application's lane
// header and a fresh mapping.
func TestWorkloadLaneInEnvoy(t *testing.T) {
	bin := envoyBinary(t)
	wasm, err := mesh.Module(root, "sidecar")
	if err != nil {
		t.Fatal(err)
	}
	const cfg = `{"role":"sidecar","lanes":["gray"],"propagation":{"keys":["x-request-id"]},
	  "workload":{"lane_label":"lanedye.io/lane"}}`
	upstream := serveHandler(t, &mesh.App{Service: "upstream", Version: "v1", LaneHeader: "x-swimlane"})
	var p *envoy.Process
	var inbound int
	for range 3 {
		var ports [2]int
		for i := range ports {
			if ports[i], err = mesh.FreePort(); err != nil {
				t.Fatal(err)
			}
		}
		inbound = ports[0]
		// The application calls upstream through its sidecar's outbound
		// listener, forwarding nothing unless the request asks it to.
		app := serveHandler(t, &mesh.App{Service: "app", Version: "gray", LaneHeader: "x-swimlane", Next: "upstream",
			Egress: fmt.Sprintf("127.0.0.1:%d", ports[1]), Forward: mesh.ForwardNone, Client: &http.Client{Timeout: 10 * time.Second}})
		b := mesh.Bootstrap{
			NodeLabels: map[string]string{"app": "app", "lanedye.io/lane": "gray"},
			Listeners: []mesh.Listener{
				{Name: "inbound", Direction: "INBOUND", Port: ports[0], Hosts: []mesh.VirtualHost{{Name: "local", Domains: []string{"*"}, Default: "app"}}},
				{Name: "outbound", Direction: "OUTBOUND", Port: ports[1], Hosts: []mesh.VirtualHost{{Name: "upstream", Domains: []string{"upstream", "upstream:*"}, Default: "upstream"}}},
			},
			Clusters: []mesh.Cluster{{Name: "app", Port: app}, {Name: "upstream", Port: upstream}},
			Plugin:   mesh.Plugin{Wasm: wasm, Config: cfg},
		}
		data, err := b.Render()
		if err != nil {
			t.Fatal(err)
		}
		p, err = envoy.Start(bin, envoy.Options{Name: "sidecar", Dir: t.TempDir(), Bootstrap: data, Concurrency: 2, Module: wasm})
		if err == nil {
			break
		}
		if !mesh.PortTaken(err) {
			t.Fatal(err)
		}
	}
	if p == nil {
		t.Fatal("the sidecar lost its ports three times")
	}
	t.Cleanup(p.Stop)

	send := func(t *testing.T, path string, kv ...string) []mesh.Hop {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, fmt.Sprintf("http://127.0.0.1:%d%s", inbound, path), nil)
		req.Host = "app"
		for i := 0; i+1 < len(kv); i += 2 {
			req.Header.Set(kv[i], kv[i+1])
		}
		resp, err := (&http.Client{Timeout: 15 * time.Second}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var hops []mesh.Hop
		if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&hops) != nil || len(hops) != 2 {
			t.Fatalf("status %d, hops %+v", resp.StatusCode, hops)
		}
		return hops
	}
	want := map[string]uint64{}
	t.Run("a call that carries nothing gets the workload lane", func(t *testing.T) {
		hops := send(t, "/")
		if hops[0].Lane != "" || hops[1].Lane != "gray" {
			t.Errorf("the application saw lane %q, upstream %q; want none and gray", hops[0].Lane, hops[1].Lane)
		}
		// The outbound call's x-request-id is Envoy's, new: no mapping.
		want["lanedye.propagation.miss"]++
		want["lanedye.lane.gray.requests"]++
		want["lanedye.source.workload.requests"]++
	})
	t.Run("a fresh mapping comes before the workload lane", func(t *testing.T) {
		hops := send(t, "/?forward=x-request-id", "x-swimlane", "base", "x-request-id", newUUID())
		if hops[0].Lane != "base" || hops[1].Lane != "base" {
			t.Errorf("the application saw lane %q, upstream %q; want base and base", hops[0].Lane, hops[1].Lane)
		}
		want["lanedye.propagation.stored"]++
		want["lanedye.propagation.hit"]++
		want["lanedye.lane.base.requests"]++
		want["lanedye.source.propagated.requests"]++
	})
	t.Run("counters in /stats", func(t *testing.T) {
		if _, diff := pollCounters(t, p, want); len(diff) > 0 {
			t.Errorf("sidecar /stats: %s\n%s", strings.Join(diff, "; "), p.LogTail(20))
		}
	})
}
