package config

import (
	"strings"

	"github.com/lanedye/lanedye/internal/config/bind"
)

// reservedHeaders are the headers lane_header and fallback.route_header may
// not name: lanedye removes and rewrites both, so naming one of these
// would strip what clients, Envoy or tracing need: the hop-by-hop headers
// (RFC 9110 §7.6.1), what requests and responses need as they are, and
// correlation and tracing (pseudo-headers are not tokens and fail
// earlier). One string, not a map: a map literal's initialisation costs
// every module kilobytes.
const reservedHeaders = " connection keep-alive proxy-connection proxy-authenticate proxy-authorization te trailer" +
	" transfer-encoding upgrade host cookie set-cookie content-length content-type authorization" +
	" baggage traceparent tracestate x-request-id "

func reserved(h string) bool {
	return h != "" && !strings.Contains(h, " ") && strings.Contains(reservedHeaders, " "+h+" ")
}

// checkHeaders refuses a lane or route header that is reserved, and the
// two being one header (docs/contract.md, Configuration).
func (p *parser) checkHeaders(laneSet bool) error {
	c := p.cfg
	if reserved(c.LaneHeader) {
		return bind.Err("lane_header", bind.Q(c.LaneHeader)+" is reserved: lanedye removes and rewrites the lane header")
	}
	if reserved(c.RouteHeader) {
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
