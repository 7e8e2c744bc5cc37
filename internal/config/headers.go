package config

import (
	"github.com/lanedye/lanedye/internal/config/bind"
)

// reserved are the headers lane_header and fallback.route_header may not
// name: lanedye removes and rewrites both, so naming one of these would
// strip what clients, Envoy or tracing need (pseudo-headers are not
// tokens and fail earlier).
var reserved = map[string]bool{
	// Hop-by-hop (RFC 9110 §7.6.1, and what Envoy treats so).
	"connection": true, "keep-alive": true, "proxy-connection": true, "proxy-authenticate": true,
	"proxy-authorization": true, "te": true, "trailer": true, "transfer-encoding": true, "upgrade": true,
	// What requests and responses need as they are.
	"host": true, "cookie": true, "set-cookie": true, "content-length": true, "content-type": true,
	"authorization": true,
	// Correlation and tracing: lanedye reads them, applications forward them.
	"baggage": true, "traceparent": true, "tracestate": true, "x-request-id": true,
}

// checkHeaders refuses a lane or route header that is reserved, and the
// two being one header (docs/contract.md, Configuration).
func (p *parser) checkHeaders(laneSet bool) error {
	c := p.cfg
	if reserved[c.LaneHeader] {
		return bind.Err("lane_header", bind.Q(c.LaneHeader)+" is reserved: lanedye removes and rewrites the lane header")
	}
	if reserved[c.RouteHeader] {
		return bind.Err("fallback.route_header", bind.Q(c.RouteHeader)+" is reserved: lanedye removes and rewrites the route header")
	}
	if c.RouteHeader != c.LaneHeader {
		return nil
	}
	if laneSet && !p.fallback.Exists() {
		return bind.Err("lane_header", "must differ from the route header ("+bind.Q(c.RouteHeader)+", fallback.route_header's default)")
	}
	return bind.Err("fallback.route_header", "must differ from lane_header: the lane header travels unchanged")
}
