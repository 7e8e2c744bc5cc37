// Package httpsyntax holds the small pieces of HTTP syntax that lanedye
// reads from requests: tokens (header, cookie and baggage member names),
// optional whitespace, percent-decoding, and the host part of :authority.
// Functions here never allocate unless they must return new bytes.
package httpsyntax

import (
	"errors"
	"strings"
	"unicode/utf8"
)

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

// CheckHost reports what is wrong with a host name as configuration (host
// patterns, fallback service keys): it must be a DNS name or an IPv6
// literal in brackets, without a port or a trailing dot.
func CheckHost(s string) error {
	switch {
	case s == "" || len(s) > 253:
		return errors.New("not a host name")
	case strings.HasSuffix(s, "."):
		return errors.New("a trailing dot never matches: :authority is compared without it")
	case strings.HasPrefix(s, "["):
		if !strings.HasSuffix(s, "]") {
			return errors.New("a port never matches: :authority is compared without it")
		}
		if strings.Trim(s[1:len(s)-1], "0123456789abcdef:.") != "" {
			return errors.New("not an IPv6 literal")
		}
		return nil
	case strings.Contains(s, ":"):
		return errors.New("a port never matches: :authority is compared without it")
	case strings.Trim(s, "abcdefghijklmnopqrstuvwxyz0123456789-._") != "":
		return errors.New("not a host name (wildcards only as a leading \"*.\")")
	}
	return nil
}

// Unescape percent-decodes s as net/url's PathUnescape does, or as its
// QueryUnescape when query is set ('+' is then a space). A '%' not
// followed by two hex digits makes s invalid. It allocates only when s has
// something to decode. (net/url would link its whole package, and fmt with
// it, into every module for these few lines.)
func Unescape(s string, query bool) (string, bool) {
	n := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '%':
			if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
				return "", false
			}
			n++
			i += 2
		case '+':
			if query {
				n++
			}
		}
	}
	if n == 0 {
		return s, true
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '%':
			b = append(b, unhex(s[i+1])<<4|unhex(s[i+2]))
			i += 2
		case c == '+' && query:
			b = append(b, ' ')
		default:
			b = append(b, c)
		}
	}
	return string(b), true
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	}
	return c - 'a' + 10
}

// ToLower lower-cases the ASCII letters of s; other bytes are kept. The
// names lanedye compares case-insensitively (header names, hosts) are
// ASCII, and strings.ToLower would link Unicode's case tables into every
// module. It allocates only when s has an upper-case letter.
func ToLower(s string) string {
	if !HasUpper(s) {
		return s
	}
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// Quote writes s as a double-quoted Go string literal for messages, as
// strconv.Quote does for printable text: control bytes and invalid UTF-8
// are escaped, other characters kept. (strconv.Quote's printable-rune
// tables would cost every module kilobytes for the error path alone.)
func Quote(s string) string {
	b := make([]byte, 0, len(s)+2)
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c >= utf8.RuneSelf {
			r, n := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && n == 1 {
				b = append(b, '\\', 'x', hexDigits[c>>4], hexDigits[c&15])
			} else {
				b = append(b, s[i:i+n]...)
			}
			i += n
			continue
		}
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c == '\n':
			b = append(b, '\\', 'n')
		case c == '\r':
			b = append(b, '\\', 'r')
		case c == '\t':
			b = append(b, '\\', 't')
		case c < ' ' || c == 0x7f:
			b = append(b, '\\', 'x', hexDigits[c>>4], hexDigits[c&15])
		default:
			b = append(b, c)
		}
		i++
	}
	return string(append(b, '"'))
}

const hexDigits = "0123456789abcdef"
