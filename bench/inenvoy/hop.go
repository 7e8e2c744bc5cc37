package inenvoy

import (
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/lanedye/lanedye/e2e/envoy"
	"github.com/lanedye/lanedye/e2e/mesh"
)

// HopSetup is one sidecar hop: a sidecar Envoy whose INBOUND listener
// fronts a small application and whose OUTBOUND listener carries the
// application's call to Service, both loading Plugin with one vm_id (as
// Istio's CLIENT_AND_SERVER does). The application forwards nothing but
// x-request-id, so the lane reaches the outbound call only through the
// sidecar.
type HopSetup struct {
	Name   string
	Plugin mesh.Plugin
	// Service is the host the application calls; the outbound route sends
	// requests whose RouteHeader is Lane to the lane's cluster, the others
	// to the default one. Both clusters are the upstream.
	Service, RouteHeader, Lane string
	Mix                        Mix // carries the lane header the gateway set
}

// Clusters returns the names of the outbound lane's cluster and the
// default one.
func (s HopSetup) Clusters() (lane, other string) { return "upstream-" + s.Lane, "upstream-default" }

// Hop is a running sidecar hop: its Envoy, the application and the
// upstream.
type Hop struct {
	Envoy *envoy.Process
	URL   string // the inbound listener, "http://127.0.0.1:PORT"

	servers []*http.Server
}

// StartHop starts the upstream, the application and the sidecar Envoy.
func StartHop(l Launch, dir string, s HopSetup) (h *Hop, err error) {
	h = &Hop{}
	defer func() {
		if err != nil {
			h.Stop()
		}
	}()
	up, upPort, err := serve(http.HandlerFunc(answer))
	if err != nil {
		return nil, err
	}
	h.servers = append(h.servers, up)
	in, err := mesh.FreePort()
	if err != nil {
		return nil, err
	}
	out, err := mesh.FreePort()
	if err != nil {
		return nil, err
	}
	a := &app{egress: fmt.Sprintf("127.0.0.1:%d", out), host: s.Service, client: &http.Client{
		Transport: &http.Transport{MaxIdleConnsPerHost: 64, DisableCompression: true}, Timeout: 10 * time.Second}}
	appSrv, appPort, err := serve(a)
	if err != nil {
		return nil, err
	}
	h.servers = append(h.servers, appSrv)
	lane, other := s.Clusters()
	b := mesh.Bootstrap{
		Listeners: []mesh.Listener{
			{Name: "inbound", Direction: "INBOUND", Port: in, Hosts: []mesh.VirtualHost{{Name: "local", Domains: []string{"*"}, Default: "app"}}},
			{Name: "outbound", Direction: "OUTBOUND", Port: out, Hosts: []mesh.VirtualHost{{
				Name: s.Service, Domains: []string{"*"}, Default: other,
				Rules: []mesh.RouteRule{{Header: s.RouteHeader, Exact: s.Lane, Cluster: lane}},
			}}},
		},
		Clusters: []mesh.Cluster{{Name: "app", Port: appPort}, {Name: other, Port: upPort}, {Name: lane, Port: upPort}},
		Plugin:   s.Plugin,
	}
	data, err := b.Render()
	if err != nil {
		return nil, err
	}
	if h.Envoy, err = envoy.Start(l.Bin, l.options(s.Name, dir, data, s.Plugin.Wasm)); err != nil {
		return nil, err
	}
	h.URL = fmt.Sprintf("http://127.0.0.1:%d", in)
	return h, nil
}

// Stop stops Envoy, the application and the upstream.
func (h *Hop) Stop() {
	if h.Envoy != nil {
		h.Envoy.Stop()
	}
	for _, s := range h.servers {
		_ = s.Close()
	}
}

// app is the application behind the sidecar: it calls its service through
// the outbound listener, forwarding only x-request-id, as the example
// applications do, and knows nothing about lanes.
type app struct {
	egress, host string
	client       *http.Client
}

func (a *app) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	req, err := http.NewRequestWithContext(r.Context(), http.MethodGet, "http://"+a.egress+r.URL.RequestURI(), nil)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	req.Host = a.host
	if id := r.Header.Get("x-request-id"); id != "" {
		req.Header.Set("x-request-id", id)
	}
	resp, err := a.client.Do(req)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		http.Error(w, a.host+": "+resp.Status, http.StatusBadGateway)
		return
	}
	w.Header().Set("content-type", "text/plain")
	_, _ = w.Write([]byte("ok\n"))
}
