package mesh

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// Hop is one application that served part of a request.
type Hop struct {
	Service string `json:"service"`
	Version string `json:"version"`
	// Lane and Route are the lane and route headers the application saw.
	Lane  string `json:"lane,omitempty"`
	Route string `json:"route,omitempty"`
	// Baggage is the W3C baggage the application received.
	Baggage string `json:"baggage,omitempty"`
	// RequestID is the x-request-id the application received.
	RequestID string `json:"request_id,omitempty"`
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

// AppCookie is the cookie an application sets when a request asks for it
// with the query parameter set-cookie=1: the gateway's sticky cookie must
// reach the client beside it, not instead of it.
const AppCookie = "app-pref"

// App is an application: it answers with the hops that served the request
// (its own service and version, then those of the service it calls through
// its sidecar's outbound listener), forwarding only one correlation header.
// It knows nothing about lanes. A request can override what it forwards
// with the query parameter forward=x-request-id|traceparent|none.
type App struct {
	Service, Version string
	LaneHeader       string // reported in Hop.Lane, never forwarded
	RouteHeader      string // reported in Hop.Route, never forwarded
	Next             string // the service it calls; "" for none
	Egress           string // host:port of its sidecar's outbound listener
	Forward          Forwarding
	Client           *http.Client
}

func (a *App) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hops := []Hop{{a.Service, a.Version, r.Header.Get(a.LaneHeader), r.Header.Get(a.RouteHeader),
		strings.Join(r.Header.Values("baggage"), ","), r.Header.Get("x-request-id")}}
	if a.Next != "" {
		rest, err := a.call(r)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		hops = append(hops, rest...)
	}
	if r.URL.Query().Get("set-cookie") == "1" {
		w.Header().Add("set-cookie", AppCookie+"="+a.Service+"; Path=/")
	}
	w.Header().Set("content-type", "application/json")
	_ = json.NewEncoder(w).Encode(hops)
}

func (a *App) call(r *http.Request) ([]Hop, error) {
	req, err := http.NewRequest(http.MethodGet, "http://"+a.Egress+r.URL.RequestURI(), nil)
	if err != nil {
		return nil, err
	}
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
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		return nil, fmt.Errorf("%s called %s: %d %s", a.Service, a.Next, resp.StatusCode, b)
	}
	var rest []Hop
	err = json.NewDecoder(resp.Body).Decode(&rest)
	return rest, err
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand is safe for concurrent use
	return hex.EncodeToString(b)
}

func newSpanID() string { return randomHex(8) }

// NewTraceparent returns a sampled W3C traceparent for a new trace.
func NewTraceparent() string { return "00-" + randomHex(16) + "-" + newSpanID() + "-01" }
