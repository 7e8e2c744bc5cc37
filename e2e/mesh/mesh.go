// Package mesh runs a service mesh on 127.0.0.1 whose proxies execute the
// real lanedye module: an ingress gateway, and for every service version an
// application behind its own sidecar (an inbound and an outbound listener
// sharing one plugin instance, as in one Envoy). Proxies route the way the
// example VirtualServices in deploy/example say; plugin configurations come
// from the WasmPlugins in deploy/plugins.
//
// What the proxies do as Envoy does: lower-case header names and
// :authority/:path/:method/:scheme pseudo-headers; an x-request-id generated
// by every listener when the request has none; listener_direction 1 on
// inbound and 2 on outbound listeners; the full Proxy-Wasm stream lifecycle;
// routing on exact header matches with a default route, and 503 for a subset
// without endpoints. What they do not: bodies on the request path,
// retries, load balancing between replicas, TLS.
package mesh

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/lanedye/lanedye/internal/wasmhost"
)

// Hop is one application that served part of a request.
type Hop struct {
	Service string `json:"service"`
	Version string `json:"version"`
}

// Forwarding says which correlation header the applications copy to the
// calls they make. Nothing else is forwarded.
type Forwarding string

// Forwarding modes.
const (
	ForwardRequestID   Forwarding = "x-request-id"
	ForwardTraceparent Forwarding = "traceparent" // as instrumented apps: same trace, new span
	ForwardNone        Forwarding = "none"
)

// Route is a VirtualService's HTTP routes for one host.
type Route struct {
	Rules   []Rule
	Default string // subset
	Service string // destination service
}

// Rule is an exact header match routing to a subset.
type Rule struct{ Header, Exact, Subset string }

// Topology is what the mesh runs.
type Topology struct {
	Gateway, Sidecar []byte              // plugin configurations (JSON)
	GatewayHost      string              // the host the gateway serves
	Routes           map[string]Route    // by host: the gateway host and service names
	Services         map[string][]string // service -> versions deployed
	Next             map[string]string   // service -> the service it calls
}

