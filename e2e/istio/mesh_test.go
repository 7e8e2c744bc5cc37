package istioe2e

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lanedye/lanedye/e2e/envoy"
	"github.com/lanedye/lanedye/e2e/mesh"
)

// istioMesh is deploy/'s example run by Istio: istiod's configuration from
// deploy/ served over ADS to a real Envoy per proxy (the ingress gateway,
// one sidecar per Deployment), each behind its agent, each application
// behind its sidecar.
type istioMesh struct {
	Istiod     *istiod
	Gateway    *envoy.Process
	Sidecars   map[string]*envoy.Process // by Deployment
	Agents     map[string]*agent         // by pod
	Apps       map[string]*app           // by Deployment
	GatewayURL string                    // http://IP:PORT
	Topology   *mesh.Topology
	Workloads  []workload
	Subnet     subnet
	Configs    string // the Istio configuration loaded
	Kube       string // the Kubernetes objects loaded
}

// meshOptions say what to load besides deploy/.
type meshOptions struct {
	API api
	// RenderArgs are extra flags of lanedye render (--health-fallback ...).
	RenderArgs []string
	// Edit, when set, changes the configuration before istiod loads it.
	Edit func([]obj) []obj
	// Replicas adds replicas without a sidecar to Deployments
	// ("payment-gray": 2): more endpoints of a subset, each its bare
	// application on its pod IP.
	Replicas map[string]int
}

// app is an example application with a switch that makes it fail.
type app struct {
	mesh.App
	down   atomic.Bool
	served atomic.Int64
}

func (a *app) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if a.down.Load() {
		http.Error(w, a.Service+"-"+a.Version+" is down", http.StatusServiceUnavailable)
		return
	}
	a.served.Add(1)
	a.App.ServeHTTP(w, r)
}

// startMesh runs deploy/'s example under Istio. Nothing is skipped: a
// missing Envoy, module or image fails the test.
func startMesh(t *testing.T, o meshOptions) *istioMesh {
	t.Helper()
	root := repoRoot(t)
	bin, err := envoy.Binary(root)
	if err != nil {
		t.Fatal(err)
	}
	topo, err := mesh.LoadTopology(root)
	if err != nil {
		t.Fatal(err)
	}
	s := newSubnet(t)
	// go-containerregistry speaks plain HTTP to 127.0.0.1 and localhost only.
	reg := startRegistry(t, "127.0.0.1:0")
	refs := pushImages(t, root, reg)

	objs := kustomize(t, root, o.API.kustomization())
	gw, apps := workloads(objs, s)
	apps = addReplicas(apps, s, o.Replicas)
	gatewayPort, err := mesh.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	configs := istioConfigs(t, root, o, objs, apps, refs)
	kube := kubeObjects(t, objs, gw, apps, gatewayPort)
	dir := t.TempDir()
	_ = os.WriteFile(filepath.Join(dir, "istio-config.yaml"), []byte(configs), 0o600)
	_ = os.WriteFile(filepath.Join(dir, "kube-objects.yaml"), []byte(kube), 0o600)

	m := &istioMesh{Sidecars: map[string]*envoy.Process{}, Agents: map[string]*agent{}, Apps: map[string]*app{},
		Topology: topo, Workloads: apps, Subnet: s, Configs: configs, Kube: kube,
		GatewayURL: fmt.Sprintf("http://%s:%d", gw.IP, gatewayPort)}
	m.Istiod = startIstiod(t, s.ip(1)+":15010", configs, kube)

	// The gateway VM reads the sticky key from the proxy's environment
	// (vmConfig.env valueFrom: HOST), which the Secret of deploy/ feeds.
	for k, v := range topo.GatewayEnv {
		t.Setenv(k, v)
	}
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	for _, w := range apps {
		a := &app{App: mesh.App{Service: w.Service, Version: w.Version, LaneHeader: topo.LaneHeader, RouteHeader: topo.RouteHeader,
			Next: topo.Next[w.Service], Egress: fmt.Sprintf("%s:%d", w.EgressIP, ServicePort), Forward: mesh.ForwardRequestID, Client: client}}
		if w.Bare {
			if a.Next != "" {
				t.Fatalf("a bare replica of %s would call %s without a sidecar", w.Name, a.Next)
			}
			serve(t, fmt.Sprintf("%s:%d", w.IP, ServicePort), a)
			m.Apps[w.Name] = a
			continue
		}
		serve(t, fmt.Sprintf("%s:%d", w.IP, AppPort), a)
		m.Apps[w.Service+"-"+w.Version] = a
	}

	type job struct {
		w      workload
		module string
	}
	jobs := []job{{gw, filepath.Join(root, "build", "lanedye-gateway.wasm")}}
	for _, w := range apps {
		if !w.Bare {
			jobs = append(jobs, job{w, filepath.Join(root, "build", "lanedye-sidecar.wasm")})
		}
	}
	procs := make([]*envoy.Process, len(jobs))
	var wg sync.WaitGroup
	var mu sync.Mutex
	var failures []string
	for i, j := range jobs {
		ag := startAgent(t, j.w.IP+":15001", m.Istiod.Addr, reg, filepath.Join(dir, "wasm-cache-"+j.w.Name))
		m.Agents[j.w.Name] = ag
		wg.Add(1)
		go func() {
			defer wg.Done()
			p, err := envoy.Start(bin, envoy.Options{Name: j.w.Name, Dir: dir, Bootstrap: bootstrap(j.w, ag.Addr), Module: j.module})
			if err != nil {
				mu.Lock()
				failures = append(failures, err.Error())
				mu.Unlock()
				return
			}
			procs[i] = p
		}()
	}
	wg.Wait()
	for i, p := range procs {
		if p == nil {
			continue
		}
		t.Cleanup(p.Stop)
		if i == 0 {
			m.Gateway = p
		} else {
			m.Sidecars[jobs[i].w.Service+"-"+jobs[i].w.Version] = p
		}
	}
	if len(failures) > 0 {
		t.Fatalf("Envoy on Istio's configuration (files in %s, istiod's log %s):\n%s", dir, istiodLog, failures)
	}
	m.waitLoaded(t, 2*time.Minute)
	return m
}

