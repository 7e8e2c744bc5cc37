// Package lane holds the immutable set of configured traffic lanes and the
// sources a request's lane can come from.
//
// Lanes are referred to by a small ID on the request path, so deciding,
// counting and emitting a lane never builds a string. ID 0 is always the
// default lane.
package lane

import "github.com/lanedye/lanedye/internal/httpsyntax"

// ID identifies a lane within one Set.
type ID uint8

const (
	// Default is the ID of the default lane in every Set.
	Default ID = 0
	// None marks "no lane known" where an ID is expected.
	None ID = 255
	// MaxLanes is the most lanes a Set holds, the default lane included.
	MaxLanes = int(None)
)

// OrDefault returns l, or Default when no lane is known.
func (l ID) OrDefault() ID {
	if l == None {
		return Default
	}
	return l
}

// Set is the immutable set of configured lanes.
type Set struct {
	names []string
	index map[string]ID
}

// NewSet builds a Set from the default lane and the other lanes. Names must
// already be valid, unique and at most MaxLanes in all; the configuration
// checks that.
func NewSet(defaultLane string, others []string) *Set {
	s := &Set{names: make([]string, 0, 1+len(others)), index: make(map[string]ID, 1+len(others))}
	s.names = append(s.names, defaultLane)
	s.index[defaultLane] = Default
	for _, n := range others {
		s.index[n] = ID(len(s.names))
		s.names = append(s.names, n)
	}
	return s
}

// Lookup returns the ID of a configured lane. Values read from requests
// that are not configured lanes must be ignored, so this is the only way in.
func (s *Set) Lookup(name string) (ID, bool) {
	l, ok := s.index[name]
	return l, ok
}

// LookupBytes is Lookup for a name held in bytes (a shared-data value); the
// map index on string(b) does not allocate.
func (s *Set) LookupBytes(b []byte) (ID, bool) {
	l, ok := s.index[string(b)]
	return l, ok
}

// Name returns the name of lane l.
func (s *Set) Name(l ID) string { return s.names[l] }

// Len returns the number of lanes, the default lane included.
func (s *Set) Len() int { return len(s.names) }

// Names returns the lane names in ID order. The slice must not be modified.
func (s *Set) Names() []string { return s.names }

// NameSyntax is the lane name syntax, as configuration errors state it.
const NameSyntax = "[A-Za-z0-9][A-Za-z0-9._-]{0,62}"

// ValidName reports whether s is a valid lane name (NameSyntax). Lane names
// end up in header values, cookie values and stat names, so the alphabet is
// what is safe in all three.
func ValidName(s string) bool {
	if len(s) == 0 || len(s) > 63 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case (c == '.' || c == '_' || c == '-') && i > 0:
		default:
			return false
		}
	}
	return true
}

// InvalidName is the message for a name that is not a valid lane name.
func InvalidName(s string) string {
	return httpsyntax.Quote(s) + " is not a valid lane name (" + NameSyntax + ")"
}