// LoadTopology reads deploy/plugins and deploy/example under dir (the
// repository root).
func LoadTopology(dir string) (*Topology, error) {
	t := &Topology{Routes: map[string]Route{}, Services: map[string][]string{}, Next: map[string]string{}}
	err := filepath.WalkDir(filepath.Join(dir, "deploy"), func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || filepath.Ext(p) != ".yaml" || filepath.Base(p) == "kustomization.yaml" {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for _, doc := range strings.Split(string(data), "\n---") {
			if err := t.add([]byte(doc)); err != nil {
				return fmt.Errorf("%s: %w", p, err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if t.Gateway == nil || t.Sidecar == nil || t.GatewayHost == "" {
		return nil, errors.New("deploy/ lacks the gateway or sidecar WasmPlugin or the gateway VirtualService")
	}
	return t, nil
}

type manifest struct {
	Kind     string
	Metadata struct{ Name string }
	Spec     struct {
		PluginConfig json.RawMessage `json:"pluginConfig"`
		Hosts        []string
		Gateways     []string
		HTTP         []struct {
			Match []struct {
				Headers map[string]struct{ Exact string }
			}
			Route []struct {
				Destination struct{ Host, Subset string }
			}
		} `json:"http"`
		Template struct {
			Metadata struct{ Labels map[string]string }
			Spec     struct {
				Containers []struct {
					Env []struct{ Name, Value string }
				}
			}
		}
	}
}

func (t *Topology) add(doc []byte) error {
	var m manifest
	if err := yaml.Unmarshal(doc, &m); err != nil {
		return err
	}
	switch m.Kind {
	case "WasmPlugin":
		var role struct{ Role string }
		_ = json.Unmarshal(m.Spec.PluginConfig, &role)
		if role.Role == "gateway" {
			t.Gateway = m.Spec.PluginConfig
		} else {
			t.Sidecar = m.Spec.PluginConfig
		}
	case "VirtualService":
		var r Route
		for _, h := range m.Spec.HTTP {
			if len(h.Route) == 0 {
				continue
			}
			dst := h.Route[0].Destination
			r.Service = strings.SplitN(dst.Host, ".", 2)[0]
			if len(h.Match) == 0 {
				r.Default = dst.Subset
				continue
			}
			for name, v := range h.Match[0].Headers {
				r.Rules = append(r.Rules, Rule{Header: name, Exact: v.Exact, Subset: dst.Subset})
			}
		}
		for _, host := range m.Spec.Hosts {
			t.Routes[host] = r
			if len(m.Spec.Gateways) > 0 {
				t.GatewayHost = host
			}
		}
	case "Deployment":
		labels := m.Spec.Template.Metadata.Labels
		svc, ver := labels["app"], labels["version"]
		t.Services[svc] = append(t.Services[svc], ver)
		for _, c := range m.Spec.Template.Spec.Containers {
			for _, e := range c.Env {
				if e.Name == "upstream_url" {
					u := strings.TrimPrefix(e.Value, "http://")
					t.Next[svc] = strings.SplitN(strings.SplitN(u, ":", 2)[0], "/", 2)[0]
				}
			}
		}
	}
	return nil
}

// Mesh is a running mesh.
type Mesh struct {
	// GatewayURL is the ingress gateway's address ("http://127.0.0.1:port").
	GatewayURL string

	topo      *Topology
	module    *wasmhost.Module
	servers   []*http.Server
	gateway   *wasmhost.Instance
	sidecars  map[string]*wasmhost.Instance // "service/version"
	endpoints map[string]string             // "service/version" -> inbound address
	client    *http.Client
	forward   Forwarding
	tls       *httptest.Server
}

// Start compiles the module and starts every proxy and application.
// Applications forward the given correlation header; a request can override
// it with the query parameter forward=x-request-id|traceparent|none.
func Start(ctx context.Context, wasm []byte, topo *Topology, forward Forwarding) (*Mesh, error) {
	mod, err := wasmhost.Compile(ctx, wasm)
	if err != nil {
		return nil, err
	}
	m := &Mesh{topo: topo, module: mod, sidecars: map[string]*wasmhost.Instance{}, endpoints: map[string]string{},
		forward: forward, client: &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}}
	if m.gateway, err = mod.NewInstance(ctx, topo.Gateway); err != nil {
		m.Close()
		return nil, fmt.Errorf("gateway: %w", err)
	}
	for svc, versions := range topo.Services {
		for _, ver := range versions {
			key := svc + "/" + ver
			in, err := mod.NewInstance(ctx, topo.Sidecar)
			if err != nil {
				m.Close()
				return nil, fmt.Errorf("sidecar %s: %w", key, err)
			}
			m.sidecars[key] = in
			egress, err := m.serve(&proxy{m: m, in: in, dir: 2})
			if err != nil {
				m.Close()
				return nil, err
			}
			appAddr, err := m.serve(&App{Service: svc, Version: ver, Next: topo.Next[svc], Egress: egress, Forward: forward, Client: m.client})
			if err != nil {
				m.Close()
				return nil, err
			}
			ingress, err := m.serve(&proxy{m: m, in: in, dir: 1, local: appAddr})
			if err != nil {
				m.Close()
				return nil, err
			}
			m.endpoints[key] = ingress
		}
	}
	// The gateway terminates TLS, as an ingress does: sticky cookies are
	// Secure, and a browser sends them back only over HTTPS.
	gw := httptest.NewUnstartedServer(&proxy{m: m, in: m.gateway})
	gw.StartTLS()
	m.tls = gw
	m.GatewayURL = gw.URL
	return m, nil
}

// Client returns a new HTTP client (no cookie jar) that trusts the gateway's
// certificate. Each call returns a distinct client: callers set their own jar.
func (m *Mesh) Client() *http.Client {
	return &http.Client{Transport: m.tls.Client().Transport, Timeout: 10 * time.Second}
}

func (m *Mesh) serve(h http.Handler) (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	s := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	m.servers = append(m.servers, s)
	go s.Serve(l)
	return l.Addr().String(), nil
}

// Close stops everything.
func (m *Mesh) Close() {
	if m.tls != nil {
		m.tls.Close()
	}
	for _, s := range m.servers {
		_ = s.Close()
	}
	if m.module != nil {
		_ = m.module.Close(context.Background())
	}
}

// Gateway returns the gateway's plugin instance.
func (m *Mesh) Gateway() *wasmhost.Instance { return m.gateway }

// Sidecar returns the plugin instance of a service version's sidecar.
func (m *Mesh) Sidecar(service, version string) *wasmhost.Instance {
	return m.sidecars[service+"/"+version]
}

// proxy is one Envoy listener: the gateway (dir 0), a sidecar's inbound
// listener in front of its application (dir 1), or its outbound listener the
// application sends its calls to (dir 2).
type proxy struct {
	m     *Mesh
	in    *wasmhost.Instance
	dir   uint64
	local string // inbound: the application
}

func (p *proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hs := [][2]string{{":authority", r.Host}, {":path", r.URL.RequestURI()}, {":method", r.Method}, {":scheme", "http"}}
	for k, vs := range r.Header {
		for _, v := range vs {
			hs = append(hs, [2]string{strings.ToLower(k), v})
		}
	}
	if r.Header.Get("x-request-id") == "" {
		hs = append(hs, [2]string{"x-request-id", newUUID()})
	}
	var props map[string][]byte
	if p.dir != 0 {
		b := make([]byte, 8)
		binary.LittleEndian.PutUint64(b, p.dir)
		props = map[string][]byte{"listener_direction": b}
	}
	s, err := p.in.NewStream(props)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	defer s.Done()
	if _, err := s.RequestHeaders(hs, true); err != nil {
		http.Error(w, "plugin: "+err.Error(), http.StatusInternalServerError)
		return
	}
	target, status := p.route(s.Req)
	var rsp [][2]string
	var body []byte
	if target == "" {
		rsp = [][2]string{{":status", fmt.Sprint(status)}}
		body = []byte("no healthy upstream")
	} else {
		rsp, body, err = p.forward(target, s.Req)
		if err != nil {
			rsp = [][2]string{{":status", "502"}}
			body = []byte(err.Error())
		}
	}
	if _, err := s.ResponseHeaders(rsp, false); err != nil {
		http.Error(w, "plugin: "+err.Error(), http.StatusInternalServerError)
		return
	}
	code := http.StatusOK
	for _, h := range s.Rsp {
		if h[0] == ":status" {
			fmt.Sscan(h[1], &code)
			continue
		}
		w.Header().Add(h[0], h[1])
	}
	w.WriteHeader(code)
	_, _ = w.Write(body)
}

// route picks the upstream address: the local application for inbound
// listeners; otherwise the VirtualService of the :authority host.
func (p *proxy) route(hs [][2]string) (string, int) {
	if p.dir == 1 {
		return p.local, 0
	}
	host := strings.SplitN(header(hs, ":authority"), ":", 2)[0]
	r, ok := p.m.topo.Routes[host]
	if !ok {
		r, ok = p.m.topo.Routes[strings.SplitN(host, ".", 2)[0]]
	}
	if !ok {
		return "", http.StatusNotFound
	}
	subset := r.Default
	for _, rule := range r.Rules {
		if header(hs, rule.Header) == rule.Exact {
			subset = rule.Subset
			break
		}
	}
	if addr, ok := p.m.endpoints[r.Service+"/"+subset]; ok {
		return addr, 0
	}
	return "", http.StatusServiceUnavailable // Istio's "no healthy upstream"
}

func (p *proxy) forward(addr string, hs [][2]string) ([][2]string, []byte, error) {
	req, err := http.NewRequest(header(hs, ":method"), "http://"+addr+header(hs, ":path"), nil)
	if err != nil {
		return nil, nil, err
	}
	for _, h := range hs {
		if strings.HasPrefix(h[0], ":") {
			continue
		}
		req.Header.Add(h[0], h[1])
	}
	req.Host = header(hs, ":authority")
	resp, err := p.m.client.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	rsp := [][2]string{{":status", fmt.Sprint(resp.StatusCode)}}
	for k, vs := range resp.Header {
		for _, v := range vs {
			rsp = append(rsp, [2]string{strings.ToLower(k), v})
		}
	}
	return rsp, body, err
}

func header(hs [][2]string, name string) string {
	for _, h := range hs {
		if h[0] == name {
			return h[1]
		}
	}
	return ""
}

// App is an application: it reports its service and version and those of
// the service it calls through its sidecar's egress listener, forwarding only
// one correlation header.
type App struct {
	Service, Version string
	Next             string // the service it calls; "" for none
	Egress           string // host:port of its outbound proxy listener
	Forward          Forwarding
	Client           *http.Client
}

func (a *App) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hops := []Hop{{a.Service, a.Version}}
	if a.Next != "" {
		req, _ := http.NewRequest(http.MethodGet, "http://"+a.Egress+r.URL.RequestURI(), nil)
		req.Host = a.Next
		mode := a.Forward
		if f := r.URL.Query().Get("forward"); f != "" {
			mode = Forwarding(f)
		}
		switch mode {
		case ForwardRequestID:
			if v := r.Header.Get("x-request-id"); v != "" {
				req.Header.Set("x-request-id", v)
			}
		case ForwardTraceparent:
			if v := r.Header.Get("traceparent"); len(v) == 55 {
				req.Header.Set("traceparent", v[:36]+newSpanID()+v[52:])
			}
		}
		resp, err := a.Client.Do(req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b, _ := io.ReadAll(resp.Body)
			http.Error(w, fmt.Sprintf("%s called %s: %d %s", a.Service, a.Next, resp.StatusCode, b), http.StatusBadGateway)
			return
		}
		var rest []Hop
		if err := json.NewDecoder(resp.Body).Decode(&rest); err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		hops = append(hops, rest...)
	}
	w.Header().Set("content-type", "application/json")
	_ = json.NewEncoder(w).Encode(hops)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand is safe for concurrent use
	return hex.EncodeToString(b)
}

func newUUID() string {
	h := randomHex(16)
	return h[0:8] + "-" + h[8:12] + "-4" + h[13:16] + "-" + h[16:20] + "-" + h[20:32]
}

func newSpanID() string { return randomHex(8) }

// NewTraceparent returns a sampled W3C traceparent for a new trace.
func NewTraceparent() string { return "00-" + randomHex(16) + "-" + newSpanID() + "-01" }
