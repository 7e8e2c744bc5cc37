// Package httpsyntax holds the small pieces of HTTP syntax that lanedye
// reads from requests: tokens (header, cookie and baggage member names),
// optional whitespace, percent-decoding, and the host part of :authority.
// Functions here never allocate unless they must return new bytes.
package httpsyntax

import "strings"

// ValidToken reports whether s is a non-empty RFC 9110 token, which header
// names, cookie names and baggage member names are.
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
	if rest, ok := strings.CutPrefix(s, ":"); ok {
		return ValidToken(rest)
	}
	return ValidToken(s)
}

// TrimOWS trims HTTP optional whitespace (spaces and tabs). Most values
// have none, and strings.Trim builds its byte set on every call, so those
// are returned at once.
func TrimOWS(s string) string {
	if s == "" || !isOWS(s[0]) && !isOWS(s[len(s)-1]) {
		return s
	}
	return strings.Trim(s, " \t")
}

func isOWS(c byte) bool { return c == ' ' || c == '\t' }

// HasUpper reports whether s has an upper-case ASCII letter: names that do
// not can be compared with == against lower-case configuration.
func HasUpper(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 'A' && s[i] <= 'Z' {
			return true
		}
	}
	return false
}

// Host returns the host of an :authority value: without the port, and
// without a trailing dot, keeping IPv6 literals whole ("[::1]:8080" ->
// "[::1]").
func Host(authority string) string {
	a := authority
	if strings.HasPrefix(a, "[") {
		if i := strings.IndexByte(a, ']'); i >= 0 {
			return a[:i+1]
		}
		return a
	}
	if i := strings.LastIndexByte(a, ':'); i >= 0 {
		a = a[:i]
	}
	if len(a) > 1 && a[len(a)-1] == '.' {
		a = a[:len(a)-1]
	}
	return a
}
