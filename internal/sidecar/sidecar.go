// Package sidecar carries a lane across a service without application
// changes. Inbound, it remembers correlation id -> lane in a fixed set of
// shared-data slots; outbound, it puts the lane header back on application
// calls that carry the same correlation id, and computes the fallback route.
package sidecar

import (
	"errors"

	"github.com/lanedye/lanedye/internal/config"
	"github.com/lanedye/lanedye/internal/lane"
	"github.com/lanedye/lanedye/internal/propagation"
	"github.com/lanedye/lanedye/internal/rules"
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
	switch d := uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 |
		uint64(b[4])<<32 | uint64(b[5])<<40 | uint64(b[6])<<48 | uint64(b[7])<<56; d {
	case 1:
		return Inbound
	case 2:
		return Outbound
	}
	return Unknown
}

// maxCASRetries bounds the read-modify-write loop on a contended slot.
const maxCASRetries = 3

// Result is what the plugin must do and count for one request.
type Result struct {
	Lane    int // lane.None: no lane known
	Source  lane.Source
	SetLane bool   // set the lane header to Lane
	Baggage string // new baggage header value; "" leaves it alone
	Route   int    // fallback route lane; lane.None without a fallback section
	// StripRoute removes a route header the application forwarded from its
	// own inbound request: it was computed for this service, not the next.
	StripRoute bool

	Stored           int  // ids stored (inbound)
	Overwritten      bool // a fresh mapping of another id was replaced
	RetriesExhausted bool
	Hit, Miss        bool // outbound lookup
	Expired          bool // outbound: this id's mapping had expired
	NoID             bool // a lane to store or restore, but no correlation id
	Err              error
}

// maxKeys is the most correlation ids read from one request; configurations
// list at most the seven kinds plus custom headers, rarely more than three.
const maxKeys = 8

// HandleInbound remembers the request's lane under every correlation id it
// carries. now is unix milliseconds.
func HandleInbound(cfg *config.Config, r *rules.Request, st propagation.Store, now int64) Result {
	res := Result{Lane: lane.None, Route: lane.None}
	p := cfg.Propagation
	if v, ok := r.Header(cfg.LaneHeaderID); ok {
		if l, known := cfg.Lanes.Lookup(v); known {
			res.Lane, res.Source = l, lane.SourceHeader
		}
	}
	if res.Lane == lane.None && p != nil && p.Baggage != "" {
		if b, ok := r.Header(p.BaggageID); ok {
			if v, ok := propagation.BaggageGet(b, p.Baggage); ok {
				if l, known := cfg.Lanes.Lookup(v); known {
					// The application sees the lane as a header too.
					res.Lane, res.Source, res.SetLane = l, lane.SourceBaggage, true
				}
			}
		}
	}
	if res.Lane == lane.None || p == nil {
		return res
	}
	var buf [maxKeys]propagation.ID
	ids := propagation.Extract(buf[:0], p.Keys, r)
	if len(ids) == 0 {
		res.NoID = true
		return res
	}
	name := cfg.Lanes.Name(res.Lane)
	expiry := now + int64(p.TTL)*1000
	ids = dedupe(ids)
	// Ids sharing a slot are written together, so each keeps its mapping.
	var handled [maxKeys]bool
	for i := range ids {
		if handled[i] {
			continue
		}
		slot := propagation.SlotOf(ids[i], p.Slots)
		var group [maxKeys]propagation.ID
		n := 0
		for j := i; j < len(ids); j++ {
			if !handled[j] && (j == i || propagation.SlotOf(ids[j], p.Slots) == slot) {
				handled[j] = true
				group[n] = ids[j]
				n++
			}
		}
		if err := store(st, propagation.SlotKey(slot), group[:n], name, expiry, now, p.Ways, i == 0, &res); err != nil {
			res.Err = err
			return res
		}
		res.Stored += n
	}
	return res
}

