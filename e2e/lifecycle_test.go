package e2e

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	wasmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/wasm/v3"
	"github.com/tidwall/sjson"

	"github.com/lanedye/lanedye/e2e/envoy"
	"github.com/lanedye/lanedye/e2e/mesh"
)

// gatewayUnderXDS is a gateway Envoy whose lanedye filter configuration
// comes from an xDS server, in front of one application that reports the
// lane header it sees.
type gatewayUnderXDS struct {
	envoy *envoy.Process
	url   string
	xds   *xdsServer
}

// startGatewayUnderXDS starts a gateway whose module comes over ECDS; wasm
// is the module it will get first, which sizes its readiness deadline.
func startGatewayUnderXDS(t *testing.T, bin string, x *xdsServer, laneHeader, wasm string) *gatewayUnderXDS {
	t.Helper()
	appPort, gwPort := serveApp(t, laneHeader), freePort(t)
	b := mesh.Bootstrap{
		Node: "gateway",
		Listeners: []mesh.Listener{{Name: "gateway", Port: gwPort,
			Hosts: []mesh.VirtualHost{{Name: "all", Domains: []string{"*"}, Default: "app"}}}},
		Clusters: []mesh.Cluster{{Name: "app", Port: appPort}, {Name: "xds", Port: x.port, HTTP2: true}},
		Plugin:   mesh.Plugin{XDSCluster: "xds"},
	}
	data, err := b.Render()
	if err != nil {
		t.Fatal(err)
	}
	p, err := envoy.Start(bin, envoy.Options{Name: "gateway", Dir: t.TempDir(), Bootstrap: data, Module: wasm})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Stop)
	return &gatewayUnderXDS{envoy: p, url: fmt.Sprintf("http://127.0.0.1:%d", gwPort), xds: x}
}

// send sends a request, checks its status, and returns the lane header the
// application saw and the Set-Cookie values of the response.
func (g *gatewayUnderXDS) send(t *testing.T, status int, kv ...string) (string, []string) {
	t.Helper()
	hop, cookies := g.hop(t, status, kv...)
	return hop.Lane, cookies
}

// baggage returns the baggage the application saw for a request.
func (g *gatewayUnderXDS) baggage(t *testing.T, kv ...string) string {
	t.Helper()
	hop, _ := g.hop(t, http.StatusOK, kv...)
	return hop.Baggage
}

func (g *gatewayUnderXDS) hop(t *testing.T, status int, kv ...string) (mesh.Hop, []string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, g.url+"/", nil)
	req.Host = mesh.GatewayHost
	for i := 0; i+1 < len(kv); i += 2 {
		req.Header.Add(kv[i], kv[i+1])
	}
	resp, err := (&http.Client{Timeout: 15 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != status {
		t.Fatalf("status %d, want %d", resp.StatusCode, status)
	}
	if status != http.StatusOK {
		return mesh.Hop{}, nil
	}
	var hops []mesh.Hop
	if err := json.NewDecoder(resp.Body).Decode(&hops); err != nil || len(hops) != 1 {
		t.Fatalf("%v %v", hops, err)
	}
	return hops[0], resp.Header.Values("Set-Cookie")
}

// serveApp serves an application (service app, version v1) that reports
// the lane header it received, and returns its port.
func serveApp(t *testing.T, laneHeader string) int {
	t.Helper()
	return serve(t, &mesh.App{Service: "app", Version: "v1", LaneHeader: laneHeader})
}

func freePort(t *testing.T) int {
	t.Helper()
	p, err := mesh.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// serveHandler serves h on a new port of 127.0.0.1 until the test ends.
func serveHandler(t *testing.T, h http.Handler) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = s.Serve(l) }()
	t.Cleanup(func() { _ = s.Close() })
	return l.Addr().(*net.TCPAddr).Port
}

