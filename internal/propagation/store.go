package propagation

import (
	"encoding/binary"
	"errors"
	"strconv"

	"github.com/lanedye/lanedye/internal/fnv"
)

// KeyPrefix namespaces lanedye's shared-data keys so that other plugins in the
// same VM cannot collide with them. Envoy shared data has no delete: every
// key ever written lives as long as the VM id, so the only keys lanedye ever
// writes are KeyPrefix + 0 .. KeyPrefix + (slots-1).
const KeyPrefix = "lanedye.propagation.v1/"

// Store is Envoy shared data as the sidecar needs it: its slots, each the
// key SlotKey names.
type Store interface {
	// Get returns a slot's value and CAS token, or ErrNotFound. The value
	// is valid until the next Get.
	Get(slot int) ([]byte, uint32, error)
	// Set writes a slot's value. cas 0 is an unconditional write in Envoy;
	// other hosts may reject it for an existing key with ErrCasMismatch.
	Set(slot int, value []byte, cas uint32) error
	// Scratch returns a buffer to build values in, reused from write to
	// write: a value is written, never kept.
	Scratch() []byte
}

// Errors a Store reports.
var (
	ErrNotFound    = errors.New("shared data: not found")
	ErrCasMismatch = errors.New("shared data: cas mismatch")
)

// SlotKey returns the shared-data key of a slot.
func SlotKey(slot int) string { return string(AppendSlotKey(nil, slot)) }

// AppendSlotKey appends the shared-data key of a slot to dst.
func AppendSlotKey(dst []byte, slot int) []byte {
	return strconv.AppendInt(append(dst, KeyPrefix...), int64(slot), 10)
}

// SlotOf maps an id to one of slots slots: 64-bit FNV-1a over the id with the
// ignored byte left out, mod slots.
func SlotOf(id ID, slots int) int {
	return int(uint64(fnv.New.StringSkipping(id.S, id.Skip)) % uint64(slots))
}

// MaxWays is the most mappings a slot holds; a value counts them in a byte.
const MaxWays = 16

// A slot's value is a list of mappings, newest last:
//
//	version (1) | count (1) | count x [expiry unix ms, big endian (8) |
//	lane length (1) | id length, big endian (2) | lane | id]
//
// The full id is kept so that a slot shared by two ids never hands one id's
// lane to the other. With ways = 1 (the single-mapping slot) a slot holds one mapping and
// the newest replaces it; with more ways the newest replaces the same id's
// mapping, else an expired one, else the oldest.
const (
	entryVersion = 2
	entryHeader  = 11 // per mapping, before lane and id
)

func appendEntry[T string | []byte](b []byte, id, laneName T, expiry int64) []byte {
	var h [entryHeader]byte
	binary.BigEndian.PutUint64(h[0:8], uint64(expiry))
	h[8] = byte(len(laneName))
	binary.BigEndian.PutUint16(h[9:11], uint16(len(id)))
	b = append(b, h[:]...)
	b = append(b, laneName...)
	return append(b, id...)
}

// entry is one decoded mapping; its byte slices point into the slot value.
type entry struct {
	expiry int64
	lane   []byte
	id     []byte
}

// eachEntry decodes v, calling f per mapping; false on a malformed value.
func eachEntry(v []byte, f func(e entry)) bool {
	if len(v) < 2 || v[0] != entryVersion {
		return false
	}
	n, p := int(v[1]), 2
	for i := 0; i < n; i++ {
		if len(v) < p+entryHeader {
			return false
		}
		ll := int(v[p+8])
		il := int(binary.BigEndian.Uint16(v[p+9 : p+11]))
		if len(v) < p+entryHeader+ll+il {
			return false
		}
		f(entry{
			expiry: int64(binary.BigEndian.Uint64(v[p : p+8])),
			lane:   v[p+entryHeader : p+entryHeader+ll],
			id:     v[p+entryHeader+ll : p+entryHeader+ll+il],
		})
		p += entryHeader + ll + il
	}
	return p == len(v)
}

// Merge appends to dst the slot value after storing id -> lane for every
// id of ids (the ids of one request that share this slot) into old (nil:
// an empty slot), keeping at most ways mappings (at most MaxWays). evicted
// reports that a fresh mapping of another id had to go. old and dst must
// not overlap.
func Merge(dst, old []byte, ids []ID, laneName string, expiry, now int64, ways int) (val []byte, evicted bool) {
	ways = min(ways, MaxWays)
	if len(ids) > ways {
		ids = ids[len(ids)-ways:] // a slot cannot hold more; the last ones win
	}
	var kept [MaxWays]entry
	keep := kept[:0]
	eachEntry(old, func(e entry) {
		if e.expiry <= now {
			return
		}
		for _, id := range ids {
			if sameID(e.id, id) {
				return
			}
		}
		if len(keep) == cap(keep) {
			keep = keep[1:] // newest last: the oldest goes
		}
		keep = append(keep, e)
	})
	if drop := len(keep) + len(ids) - ways; drop > 0 {
		keep, evicted = keep[drop:], true // newest last: drop the oldest
	}
	val = append(dst, entryVersion, byte(len(keep)+len(ids)))
	for _, e := range keep {
		val = appendEntry(val, e.id, e.lane, e.expiry)
	}
	for _, id := range ids {
		val = appendEntry(val, id.S, laneName, expiry)
	}
	return val, evicted
}

// Status is what a slot holds for an id.
type Status uint8

// Lookup outcomes.
const (
	Empty   Status = iota // nothing usable: absent or undecodable
	Foreign               // mappings for other ids only
	Expired               // this id's mapping, past its expiry
	Fresh                 // this id's mapping, valid
)

// Inspect looks id up in a slot value at now (unix ms). The lane is returned
// as bytes of v; the caller checks it is still a configured lane.
func Inspect(v []byte, id ID, now int64) (laneName []byte, st Status) {
	st = Empty
	ok := eachEntry(v, func(e entry) {
		switch {
		case !sameID(e.id, id):
			if st == Empty {
				st = Foreign
			}
		case e.expiry > now:
			laneName, st = e.lane, Fresh
		case st != Fresh:
			laneName, st = e.lane, Expired
		}
	})
	if !ok {
		return nil, Empty
	}
	return laneName, st
}

func sameID(stored []byte, id ID) bool {
	if len(stored) != len(id.S) {
		return false
	}
	for i := 0; i < len(stored); i++ {
		if stored[i] != id.S[i] && i != id.Skip {
			return false
		}
	}
	return true
}