// dedupe drops ids equal to an earlier one (two keys carrying the same id)
// and keeps at most maxKeys.
func dedupe(ids []propagation.ID) []propagation.ID {
	out := ids[:0]
	for _, id := range ids {
		dup := false
		for _, o := range out {
			dup = dup || o.Same(id)
		}
		if !dup && len(out) < maxKeys {
			out = append(out, id)
		}
	}
	return out
}

// store writes id -> lane into its slot, newest wins, with a bounded CAS
// retry. The slot is read first when it holds several mappings (they must be
// kept) and for the first id (to count evictions); a single-mapping slot of a
// further id is written blind: cas 0 is unconditional in Envoy, and hosts that
// insist on a token answer CasMismatch, which falls back to reading.
func store(st propagation.Store, key string, ids []propagation.ID, lane string, expiry, now int64, ways int, first bool, res *Result) error {
	read := ways > 1 || first || len(ids) > 1
	for attempt := 0; ; attempt++ {
		var old []byte
		var cas uint32
		if read {
			v, c, err := st.Get(key)
			switch {
			case err == nil:
				old, cas = v, c
			case !errors.Is(err, propagation.ErrNotFound):
				return err
			}
		}
		val, evicted := propagation.Merge(old, ids, lane, expiry, now, ways)
		err := st.Set(key, val, cas)
		if err == nil {
			res.Overwritten = res.Overwritten || evicted
			return nil
		}
		if !errors.Is(err, propagation.ErrCasMismatch) {
			return err
		}
		if attempt == maxCASRetries {
			res.RetriesExhausted = true
			return nil
		}
		read = true
	}
}

// HandleOutbound restores the lane on an application's call and computes the
// route lane for its destination.
func HandleOutbound(cfg *config.Config, r *rules.Request, st propagation.Store, now int64) Result {
	res := Result{Lane: lane.None, Route: lane.None}
	p := cfg.Propagation
	if v, ok := r.Header(cfg.LaneHeaderID); ok {
		if l, known := cfg.Lanes.Lookup(v); known {
			// The application propagated it: keep it.
			res.Lane, res.Source = l, lane.SourceHeader
		}
	}
	if res.Lane == lane.None && p != nil {
		lookup(cfg, r, st, now, &res)
	}
	if cfg.Fallback != nil {
		l := res.Lane
		if l == lane.None {
			l = lane.Default
		}
		res.Route = cfg.Fallback.Table.Route(r.Host(), l)
	} else if r.Count(cfg.RouteHeaderID) > 0 {
		res.StripRoute = true
	}
	return res
}

func lookup(cfg *config.Config, r *rules.Request, st propagation.Store, now int64, res *Result) {
	p := cfg.Propagation
	// One read per request: the first id present. Envoy generates a fresh
	// x-request-id when the application forwards none, so ids the
	// application forwards belong earlier in keys.
	id, ok := propagation.First(p.Keys, r)
	if !ok {
		res.NoID = true
		return
	}
	v, _, err := st.Get(propagation.SlotKey(propagation.SlotOf(id, p.Slots)))
	if err != nil {
		if errors.Is(err, propagation.ErrNotFound) {
			res.Miss = true
		} else {
			res.Err = err
		}
		return
	}
	name, s := propagation.Inspect(v, id, now)
	switch s {
	case propagation.Fresh:
		l, known := cfg.Lanes.LookupBytes(name)
		if !known {
			res.Miss = true // a lane removed since it was stored: never propagate it
			return
		}
		res.Hit = true
		res.Lane, res.Source, res.SetLane = l, lane.SourcePropagated, true
		if p.Baggage != "" {
			old, _ := r.Header(p.BaggageID)
			if nb, ok := propagation.BaggageSet(old, p.Baggage, cfg.Lanes.Name(l)); ok {
				res.Baggage = nb
			}
		}
	case propagation.Expired:
		res.Expired = true
	default:
		res.Miss = true
	}
}