// newUUID returns a random version-4 UUID (its 15th character is '4').
func newUUID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// TestConfigLifecycle drives a running gateway's configuration the way
// Istio does, through ECDS: updates apply without a restart, a bad
// configuration is rejected with its JSON path logged at critical level while
// the previous one keeps serving, and a module that cannot load follows the
// WasmPlugin's failStrategy.
func TestConfigLifecycle(t *testing.T) {
	bin := envoyBinary(t)
	topo, err := mesh.LoadTopology(root)
	if err != nil {
		t.Fatal(err)
	}
	wasm, err := mesh.Module(root, "gateway")
	if err != nil {
		t.Fatal(err)
	}
	lc := &lifecycle{wasm: wasm, shipped: string(topo.Gateway), env: topo.GatewayEnv, x: startXDS(t)}
	// Served before Envoy starts: its listener warms until the version
	// arrives.
	first := lc.x.push(t, "gateway", istioFilter(wasm, lc.shipped, lc.env, open))
	lc.g = startGatewayUnderXDS(t, bin, lc.x, topo.LaneHeader, wasm)
	if nack := lc.x.answer(t, first); nack != "" {
		t.Fatalf("deploy/'s configuration rejected: %s", nack)
	}
	lc.pid = lc.g.envoy.Pid()
	for _, step := range []struct {
		name string
		run  func(*testing.T)
	}{
		{"shipped configuration dyes", lc.dyes},
		{"key rotation applies live", lc.rotation},
		{"rollback switch applies live", lc.rollback},
		{"invalid configuration is rejected, the previous one keeps serving", lc.invalid},
		{"corrupt module is rejected, the previous configuration keeps serving", lc.corrupt},
		{"module that cannot be fetched, FAIL_OPEN: traffic flows undyed", lc.unfetchableOpen},
		{"module that cannot be fetched, FAIL_CLOSE: requests are denied", lc.unfetchableClosed},
		{"the module back", lc.back},
	} {
		t.Run(step.name, step.run)
	}
}

const open, closed = wasmv3.FailurePolicy_FAIL_OPEN, wasmv3.FailurePolicy_FAIL_CLOSED

// lifecycle is one gateway under an xDS server, through the steps of
// TestConfigLifecycle.
type lifecycle struct {
	wasm, shipped string
	env           map[string]string
	x             *xdsServer
	g             *gatewayUnderXDS
	pid           int
	grayCookie    string
}

// apply serves a WasmPlugin's filter and returns Envoy's answer ("" ACK).
func (lc *lifecycle) apply(t *testing.T, module, cfg string, policy wasmv3.FailurePolicy) string {
	t.Helper()
	return lc.x.answer(t, lc.x.push(t, "gateway", istioFilter(module, cfg, lc.env, policy)))
}

func (lc *lifecycle) mustApply(t *testing.T, module, cfg string, policy wasmv3.FailurePolicy) {
	t.Helper()
	if nack := lc.apply(t, module, cfg, policy); nack != "" {
		t.Fatalf("rejected: %s", nack)
	}
}

func (lc *lifecycle) wantLane(t *testing.T, want string, kv ...string) {
	t.Helper()
	if lane, _ := lc.g.send(t, http.StatusOK, kv...); lane != want {
		t.Errorf("%v: lane %q, want %q", kv, lane, want)
	}
}

func (lc *lifecycle) notRestarted(t *testing.T) {
	t.Helper()
	if lc.g.envoy.Exited() || lc.g.envoy.Pid() != lc.pid {
		t.Error("Envoy restarted")
	}
}

func (lc *lifecycle) dyes(t *testing.T) {
	lane, cookies := lc.g.send(t, http.StatusOK, "x-user-id", "12340")
	if lane != "gray" || len(cookies) != 1 {
		t.Fatalf("lane %q, Set-Cookie %q", lane, cookies)
	}
	lc.grayCookie, _, _ = strings.Cut(cookies[0], ";")
	lc.wantLane(t, "gray", "cookie", lc.grayCookie)
}

// rotation moves the sticky key live: first [new, old] (the old key's cookies
// still count, new ones are signed with the new key), then [new] alone.
func (lc *lifecycle) rotation(t *testing.T) {
	const newKey = "fedcba9876543210-rotated-key"
	oldKey := lc.env["LANEDYE_STICKY_SECRET"]
	withKeys := func(keys ...string) string {
		cfg, _ := sjson.Delete(lc.shipped, "sticky.secret_env")
		cfg, _ = sjson.Set(cfg, "sticky.secret", keys)
		return cfg
	}
	lc.mustApply(t, lc.wasm, withKeys(newKey, oldKey), open)
	lc.wantLane(t, "gray", "cookie", lc.grayCookie)
	lane, cookies := lc.g.send(t, http.StatusOK, "x-user-id", "12340")
	if lane != "gray" || len(cookies) != 1 || !signedBy(cookies[0], newKey) {
		t.Fatalf("during rotation: lane %q, Set-Cookie %q (want the new key's)", lane, cookies)
	}
	rotated, _, _ := strings.Cut(cookies[0], ";")
	lc.mustApply(t, lc.wasm, withKeys(newKey), open)
	lc.wantLane(t, "base", "cookie", lc.grayCookie)
	lc.wantLane(t, "gray", "cookie", rotated)
	lc.notRestarted(t)
	lc.mustApply(t, lc.wasm, lc.shipped, open)
}

