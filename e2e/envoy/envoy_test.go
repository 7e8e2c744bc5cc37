// Package envoy runs the e2e scenarios against real Envoy (>= 1.33) loading
// build/lanedye.wasm, when an envoy binary is on PATH or in ENVOY_BIN.
// Otherwise the test skips: the loopback mesh in e2e/ covers the same
// scenarios on every run.
package envoy

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"testing"
	"text/template"
	"time"

	"github.com/lanedye/lanedye/e2e/mesh"
)

func envoyBinary(t *testing.T) string {
	if p := os.Getenv("ENVOY_BIN"); p != "" {
		return p
	}
	p, err := exec.LookPath("envoy")
	if err != nil {
		t.Skip("no Envoy: put envoy (>= 1.33) on PATH or set ENVOY_BIN to run the scenarios against real Envoy; the loopback mesh in e2e/ runs them on every build")
	}
	return p
}

func TestEnvoy(t *testing.T) {
	bin := envoyBinary(t)
	out, err := exec.Command(bin, "--version").CombinedOutput()
	if err != nil {
		t.Fatalf("%s --version: %v", bin, err)
	}
	if v := regexp.MustCompile(`/1\.(\d+)\.`).FindSubmatch(out); v == nil {
		t.Fatalf("cannot read the Envoy version from %q", out)
	} else if minor, _ := strconv.Atoi(string(v[1])); minor < 33 {
		t.Fatalf("Envoy 1.%d: lanedye needs >= 1.33 (Go wasip1 modules)", minor)
	}
	wasm, err := filepath.Abs(filepath.Join("..", "..", "build", "lanedye.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(wasm); err != nil {
		t.Fatalf("the wasm artifact is required (run make build): %v", err)
	}
	topo, err := mesh.LoadTopology(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	for _, fwd := range []mesh.Forwarding{mesh.ForwardRequestID, mesh.ForwardTraceparent} {
		t.Run("apps forward "+string(fwd), func(t *testing.T) {
			url, client := start(t, bin, wasm, topo, fwd)
			mesh.RunScenarios(t, mesh.Target{GatewayURL: url, NewClient: client, Forward: fwd})
		})
	}
}

type listener struct {
	Name, Direction string
	Port            int
	TLS             bool
	Hosts           []vhost
}

type vhost struct {
	Name, Default string
	Domains       []string
	Rules         []rule
}

type rule struct{ Header, Exact, Cluster string }

type cluster struct {
	Name string
	Port int // 0: no endpoints
}

type bootstrap struct {
	AdminPort       int
	Listeners       []listener
	Clusters        []cluster
	PluginConfig    string // a YAML-quoted JSON string
	Wasm, Cert, Key string
}

// instance is one service version: its sidecar's listeners and its app.
type instance struct {
	svc, ver     string
	in, out, app int
}

// plan lays out the mesh of topo with ports from port(): the gateway's and
// every sidecar's bootstrap, and the instances they front.
func plan(topo *mesh.Topology, port func() int) (gateway bootstrap, sidecars map[string]bootstrap, insts []instance) {
	inbound := map[string]int{}
	var svcs []string
	for svc := range topo.Services {
		svcs = append(svcs, svc)
	}
	sort.Strings(svcs)
	for _, svc := range svcs {
		for _, v := range topo.Services[svc] {
			i := instance{svc, v, port(), port(), port()}
			insts = append(insts, i)
			inbound[svc+"-"+v] = i.in
		}
	}
	// Every subset a VirtualService names is a cluster; those without a
	// deployment have no endpoints.
	var clusters []cluster
	seen := map[string]bool{}
	hostsFor := func(gateway bool) []vhost {
		var hs []vhost
		var names []string
		for h := range topo.Routes {
			names = append(names, h)
		}
		sort.Strings(names)
		for _, h := range names {
			if (h == topo.GatewayHost) != gateway {
				continue
			}
			r := topo.Routes[h]
			vh := vhost{Name: h, Domains: []string{h, h + ":*"}, Default: r.Service + "-" + r.Default}
			for _, ru := range r.Rules {
				vh.Rules = append(vh.Rules, rule{ru.Header, ru.Exact, r.Service + "-" + ru.Subset})
			}
			for _, c := range append([]string{vh.Default}, ruleClusters(vh.Rules)...) {
				if !seen[c] {
					seen[c] = true
					clusters = append(clusters, cluster{c, inbound[c]})
				}
			}
			hs = append(hs, vh)
		}
		return hs
	}
	gwHosts, meshHosts := hostsFor(true), hostsFor(false)
	sidecars = map[string]bootstrap{}
	for _, i := range insts {
		local := i.svc + "-" + i.ver + "-app"
		sidecars[i.svc+"-"+i.ver] = bootstrap{
			AdminPort: port(),
			Listeners: []listener{
				{Name: "inbound", Direction: "INBOUND", Port: i.in, Hosts: []vhost{{Name: "local", Domains: []string{"*"}, Default: local}}},
				{Name: "outbound", Direction: "OUTBOUND", Port: i.out, Hosts: meshHosts},
			},
			Clusters: append([]cluster{{local, i.app}}, clusters...),
		}
	}
	gateway = bootstrap{AdminPort: port(), Listeners: []listener{{Name: "gateway", Port: port(), TLS: true, Hosts: gwHosts}}, Clusters: clusters}
	return gateway, sidecars, insts
}

// render fills the bootstrap template.
func render(b bootstrap, pluginConfig []byte, wasm, cert, key string) ([]byte, error) {
	js, err := json.Marshal(string(pluginConfig))
	if err != nil {
		return nil, err
	}
	b.PluginConfig, b.Wasm, b.Cert, b.Key = string(js), wasm, cert, key
	var out bytes.Buffer
	err = tmpl.Execute(&out, b)
	return out.Bytes(), err
}

// start runs the applications and one Envoy per proxy, and returns the
// gateway URL and a client factory trusting its certificate.
func start(t *testing.T, bin, wasm string, topo *mesh.Topology, fwd mesh.Forwarding) (string, func() *http.Client) {
	dir := t.TempDir()
	certPEM, cert, key := selfSigned(t, dir)
	gateway, sidecars, insts := plan(topo, func() int { return freePort(t) })
	client := &http.Client{Timeout: 10 * time.Second}

	run := func(name string, b bootstrap, cfg []byte) {
		data, err := render(b, cfg, wasm, cert, key)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, name+".yaml")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		cmd := exec.CommandContext(ctx, bin, "-c", path, "--use-dynamic-base-id", "--concurrency", "2", "--log-level", "warn")
		logf, _ := os.Create(filepath.Join(dir, name+".log"))
		cmd.Stdout, cmd.Stderr = logf, logf
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cancel(); _ = cmd.Wait(); logf.Close() })
		ready := fmt.Sprintf("http://127.0.0.1:%d/ready", b.AdminPort)
		for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
			if resp, err := client.Get(ready); err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					return
				}
			}
			if time.Now().After(deadline) {
				log, _ := os.ReadFile(filepath.Join(dir, name+".log"))
				t.Fatalf("%s did not become ready:\n%s", name, log)
			}
		}
	}
	for _, i := range insts {
		app := &mesh.App{Service: i.svc, Version: i.ver, Next: topo.Next[i.svc],
			Egress: fmt.Sprintf("127.0.0.1:%d", i.out), Forward: fwd, Client: client}
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", i.app))
		if err != nil {
			t.Fatal(err)
		}
		srv := &http.Server{Handler: app}
		go srv.Serve(l)
		t.Cleanup(func() { srv.Close() })
		run(i.svc+"-"+i.ver, sidecars[i.svc+"-"+i.ver], topo.Sidecar)
	}
	run("gateway", gateway, topo.Gateway)

	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(certPEM)
	newClient := func() *http.Client {
		return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
			TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: "myapp.example.com"},
		}}
	}
	return fmt.Sprintf("https://127.0.0.1:%d", gateway.Listeners[0].Port), newClient
}

var tmpl = template.Must(template.ParseFiles("envoy.yaml.tmpl"))

func ruleClusters(rs []rule) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.Cluster)
	}
	return out
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// selfSigned writes a certificate for myapp.example.com and returns its PEM
// and the certificate and key file paths.
func selfSigned(t *testing.T, dir string) ([]byte, string, string) {
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "myapp.example.com"},
		DNSNames: []string{"myapp.example.com"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA: true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	kd, _ := x509.MarshalECPrivateKey(k)
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	cert, key := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	_ = os.WriteFile(cert, certPEM, 0o600)
	_ = os.WriteFile(key, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kd}), 0o600)
	return certPEM, cert, key
}
