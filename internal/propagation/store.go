package propagation

import (
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
//	version (1) | count (1) | count x [expiry unix ms, big endian (6) |
//	lane length (1) | lane | id form (1) | id length - 1 (1) | id]
//
// The full id is kept so that a slot shared by two ids never hands one
// id's lane to the other, in the shortest of three forms: a UUID's 32
// lower-case hex digits in 16 bytes, other lower-case hex of even length
// in half as many, anything else as it is. Its ignored byte (ID.Skip) is
// kept as '0', so that both spellings of one id encode alike. Envoy keeps
// every slot's value in every sidecar; a UUID x-request-id mapping takes
// 29 bytes instead of 51. With ways = 1 (the single-mapping slot) a slot
// holds one mapping and the newest replaces it; with more ways the newest
// replaces the same id's mapping, else an expired one, else the oldest.
const (
	entryVersion = 3
	expiryBytes  = 6 // Unix milliseconds until the year 10889
)

// Id forms.
const (
	formRaw  = 0
	formHex  = 1 // lower-case hex digits, two per byte
	formUUID = 2 // 8-4-4-4-12 lower-case hex digits, two per byte
)

// maxEncodedID is the longest encoded id: form, length, MaxIDLen bytes.
const maxEncodedID = 2 + MaxIDLen

// appendID appends id's encoded form: form, payload length - 1, payload.
func appendID(dst []byte, id ID) []byte {
	s, skip := id.S, id.Skip
	switch {
	case isUUID(s, skip):
		dst = append(dst, formUUID, 15)
		return appendHex(dst, s, skip, true)
	case len(s)%2 == 0 && hexExcept(s, skip):
		dst = append(dst, formHex, byte(len(s)/2-1))
		return appendHex(dst, s, skip, false)
	}
	dst = append(dst, formRaw, byte(len(s)-1))
	n := len(dst)
	dst = append(dst, s...)
	if skip >= 0 && skip < len(s) {
		dst[n+skip] = '0'
	}
	return dst
}

// appendHex packs s's lower-case hex digits two per byte, the digit at
// skip as 0, leaving out dashes when uuid.
func appendHex(dst []byte, s string, skip int, uuid bool) []byte {
	var b byte
	odd := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case uuid && (i == 8 || i == 13 || i == 18 || i == 23):
			continue
		case i == skip:
			c = 0
		case c <= '9':
			c -= '0'
		default:
			c -= 'a' - 10
		}
		if odd {
			dst = append(dst, b<<4|c)
		}
		b, odd = c, !odd
	}
	return dst
}

// isUUID reports whether s is 8-4-4-4-12 lower-case hex digits, the one at
// skip aside.
func isUUID(s string, skip int) bool {
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if i != 8 && i != 13 && i != 18 && i != 23 && i != skip && !lowerHexDigit(s[i]) {
			return false
		}
	}
	return true
}

// hexExcept reports whether s is lower-case hex digits, the one at skip
// aside.
func hexExcept(s string, skip int) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if i != skip && !lowerHexDigit(s[i]) {
			return false
		}
	}
	return true
}

func lowerHexDigit(c byte) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' }

// appendEntry appends one mapping; id is an encoded id (appendID).
func appendEntry[T string | []byte](b, id []byte, laneName T, expiry int64) []byte {
	var h [expiryBytes]byte
	for i := range h {
		h[i] = byte(expiry >> (8 * (expiryBytes - 1 - i)))
	}
	b = append(b, h[:]...)
	b = append(b, byte(len(laneName)))
	b = append(b, laneName...)
	return append(b, id...)
}

// entry is one decoded mapping; its byte slices point into the slot value.
type entry struct {
	expiry int64
	lane   []byte
	id     []byte // encoded, as appendID writes it
}

// eachEntry decodes v, calling f per mapping; false on a malformed value.
func eachEntry(v []byte, f func(e entry)) bool {
	if len(v) < 2 || v[0] != entryVersion {
		return false
	}
	n, p := int(v[1]), 2
	for i := 0; i < n; i++ {
		if len(v) < p+expiryBytes+1 {
			return false
		}
		var expiry int64
		for _, c := range v[p : p+expiryBytes] {
			expiry = expiry<<8 | int64(c)
		}
		p += expiryBytes
		ll := int(v[p])
		p++
		if len(v) < p+ll+2 {
			return false
		}
		laneName := v[p : p+ll]
		p += ll
		il := 2 + int(v[p+1]) + 1
		if v[p] > formUUID || v[p] == formUUID && il != 2+16 || len(v) < p+il {
			return false
		}
		f(entry{expiry: expiry, lane: laneName, id: v[p : p+il]})
		p += il
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
	var enc [maxEncodedID]byte
	eachEntry(old, func(e entry) {
		if e.expiry <= now {
			return
		}
		for _, id := range ids {
			if string(e.id) == string(appendID(enc[:0], id)) {
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
		val = appendEntry(val, appendID(enc[:0], id), laneName, expiry)
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
	var buf [maxEncodedID]byte
	enc := appendID(buf[:0], id)
	ok := eachEntry(v, func(e entry) {
		switch {
		case string(e.id) != string(enc):
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
