package rules

import (
	"fmt"
	"regexp"
	"strings"
)

// Op is a string matcher's operator.
type Op uint8

// String matcher operators, as named in the configuration.
const (
	OpExact Op = iota
	OpPrefix
	OpSuffix
	OpContains
	OpRegex
	OpPresent
)

// StringMatch is a compiled string matcher.
//
// As in Envoy's header matcher, a value matcher never matches an absent value,
// inverted or not: invert means "present and not matching". Only present
// cares about absence, and invert flips it.
type StringMatch struct {
	op         Op
	values     []string // exact, prefix, suffix, contains: any of
	re         *regexp.Regexp
	present    bool
	invert     bool
	ignoreCase bool
}

// NewValueMatch compiles an exact, prefix, suffix or contains matcher.
func NewValueMatch(op Op, values []string, invert, ignoreCase bool) StringMatch {
	return StringMatch{op: op, values: values, invert: invert, ignoreCase: ignoreCase}
}

// NewRegexMatch compiles a regex matcher that must match the whole value (RE2).
func NewRegexMatch(expr string, invert, ignoreCase bool) (StringMatch, error) {
	pre := "^(?:"
	if ignoreCase {
		pre = "(?i)^(?:"
	}
	re, err := regexp.Compile(pre + expr + ")$")
	if err != nil {
		// Report the error against the user's expression, not our wrapper.
		if _, err2 := regexp.Compile(expr); err2 != nil {
			return StringMatch{}, err2
		}
		return StringMatch{}, err
	}
	return StringMatch{op: OpRegex, re: re, invert: invert, ignoreCase: ignoreCase}, nil
}

// NewPresentMatch compiles a present matcher.
func NewPresentMatch(present, invert bool) StringMatch {
	return StringMatch{op: OpPresent, present: present, invert: invert}
}

// Match reports whether the matcher holds for a value (ok: the value exists).
func (m *StringMatch) Match(v string, ok bool) bool {
	if m.op == OpPresent {
		return (ok == m.present) != m.invert
	}
	if !ok {
		return false
	}
	return m.matchValue(v) != m.invert
}

func (m *StringMatch) matchValue(v string) bool {
	switch m.op {
	case OpRegex:
		return m.re.MatchString(v)
	case OpExact:
		for _, p := range m.values {
			if v == p || (m.ignoreCase && strings.EqualFold(v, p)) {
				return true
			}
		}
	case OpPrefix:
		for _, p := range m.values {
			if len(v) >= len(p) && (v[:len(p)] == p || (m.ignoreCase && strings.EqualFold(v[:len(p)], p))) {
				return true
			}
		}
	case OpSuffix:
		for _, p := range m.values {
			if len(v) >= len(p) && (v[len(v)-len(p):] == p || (m.ignoreCase && strings.EqualFold(v[len(v)-len(p):], p))) {
				return true
			}
		}
	case OpContains:
		for _, p := range m.values {
			if strings.Contains(v, p) || (m.ignoreCase && containsFold(v, p)) {
				return true
			}
		}
	}
	return false
}

// containsFold is a case-insensitive strings.Contains that does not allocate.
// It compares windows of equal byte length, which is exact for ASCII.
func containsFold(s, sub string) bool {
	if len(sub) == 0 {
		return true
	}
	f := lowerASCII(sub[0])
	for i := 0; i+len(sub) <= len(s); i++ {
		if lowerASCII(s[i]) == f && strings.EqualFold(s[i:i+len(sub)], sub) {
			return true
		}
	}
	return false
}

func lowerASCII(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// SourceKind says where a Source reads its value.
type SourceKind uint8

// Source kinds, as written before the colon in "header:NAME".
const (
	FromHeader SourceKind = iota
	FromCookie
	FromQuery
)

// Source is a compiled "header:NAME", "cookie:NAME" or "query:NAME" reference.
type Source struct {
	Kind SourceKind
	Name string // header names are lower-case
	id   int
}

// ParseSource compiles a "kind:name" reference, registering header names in x.
func ParseSource(spec string, x *Index) (Source, error) {
	kind, name, ok := strings.Cut(spec, ":")
	if !ok || name == "" {
		return Source{}, fmt.Errorf("must be \"header:NAME\", \"cookie:NAME\" or \"query:NAME\", got %q", spec)
	}
	switch kind {
	case "header":
		return HeaderSource(name, x)
	case "cookie":
		if !ValidToken(name) {
			return Source{}, fmt.Errorf("invalid cookie name %q", name)
		}
		return Source{Kind: FromCookie, Name: name, id: x.AddCookie(name)}, nil
	case "query":
		return Source{Kind: FromQuery, Name: name}, nil
	}
	return Source{}, fmt.Errorf("unknown source %q: must be header, cookie or query", kind)
}

// HeaderSource compiles a header reference; the name is lower-cased.
func HeaderSource(name string, x *Index) (Source, error) {
	n := strings.ToLower(name)
	if !ValidHeaderName(n) {
		return Source{}, fmt.Errorf("invalid header name %q", name)
	}
	return Source{Kind: FromHeader, Name: n, id: x.Add(n)}, nil
}

// Get reads the source's value from r.
func (s *Source) Get(r *Request) (string, bool) {
	switch s.Kind {
	case FromHeader:
		return r.Header(s.id)
	case FromCookie:
		return r.Cookie(s.id)
	default:
		return r.Query(s.Name)
	}
}

// ID returns the header id of a header source, the cookie id of a cookie source.
func (s *Source) ID() int { return s.id }

// ValidToken reports whether s is a non-empty RFC 7230 token (header and cookie names).
func ValidToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte("\"(),/:;<=>?@[\\]{}", c) >= 0 {
			return false
		}
	}
	return true
}

// ValidHeaderName accepts tokens and pseudo-headers such as ":authority".
func ValidHeaderName(s string) bool {
	if strings.HasPrefix(s, ":") {
		return ValidToken(s[1:])
	}
	return ValidToken(s)
}
