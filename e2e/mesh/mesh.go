// Package mesh runs the example lane topology of deploy/ on real Envoy: an
// ingress gateway Envoy terminating TLS, and for every Deployment of
// deploy/example an application behind its own sidecar Envoy. The gateway
// loads build/lanedye-gateway.wasm and every sidecar build/lanedye-sidecar.wasm,
// with the pluginConfig of the WasmPlugins in deploy/plugins, and each
// routes as the VirtualServices of deploy/example say.
// The end-to-end tests, `make demo` and `make bench` use it.
package mesh

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/lanedye/lanedye/e2e/envoy"
)

// GatewayHost is the host name the gateway's certificate is for.
const GatewayHost = "myapp.example.com"

// Options describe a mesh to start.
type Options struct {
	Root    string // repository root: deploy/ and build/lanedye-<role>.wasm
	Envoy   string // the Envoy binary
	Dir     string // bootstraps, logs and the certificate go here
	Forward Forwarding
	// Concurrency is each Envoy's worker count (default 2: inbound and
	// outbound of one request can land on different worker VMs).
	Concurrency int
	LogLevel    string
	// GatewayConfig replaces the gateway's pluginConfig from deploy/.
	GatewayConfig []byte
}

// Mesh is a running mesh.
type Mesh struct {
	GatewayURL string // "https://127.0.0.1:PORT"
	Gateway    *envoy.Process
	Sidecars   map[string]*envoy.Process // by "service-version"
	Topology   *Topology

	servers []*http.Server
	pool    *x509.CertPool
}

// Start starts the applications and every Envoy (in parallel, as many at
// once as envoy.Start allows: each compiles its module first) and returns
// once all are ready. A start that loses one
// of its ports to another process between FreePort and the bind is
// retried on new ports, twice at most.
func Start(o Options) (*Mesh, error) {
	var err error
	for range 3 {
		var m *Mesh
		if m, err = start(o); err == nil || !PortTaken(err) {
			return m, err
		}
	}
	return nil, err
}

// PortTaken reports whether a start failed because a port drawn by
// FreePort was taken before the bind: the start may then be retried on
// new ports.
func PortTaken(err error) bool {
	return strings.Contains(strings.ToLower(err.Error()), "address already in use")
}

func start(o Options) (*Mesh, error) {
	topo, err := LoadTopology(o.Root)
	if err != nil {
		return nil, err
	}
	if o.GatewayConfig != nil {
		topo.Gateway = o.GatewayConfig
	}
	gatewayWasm, err := Module(o.Root, "gateway")
	if err != nil {
		return nil, err
	}
	sidecarWasm, err := Module(o.Root, "sidecar")
	if err != nil {
		return nil, err
	}
	m := &Mesh{Topology: topo, Sidecars: map[string]*envoy.Process{}}
	certPEM, cert, key, err := selfSigned(o.Dir)
	if err != nil {
		return nil, err
	}
	m.pool = x509.NewCertPool()
	m.pool.AppendCertsFromPEM(certPEM)

	var portErr error
	gateway, sidecars, insts := Plan(topo, func() int {
		p, err := FreePort()
		portErr = errors.Join(portErr, err)
		return p
	})
	if portErr != nil {
		return nil, portErr
	}
	appClient := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	for _, i := range insts {
		app := &App{Service: i.Service, Version: i.Version, LaneHeader: topo.LaneHeader, RouteHeader: topo.RouteHeader, Next: topo.Next[i.Service],
			Egress: fmt.Sprintf("127.0.0.1:%d", i.Out), Forward: o.Forward, Client: appClient}
		if err := m.serve(app, i.App); err != nil {
			m.Close()
			return nil, err
		}
	}

	type job struct {
		name string
		b    Bootstrap
		cfg  []byte
		wasm string
	}
	jobs := []job{{"gateway", gateway, topo.Gateway, gatewayWasm}}
	for _, i := range insts {
		b := sidecars[i.Name()]
		b.NodeLabels = topo.Labels[i.Name()]
		jobs = append(jobs, job{i.Name(), b, topo.Sidecar, sidecarWasm})
	}
	procs := make([]*envoy.Process, len(jobs))
	errs := make([]error, len(jobs))
	var wg sync.WaitGroup
	for n, j := range jobs {
		j.b.Plugin = Plugin{Wasm: j.wasm, Config: string(j.cfg)}
		if j.name == "gateway" {
			j.b.Plugin.Env = topo.GatewayEnv
		}
		j.b.Cert, j.b.Key = cert, key
		data, err := j.b.Render()
		if err != nil {
			m.Close()
			return nil, err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			procs[n], errs[n] = envoy.Start(o.Envoy, envoy.Options{Name: j.name, Dir: o.Dir, Bootstrap: data,
				Concurrency: o.Concurrency, LogLevel: o.LogLevel, Module: j.wasm})
		}()
	}
	wg.Wait()
	for n, p := range procs {
		if p == nil {
			continue
		}
		if jobs[n].name == "gateway" {
			m.Gateway = p
		} else {
			m.Sidecars[jobs[n].name] = p
		}
	}
	if err := errors.Join(errs...); err != nil {
		m.Close()
		return nil, err
	}
	m.GatewayURL = fmt.Sprintf("https://127.0.0.1:%d", gateway.Listeners[0].Port)
	return m, nil
}

