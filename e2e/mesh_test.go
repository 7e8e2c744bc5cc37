// Package e2e runs lanedye end to end: a loopback mesh of proxies executing
// build/lanedye.wasm (always), real Envoy (e2e/envoy, when installed) and a
// kind cluster with Istio (e2e/istio, by hand).
package e2e

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/lanedye/lanedye/e2e/mesh"
)

func TestMesh(t *testing.T) {
	wasm, err := os.ReadFile(filepath.Join("..", "build", "lanedye.wasm"))
	if err != nil {
		t.Fatalf("the wasm artifact is required (run make build): %v", err)
	}
	topo, err := mesh.LoadTopology("..")
	if err != nil {
		t.Fatal(err)
	}
	for _, fwd := range []mesh.Forwarding{mesh.ForwardRequestID, mesh.ForwardTraceparent} {
		t.Run("apps forward "+string(fwd), func(t *testing.T) {
			m, err := mesh.Start(context.Background(), wasm, topo, fwd)
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			mesh.RunScenarios(t, mesh.Target{GatewayURL: m.GatewayURL, NewClient: m.Client, Forward: fwd})
			// The sidecars restored lanes and released every stream.
			sc := m.Sidecar("frontend", "gray")
			if err := sc.Tick(); err != nil {
				t.Fatal(err)
			}
			if v, _ := sc.Counter("lanedye.propagation.hit"); v == 0 {
				t.Error("frontend-gray's sidecar restored no lane")
			}
			for _, sc := range [][2]string{{"frontend", "gray"}, {"checkout", "base"}, {"payment", "gray"}} {
				if n := m.Sidecar(sc[0], sc[1]).LiveStreams(); n != 0 {
					t.Errorf("%s-%s: %d streams left open", sc[0], sc[1], n)
				}
			}
			if n := m.Gateway().LiveStreams(); n != 0 {
				t.Errorf("gateway: %d streams left open", n)
			}
		})
	}
}
