package sidecar

import (
	"errors"
	"math"

	"github.com/lanedye/lanedye/internal/lane"
	"github.com/lanedye/lanedye/internal/propagation"
	"github.com/lanedye/lanedye/internal/request"
)

// maxCASRetries bounds the read-modify-write loop on a contended slot.
const maxCASRetries = 3

// casCreate is the token a slot found missing is written with. Envoy
// creates a missing key whatever the token, and fails a write to a key that
// exists unless the token is that key's. Its tokens count up across all
// keys of the process, so a key holds this one only if it was written by
// the process's (2^32-1)th write, or a multiple of it: then the write
// replaces it, as every creation did before.
const casCreate = math.MaxUint32

// maxKeys is the most correlation ids read from one request; configurations
// list at most the seven kinds plus custom headers, rarely more than three.
const maxKeys = propagation.MaxKeys

// Inbound remembers the request's lane under every correlation id it
// carries. now is unix milliseconds.
func (s *Sidecar) Inbound(r *request.Request, st propagation.Store, now int64) Result {
	res := s.laneIn(r)
	if res.Lane != lane.None {
		s.remember(r, st, now, &res)
	}
	return res
}

// laneIn is the lane a request brings: its lane header, else the lane
// member of its baggage, which the application then also sees as the lane
// header.
func (s *Sidecar) laneIn(r *request.Request) Result {
	o := &s.o
	res := s.fromHeader(r)
	if res.Lane == lane.None && o.Baggage != "" {
		if b, ok := r.Joined(o.BaggageHeader); ok {
			if v, ok := propagation.BaggageGet(b, o.Baggage); ok {
				if l, known := o.Lanes.Lookup(v); known {
					res.Lane, res.Source, res.SetLane = l, lane.SourceBaggage, true
				}
			}
		}
	}
	return res
}

// remember stores res.Lane under every correlation id of r.
func (s *Sidecar) remember(r *request.Request, st propagation.Store, now int64, res *Result) {
	o := &s.o
	if len(o.Keys) == 0 {
		return
	}
	var buf [maxKeys]propagation.ID
	ids := dedupe(propagation.Extract(buf[:0], o.Keys, r))
	if len(ids) == 0 {
		res.NoID = true
		return
	}
	name := o.Lanes.Name(res.Lane)
	expiry := now + o.TTL
	// Ids sharing a slot are written together, so each keeps its mapping.
	var handled [maxKeys]bool
	for i := range ids {
		if handled[i] {
			continue
		}
		slot := propagation.SlotOf(ids[i], o.Slots)
		var group [maxKeys]propagation.ID
		n := 0
		for j := i; j < len(ids); j++ {
			if !handled[j] && (j == i || propagation.SlotOf(ids[j], o.Slots) == slot) {
				handled[j] = true
				group[n] = ids[j]
				n++
			}
		}
		m := mapping{lane: name, expiry: expiry, now: now, ways: o.Ways, first: i == 0}
		if err := store(st, slot, group[:n], m, &res.Stats); err != nil {
			res.Err = err
			return
		}
		res.Stored += n
	}
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

// mapping is what one slot's store writes for its ids. The ids are a
// separate parameter of store: a struct holding them would take their
// array to the heap with it.
type mapping struct {
	lane        string
	expiry, now int64
	ways        int
	first       bool
}

// store writes ids -> lane into the slot, newest wins, with a bounded CAS
// retry, counting each retry in stats. The slot is read first when it holds
// several mappings (they must be kept), for the first id (to count
// evictions) and when several ids share it; a single-mapping slot of a
// further id is written blind: cas 0 is unconditional in Envoy, and hosts
// that insist on a token answer CasMismatch, which falls back to reading.
//
// A slot the read found missing is written with casCreate, not 0: a worker
// that created it since then (both read it missing) made it a key with
// another token, so this write fails and the retry merges that worker's
// mappings instead of replacing them. A host that takes no token for a key
// it does not have refuses it too; when the slot is still missing on the
// re-read, the write goes without one.
func store(st propagation.Store, slot int, ids []propagation.ID, m mapping, stats *Stats) error {
	read := m.ways > 1 || m.first || len(ids) > 1
	created := false // the last write was a creation that failed
	for attempt := 0; ; attempt++ {
		var old []byte
		var cas uint32
		if read {
			v, c, err := st.Get(slot)
			switch {
			case err == nil:
				old, cas = v, c
			case !errors.Is(err, propagation.ErrNotFound):
				return err
			case !created:
				cas = casCreate
			}
		}
		val, evicted := propagation.Merge(st.Scratch()[:0], old, ids, m.lane, m.expiry, m.now, m.ways)
		err := st.Set(slot, val, cas)
		if err == nil {
			stats.Overwritten = stats.Overwritten || evicted
			return nil
		}
		if !errors.Is(err, propagation.ErrCasMismatch) {
			return err
		}
		if attempt == maxCASRetries {
			stats.RetriesExhausted = true
			return nil
		}
		stats.CASRetries++
		created, read = cas == casCreate, true
	}
}
