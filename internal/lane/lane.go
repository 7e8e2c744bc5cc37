// Package lane holds the immutable set of configured traffic lanes.
//
// Lanes are referred to by a small index everywhere on the request path so that
// deciding, counting and emitting a lane never builds a string. Index 0 is always
// the default lane.
package lane

// Default is the index of the default lane in every Set.
const Default = 0

// None marks "no lane" where an index is expected.
const None = -1

// Set is the immutable set of configured lanes.
type Set struct {
	names []string
	index map[string]int
}

// NewSet builds a Set from the default lane and the other lanes. Names must
// already be valid and unique; configuration validation guarantees that.
func NewSet(defaultLane string, others []string) *Set {
	s := &Set{names: make([]string, 0, 1+len(others)), index: make(map[string]int, 1+len(others))}
	s.names = append(s.names, defaultLane)
	s.index[defaultLane] = 0
	for _, n := range others {
		s.index[n] = len(s.names)
		s.names = append(s.names, n)
	}
	return s
}

// Lookup returns the index of a configured lane. Values read from requests that
// are not configured lanes must be ignored, so this is the only way in.
func (s *Set) Lookup(name string) (int, bool) {
	i, ok := s.index[name]
	return i, ok
}

// Name returns the name of lane i.
func (s *Set) Name(i int) string { return s.names[i] }

// Len returns the number of lanes including the default lane.
func (s *Set) Len() int { return len(s.names) }

// Names returns the lane names in index order. The slice must not be modified.
func (s *Set) Names() []string { return s.names }

// ValidName reports whether s is a valid lane name: [A-Za-z0-9][A-Za-z0-9._-]{0,62}.
// Lane names end up in header values, cookie values and stat names, so the
// alphabet is kept to what is safe in all three.
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

// Source says where a request's lane came from. The names appear in the debug
// header and in stat names.
type Source uint8

// Sources.
const (
	SourceDefault Source = iota
	SourceHeader
	SourceCookie
	SourceRule
	SourcePropagated
	SourceBaggage
	NumSources
)

var sourceNames = [NumSources]string{"default", "header", "cookie", "rule", "propagated", "baggage"}

func (s Source) String() string { return sourceNames[s] }

// Sources returns every source, for defining one stat each.
func Sources() []Source {
	out := make([]Source, NumSources)
	for i := range out {
		out[i] = Source(i)
	}
	return out
}

// LookupBytes is Lookup for a lane name held in bytes (a shared-data value);
// the map index on string(b) does not allocate.
func (s *Set) LookupBytes(b []byte) (int, bool) {
	i, ok := s.index[string(b)]
	return i, ok
}