func (lc *lifecycle) rollback(t *testing.T) {
	rolledBack, _ := sjson.Set(lc.shipped, "lanes", []string{})
	rolledBack, _ = sjson.Delete(rolledBack, "rules")
	lc.mustApply(t, lc.wasm, rolledBack, open)
	if lane, cookies := lc.g.send(t, http.StatusOK, "cookie", lc.grayCookie); lane != "base" || len(cookies) != 0 {
		t.Errorf("gray cookie after removing gray: lane %q, Set-Cookie %q", lane, cookies)
	}
	lc.notRestarted(t)
}

func (lc *lifecycle) invalid(t *testing.T) {
	bad, _ := sjson.Set(lc.shipped, "rules.3.match.0.headers.x-app-version.regex", "3\\.(")
	nack := lc.apply(t, lc.wasm, bad, open)
	if nack == "" {
		t.Fatal("Envoy accepted an invalid configuration")
	}
	const path = "rules[3].match[0].headers.x-app-version.regex"
	if !criticalLine(lc.g.envoy.LogText(), "lanedye: invalid configuration: "+path+": ") {
		t.Errorf("no critical log line naming %s; NACK %q; log:\n%s", path, nack, lc.g.envoy.LogTail(15))
	}
	lc.wantLane(t, "base", "x-user-id", "12340") // still the rolled-back configuration
}

func (lc *lifecycle) corrupt(t *testing.T) {
	lc.mustApply(t, lc.wasm, lc.shipped, open)
	b, err := os.ReadFile(lc.wasm)
	if err != nil {
		t.Fatal(err)
	}
	corrupt := filepath.Join(t.TempDir(), "truncated.wasm")
	if err := os.WriteFile(corrupt, b[:len(b)/2], 0o600); err != nil {
		t.Fatal(err)
	}
	if nack := lc.apply(t, corrupt, lc.shipped, open); nack == "" {
		t.Fatal("Envoy accepted a truncated module")
	}
	lc.wantLane(t, "gray", "x-user-id", "12340")
}

func (lc *lifecycle) unfetchableOpen(t *testing.T) {
	lc.mustApply(t, lc.wasm+".missing", lc.shipped, open)
	if lane, cookies := lc.g.send(t, http.StatusOK, "x-user-id", "12340"); lane != "" || len(cookies) != 0 {
		t.Errorf("lane %q, Set-Cookie %q: want no lanedye at all", lane, cookies)
	}
}

func (lc *lifecycle) unfetchableClosed(t *testing.T) {
	lc.mustApply(t, lc.wasm+".missing", lc.shipped, closed)
	lc.g.send(t, http.StatusForbidden)
}

func (lc *lifecycle) back(t *testing.T) {
	lc.mustApply(t, lc.wasm, lc.shipped, open)
	lc.wantLane(t, "gray", "x-user-id", "12340")
	lc.notRestarted(t)
}

// A proxy that never had a good configuration has nothing to fall back on:
// Envoy rejects a module it cannot compile, and until a loadable one arrives
// the listener's filter chain refuses requests, whatever the failStrategy
// (it applies to the VM failing at run time, and to the agent's fetch).
func TestCorruptModuleOnAFreshProxy(t *testing.T) {
	bin := envoyBinary(t)
	topo, err := mesh.LoadTopology(root)
	if err != nil {
		t.Fatal(err)
	}
	wasm, err := os.ReadFile(filepath.Join(root, "build", "lanedye-gateway.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	corrupt := filepath.Join(t.TempDir(), "truncated.wasm")
	if err := os.WriteFile(corrupt, wasm[:len(wasm)/2], 0o600); err != nil {
		t.Fatal(err)
	}
	x := startXDS(t)
	v := x.push(t, "gateway", istioFilter(corrupt, string(topo.Gateway), topo.GatewayEnv, wasmv3.FailurePolicy_FAIL_OPEN))
	g := startGatewayUnderXDS(t, bin, x, topo.LaneHeader, corrupt)
	if nack := x.answer(t, v); nack == "" {
		t.Fatal("Envoy accepted a truncated module")
	}
	g.send(t, http.StatusInternalServerError)
}

// criticalLine reports whether Envoy logged a line at critical level
// containing s.
func criticalLine(log, s string) bool {
	for _, l := range strings.Split(log, "\n") {
		if strings.Contains(l, "[critical]") && strings.Contains(l, s) {
			return true
		}
	}
	return false
}
