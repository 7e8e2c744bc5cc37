// Package inenvoy measures filters inside real Envoy: one Envoy per setup
// (no filter, a reference module, a Lua script, lanedye) in front of an
// upstream that answers at once, driven by the same browser-like requests.
// It reports Envoy's own CPU time per request, latency, resident memory and
// how long each worker's Wasm VM takes to start. `make bench` uses it.
package inenvoy

import (
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/lanedye/lanedye/e2e/envoy"
	"github.com/lanedye/lanedye/e2e/mesh"
)

// Setup is one filter configuration of the measured Envoy.
type Setup struct {
	Name   string
	Plugin mesh.Plugin // a Wasm filter, or none (Plugin.Wasm "")
	Lua    string      // a Lua filter's source, or ""
	// RouteHeader and Lane: requests whose RouteHeader is Lane go to the
	// lane's cluster, the others to the default one, as a VirtualService
	// routing on the lane header does. Both clusters are the upstream.
	RouteHeader, Lane string
	// Mix is what this setup's requests carry beyond the common mix.
	Mix Mix
	// StickyCookie is the name of the cookie the filter issues and honours
	// ("" none); Compare fetches a valid one with a dyed request.
	StickyCookie string
}

// Clusters returns the names of the lane's cluster and the default one.
func (s Setup) Clusters() (lane, other string) { return "upstream-" + s.Lane, "upstream-default" }

// Gateway is a running Envoy of one setup and its upstream.
type Gateway struct {
	Envoy *envoy.Process
	URL   string // "http://127.0.0.1:PORT"

	upstream *http.Server
}

// Launch is how a measured Envoy is started.
type Launch struct {
	Bin         string
	Concurrency int
	Args        []string // more Envoy arguments
	Wrap        []string // a command Envoy runs under (valgrind), or none
}

func (l Launch) options(name, dir string, bootstrap []byte, module string) envoy.Options {
	o := envoy.Options{Name: name, Dir: dir, Bootstrap: bootstrap, Concurrency: l.Concurrency, Args: l.Args, Wrap: l.Wrap, Module: module}
	if len(l.Wrap) > 0 {
		o.Ready = 15 * time.Minute // V8 compiling the module under an instrumenting tool
	}
	return o
}

// StartGateway starts the upstream and an Envoy for s.
func StartGateway(l Launch, dir string, s Setup) (*Gateway, error) {
	up, upPort, err := serve(http.HandlerFunc(answer))
	if err != nil {
		return nil, err
	}
	port, err := mesh.FreePort()
	if err != nil {
		_ = up.Close()
		return nil, err
	}
	lane, other := s.Clusters()
	b := mesh.Bootstrap{
		Listeners: []mesh.Listener{{Name: "gateway", Port: port, Hosts: []mesh.VirtualHost{{
			Name: "app", Domains: []string{"*"}, Default: other,
			Rules: []mesh.RouteRule{{Header: s.RouteHeader, Exact: s.Lane, Cluster: lane}},
		}}}},
		Clusters: []mesh.Cluster{{Name: other, Port: upPort}, {Name: lane, Port: upPort}},
		Plugin:   s.Plugin,
		Lua:      s.Lua,
	}
	data, err := b.Render()
	if err != nil {
		_ = up.Close()
		return nil, err
	}
	p, err := envoy.Start(l.Bin, l.options(s.Name, dir, data, s.Plugin.Wasm))
	if err != nil {
		_ = up.Close()
		return nil, err
	}
	return &Gateway{Envoy: p, URL: fmt.Sprintf("http://127.0.0.1:%d", port), upstream: up}, nil
}

// Stop stops Envoy and the upstream.
func (g *Gateway) Stop() {
	g.Envoy.Stop()
	_ = g.upstream.Close()
}

// serve serves h on a free port of 127.0.0.1.
func serve(h http.Handler) (*http.Server, int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, 0, err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(l) }()
	return srv, l.Addr().(*net.TCPAddr).Port, nil
}

// answer is the upstream: it answers at once.
func answer(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("content-type", "text/plain")
	_, _ = w.Write([]byte("ok\n"))
}
