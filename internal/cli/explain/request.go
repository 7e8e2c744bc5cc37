// Package explain answers `lanedye explain`: the decision the plugin would
// make for one request, and why. It builds the request the way Envoy hands
// it to the plugin (lower-case header names, pseudo-headers, the cookie
// header) and asks the plugin's own code: gateway.Gateway.Explain, which
// calls Decide, and the sidecar's Inbound and Outbound.
package explain

import (
	"cmp"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/lanedye/lanedye/internal/httpsyntax"
)

// Request is the request to explain, as the command's flags give it.
type Request struct {
	Host    string      // :authority; "" takes a "host" header, else localhost
	Path    string      // :path, query string included; "" is "/"
	Method  string      // :method; "" is GET
	Headers [][2]string // further headers, in order
	Cookies []string    // "name=value", sent as one cookie header
	// SourceIP is the downstream address ("" unknown).
	SourceIP string
	// Direction is "inbound" or "outbound" on a sidecar, "" on a gateway.
	Direction string
	// InboundLane, on an outbound call (or at a waypoint), is the lane an
	// earlier request with the same correlation ids brought in (what the
	// sidecar or waypoint stored).
	InboundLane string
	// WorkloadLane, on a sidecar's outbound call, is the lane label's value
	// of the workload (what the sidecar read from its node metadata).
	WorkloadLane string
	Now          time.Time
}

// ParseHeader parses a "name: value" flag. The name is lower-cased, as
// Envoy delivers it; the value loses surrounding whitespace. Pseudo-headers
// have their own flags (--host, --path, --method).
func ParseHeader(s string) ([2]string, error) {
	name, value, ok := strings.Cut(s, ":")
	name = strings.ToLower(strings.TrimSpace(name))
	if !ok || !httpsyntax.ValidToken(name) {
		return [2]string{}, fmt.Errorf("header %q: want 'name: value' (--host, --path and --method set the pseudo-headers)", s)
	}
	return [2]string{name, strings.TrimSpace(value)}, nil
}

// ParseCookie checks a "name=value" flag.
func ParseCookie(s string) error {
	name, _, ok := strings.Cut(s, "=")
	if !ok || !httpsyntax.ValidToken(strings.TrimSpace(name)) {
		return fmt.Errorf("cookie %q: want 'name=value'", s)
	}
	return nil
}

// List returns the request's header list as the plugin receives it:
// :authority, :path, :method, :scheme, the headers in order, then one
// cookie header with the cookies.
func (q *Request) List() [][2]string {
	host := q.Host
	var rest [][2]string
	for _, h := range q.Headers {
		if h[0] == "host" {
			if host == "" {
				host = h[1]
			}
			continue
		}
		rest = append(rest, h)
	}
	hs := [][2]string{
		{":authority", cmp.Or(host, "localhost")}, {":path", cmp.Or(q.Path, "/")},
		{":method", cmp.Or(q.Method, "GET")}, {":scheme", "https"},
	}
	hs = append(hs, rest...)
	if len(q.Cookies) > 0 {
		hs = append(hs, [2]string{"cookie", strings.Join(q.Cookies, "; ")})
	}
	return hs
}

// Source returns the downstream address: the zero Addr when unknown.
func (q *Request) Source() (netip.Addr, error) {
	if q.SourceIP == "" {
		return netip.Addr{}, nil
	}
	a, err := netip.ParseAddr(q.SourceIP)
	if err != nil || a.Zone() != "" {
		return netip.Addr{}, errors.New("--source-ip " + q.SourceIP + ": not an IP address")
	}
	return a, nil
}