// Module returns the absolute path of a role's module, which must exist:
// build/lanedye-<role>.wasm under root, or LANEDYE_<ROLE>_WASM (make test
// points it at the poisoning build).
func Module(root, role string) (string, error) {
	name := filepath.Join(root, "build", "lanedye-"+role+".wasm")
	if p := os.Getenv("LANEDYE_" + strings.ToUpper(role) + "_WASM"); p != "" {
		name = p
	}
	p, err := filepath.Abs(name)
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("the %s module is required (make build): %w", role, err)
	}
	return p, nil
}

// Envoys returns every Envoy of the mesh by name: "gateway" and the
// sidecars' "service-version".
func (m *Mesh) Envoys() map[string]*envoy.Process {
	out := map[string]*envoy.Process{"gateway": m.Gateway}
	for k, v := range m.Sidecars {
		out[k] = v
	}
	return out
}

// Client returns a new HTTP client, without a cookie jar, that trusts the
// gateway's certificate and speaks HTTP/2 (h2) or HTTP/1.1 to it.
func (m *Mesh) Client(h2 bool) *http.Client {
	return &http.Client{Timeout: 15 * time.Second, Transport: &http.Transport{
		TLSClientConfig:   &tls.Config{RootCAs: m.pool, ServerName: GatewayHost},
		ForceAttemptHTTP2: h2,
	}}
}

// Close stops every Envoy and application.
func (m *Mesh) Close() {
	var wg sync.WaitGroup
	for _, p := range m.Envoys() {
		if p != nil {
			wg.Add(1)
			go func() { defer wg.Done(); p.Stop() }()
		}
	}
	wg.Wait()
	for _, s := range m.servers {
		_ = s.Close()
	}
}

func (m *Mesh) serve(h http.Handler, port int) error {
	l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		return err
	}
	s := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	m.servers = append(m.servers, s)
	go func() { _ = s.Serve(l) }()
	return nil
}

// selfSigned writes a certificate for GatewayHost under dir and returns its
// PEM and the certificate and key file paths.
func selfSigned(dir string) (certPEM []byte, cert, key string, err error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, "", "", err
	}
	tpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: GatewayHost},
		DNSNames: []string{GatewayHost}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA: true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, &k.PublicKey, k)
	if err != nil {
		return nil, "", "", err
	}
	kd, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		return nil, "", "", err
	}
	certPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	cert, key = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(cert, certPEM, 0o600); err != nil {
		return nil, "", "", err
	}
	err = os.WriteFile(key, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kd}), 0o600)
	return certPEM, cert, key, err
}