// serve runs h on addr until the test ends.
func serve(t *testing.T, addr string, h http.Handler) {
	t.Helper()
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
}

// istioConfigs is the Istio configuration of deploy/'s example for an API:
// its plugins (pointing at the test registry's images), Gateway and the
// gateway's VirtualService, the DestinationRules and mesh VirtualServices
// `lanedye render` writes for the sidecar plugin, a Sidecar per workload,
// and plaintext between proxies (there is no CA here).
func istioConfigs(t *testing.T, root string, o meshOptions, objs []obj, apps []workload, refs map[string]string) string {
	t.Helper()
	var out []obj
	plugins := map[string]int{}
	for _, x := range objs {
		switch x.kind() {
		case string(wasmPluginAPI), string(trafficExtensionAPI):
			if x.kind() != string(o.API) {
				t.Fatalf("deploy/%s applies a %s beside its %ss", o.API.kustomization(), x.kind(), o.API)
			}
			setURL(x, "oci://"+refs[role(x)])
			plugins[role(x)]++
			out = append(out, x)
		case "Gateway":
			out = append(out, x)
		case "VirtualService":
			if x.path("spec")["gateways"] != nil { // the gateway's routes
				out = append(out, x)
			}
		}
	}
	if plugins["gateway"] != 1 || plugins["sidecar"] != 1 {
		t.Fatalf("deploy/%s: %v %ss by role, want one each", o.API.kustomization(), plugins, o.API)
	}
	for _, x := range renderRouting(t, root, o.RenderArgs...) {
		// The gateway routes frontend (deploy/example's gateway
		// VirtualService); inside the mesh only checkout and payment are
		// called.
		if x.kind() == "VirtualService" && x.meta("name") == "frontend" {
			continue
		}
		out = append(out, x)
	}
	out = append(out, sidecars(apps)...)
	out = append(out, obj{"apiVersion": "security.istio.io/v1", "kind": "PeerAuthentication",
		"metadata": map[string]any{"name": "default", "namespace": "istio-system"},
		"spec":     map[string]any{"mtls": map[string]any{"mode": "DISABLE"}}})
	if o.Edit != nil {
		out = o.Edit(out)
	}
	return marshalAll(t, out)
}
