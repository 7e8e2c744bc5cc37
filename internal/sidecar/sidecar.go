// Package sidecar carries a lane across a service without application
// changes. Inbound, it remembers correlation id -> lane in a fixed set of
// shared-data slots; outbound, it puts the lane header back on application
// calls that carry the same correlation id, and computes the fallback route.
package sidecar

import (
	"encoding/binary"

	"github.com/lanedye/lanedye/internal/fallback"
	"github.com/lanedye/lanedye/internal/lane"
	"github.com/lanedye/lanedye/internal/propagation"
	"github.com/lanedye/lanedye/internal/request"
)

// Direction is Envoy's listener_direction.
type Direction uint8

// Directions, as Envoy numbers them.
const (
	Unknown  Direction = 0
	Inbound  Direction = 1
	Outbound Direction = 2
)

// ParseDirection decodes the listener_direction property: a little-endian
// 64-bit integer.
func ParseDirection(b []byte) Direction {
	if len(b) != 8 {
		return Unknown
	}
	switch d := binary.LittleEndian.Uint64(b); d {
	case uint64(Inbound), uint64(Outbound):
		return Direction(d)
	}
	return Unknown
}

// Options are the compiled parts a Sidecar works with.
type Options struct {
	Lanes       *lane.Set
	LaneHeader  request.HeaderID
	RouteHeader request.HeaderID
	// Keys are the correlation ids in lookup order; none: no propagation.
	Keys  []propagation.Key
	TTL   int64 // milliseconds a mapping stays valid
	Slots int
	Ways  int // mappings per slot
	// Baggage is the W3C baggage member that carries the lane; "" off.
	Baggage       string
	BaggageHeader request.HeaderID
	Fallback      *fallback.Table // nil: no route header
}

// Sidecar handles one workload's requests. It is immutable.
type Sidecar struct {
	o Options
	// workload is the lane of the workload itself (its pod's lane label),
	// given to outbound calls that carry none; lane.None: none. Only the
	// plugin knows it, at start (WithWorkloadLane).
	workload lane.ID
}

// New returns a Sidecar working with o.
func New(o Options) *Sidecar { return &Sidecar{o: o, workload: lane.None} }

// WithWorkloadLane returns a Sidecar that gives outbound calls without a
// lane the workload's own lane l (lane.None: none).
func (s *Sidecar) WithWorkloadLane(l lane.ID) *Sidecar { return &Sidecar{o: s.o, workload: l} }

// HasFallback reports whether the sidecar sets a route header.
func (s *Sidecar) HasFallback() bool { return s.o.Fallback != nil }

// Action is what the plugin must do to one request.
type Action struct {
	Lane    lane.ID // lane.None: no lane known
	Source  lane.Source
	SetLane bool // set the lane header to Lane
	// Baggage is the new baggage header value, built in the request's
	// Scratch: valid until the request's next Scratch. Empty leaves the
	// header alone.
	Baggage []byte
	Route   lane.ID
	// StripRoute removes a route header the application forwarded from its
	// own inbound request: it was computed for this service, not the next.
	StripRoute bool
}

// Stats are what the plugin counts for one request.
type Stats struct {
	Stored      int  // ids stored (inbound): written, or given up after retries
	Overwritten bool // a fresh mapping of another id was replaced
	// CASRetries counts the writes tried again after a CAS conflict: another
	// worker wrote the slot between this store's read and its write.
	CASRetries       int
	RetriesExhausted bool
	Hit, Miss        bool // outbound lookup
	Expired          bool // outbound: this id's mapping had expired
	NoID             bool // a lane to store or restore, but no correlation id
}

// Result is the outcome for one request: what to do, what to count, and a
// shared-data error (the request then goes on as Action says).
type Result struct {
	Action
	Stats
	Err error
}

// fromHeader starts a Result with the lane of the request's lane header; a
// value that is not a configured lane counts as no header.
func (s *Sidecar) fromHeader(r *request.Request) Result {
	res := Result{Action: Action{Lane: lane.None, Route: lane.None}}
	if v, ok := r.Header(s.o.LaneHeader); ok {
		if l, known := s.o.Lanes.Lookup(v); known {
			res.Lane, res.Source = l, lane.SourceHeader
		}
	}
	return res
}
