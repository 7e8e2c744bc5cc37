// Package match holds the conditions rules and trust blocks are made of:
// string matchers, the sources they read (header, cookie, query), the
// deterministic percentage, host patterns, and blocks (AND) of them in lists
// (OR). Everything is compiled at configuration time; matching reads a
// request.Request and does not allocate, except in regex matching.
package match

import (
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

// String is a compiled string matcher.
//
// As in Envoy's header matcher, a value matcher never matches an absent value,
// inverted or not: invert means "present and not matching". Only present
// cares about absence, and invert flips it.
type String struct {
	op         Op
	values     []string // exact, prefix, suffix, contains: any of
	re         *regexp.Regexp
	present    bool
	invert     bool
	ignoreCase bool
}

// NewValueMatch compiles an exact, prefix, suffix or contains matcher.
func NewValueMatch(op Op, values []string, invert, ignoreCase bool) String {
	return String{op: op, values: values, invert: invert, ignoreCase: ignoreCase}
}

// NewRegexMatch compiles a regex matcher that must match the whole value (RE2).
func NewRegexMatch(expr string, invert, ignoreCase bool) (String, error) {
	pre := "^(?:"
	if ignoreCase {
		pre = "(?i)^(?:"
	}
	re, err := regexp.Compile(pre + expr + ")$")
	if err != nil {
		// Report the error against the user's expression, not our wrapper.
		if _, err2 := regexp.Compile(expr); err2 != nil {
			return String{}, err2
		}
		return String{}, err
	}
	return String{op: OpRegex, re: re, invert: invert, ignoreCase: ignoreCase}, nil
}

// NewPresentMatch compiles a present matcher.
func NewPresentMatch(present, invert bool) String {
	return String{op: OpPresent, present: present, invert: invert}
}

// Match reports whether the matcher holds for a value (ok: the value exists).
func (m *String) Match(v string, ok bool) bool {
	if m.op == OpPresent {
		return (ok == m.present) != m.invert
	}
	if !ok {
		return false
	}
	return m.matchValue(v) != m.invert
}

func (m *String) matchValue(v string) bool {
	if m.op == OpRegex {
		return m.re.MatchString(v)
	}
	for _, p := range m.values {
		if m.matchOne(v, p) {
			return true
		}
	}
	return false
}

// matchOne applies a value operator with one configured value p.
func (m *String) matchOne(v, p string) bool {
	switch m.op {
	case OpExact:
		return m.equal(v, p)
	case OpPrefix:
		return len(v) >= len(p) && m.equal(v[:len(p)], p)
	case OpSuffix:
		return len(v) >= len(p) && m.equal(v[len(v)-len(p):], p)
	case OpContains:
		return strings.Contains(v, p) || (m.ignoreCase && containsFold(v, p))
	}
	return false
}

func (m *String) equal(a, p string) bool {
	return a == p || (m.ignoreCase && strings.EqualFold(a, p))
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
