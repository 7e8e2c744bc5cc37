package propagation

import (
	"encoding/binary"
	"errors"
	"strconv"
)

// KeyPrefix namespaces lanedye's shared-data keys so that other plugins in the
// same VM cannot collide with them. Envoy shared data has no delete: every
// key ever written lives as long as the VM id, so the only keys lanedye ever
// writes are KeyPrefix + 0 .. KeyPrefix + (slots-1).
const KeyPrefix = "lanedye.propagation.v1/"

// Store is Envoy shared data as the sidecar needs it.
type Store interface {
	// Get returns a key's value and CAS token, or ErrNotFound.
	Get(key string) ([]byte, uint32, error)
	// Set writes a value. cas 0 is an unconditional write in Envoy; other
	// hosts may reject it for an existing key with ErrCasMismatch.
	Set(key string, value []byte, cas uint32) error
}

// Errors a Store reports.
var (
	ErrNotFound    = errors.New("shared data: not found")
	ErrCasMismatch = errors.New("shared data: cas mismatch")
)

// SlotKey returns the shared-data key of a slot.
func SlotKey(slot int) string { return KeyPrefix + strconv.Itoa(slot) }

// SlotOf maps an id to one of slots slots: 64-bit FNV-1a over the id with the
// ignored byte left out, mod slots.
func SlotOf(id ID, slots int) int {
	h := uint64(14695981039346656037)
	for i := 0; i < len(id.S); i++ {
		if i == id.Skip {
			continue
		}
		h ^= uint64(id.S[i])
		h *= 1099511628211
	}
	return int(h % uint64(slots))
}

// entry layout: version (1) | expiry unix ms, big endian (8) | lane length (1)
// | lane | id. The full id is kept so that a slot shared by two ids never
// hands one id's lane to the other.
const (
	entryVersion = 1
	entryHeader  = 10
)

// Encode returns the stored value for id -> lane until expiry (unix ms).
func Encode(id ID, laneName string, expiry int64) []byte {
	b := make([]byte, entryHeader+len(laneName)+len(id.S))
	b[0] = entryVersion
	binary.BigEndian.PutUint64(b[1:9], uint64(expiry))
	b[9] = byte(len(laneName))
	copy(b[entryHeader:], laneName)
	copy(b[entryHeader+len(laneName):], id.S)
	return b
}

// Status is what a slot holds for an id.
type Status uint8

// Lookup outcomes.
const (
	Empty   Status = iota // nothing usable: absent or undecodable
	Foreign               // a mapping for another id
	Expired               // this id's mapping, past its expiry
	Fresh                 // this id's mapping, valid
)

// Inspect decodes a stored value for id at now (unix ms). The lane is
// returned as bytes of v; the caller checks it is still a configured lane.
func Inspect(v []byte, id ID, now int64) (laneName []byte, st Status) {
	if len(v) < entryHeader || v[0] != entryVersion {
		return nil, Empty
	}
	ll := int(v[9])
	if len(v) < entryHeader+ll {
		return nil, Empty
	}
	laneName = v[entryHeader : entryHeader+ll]
	if !sameID(v[entryHeader+ll:], id) {
		return laneName, Foreign
	}
	if int64(binary.BigEndian.Uint64(v[1:9])) <= now {
		return laneName, Expired
	}
	return laneName, Fresh
}

// FreshFor reports whether v holds a valid mapping for any id at now.
func FreshFor(v []byte, now int64) bool {
	return len(v) >= entryHeader && v[0] == entryVersion && int64(binary.BigEndian.Uint64(v[1:9])) > now
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
