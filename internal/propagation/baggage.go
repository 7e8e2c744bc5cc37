package propagation

import (
	"strings"

	"github.com/lanedye/lanedye/internal/httpsyntax"
)

// MaxBaggage is the largest baggage header handled; W3C requires support for
// 8192 bytes. Larger values are treated as malformed.
const MaxBaggage = 8192

// BaggageGet returns the percent-decoded value of member name in a W3C
// baggage header. A malformed header yields nothing.
func BaggageGet(h, name string) (string, bool) {
	if len(h) > MaxBaggage {
		return "", false
	}
	var found string
	ok := false
	valid := eachMember(h, func(key, value, _ string) bool {
		if key == name && !ok {
			found, ok = value, true
		}
		return true
	})
	if !valid || !ok {
		return "", false
	}
	return httpsyntax.Unescape(found, false)
}

// BaggageSet returns h with member name set to value: an existing member is
// replaced (its properties with it), every other member and its properties
// are kept as they were, and a missing member is appended. A malformed header
// is left alone (ok false): rewriting it could corrupt other members.
func BaggageSet(h, name, value string) (string, bool) {
	b, ok := AppendBaggageSet(nil, h, name, value)
	if !ok {
		return h, false
	}
	return string(b), true
}

// AppendBaggageSet appends BaggageSet's header to dst; on ok false dst is
// returned as it was. With a reused dst the request path builds the header
// without allocating.
func AppendBaggageSet(dst []byte, h, name, value string) ([]byte, bool) {
	if len(h) > MaxBaggage {
		return dst, false
	}
	enc := encodeBaggageValue(value)
	start := len(dst)
	replaced := false
	valid := eachMember(h, func(key, _, member string) bool {
		if key == name {
			if !replaced { // duplicates of our member are dropped
				replaced = true
				dst = appendMember(dst, start, name, enc)
			}
			return true
		}
		if len(dst) > start {
			dst = append(dst, ',')
		}
		dst = append(dst, member...)
		return true
	})
	if !valid {
		return dst[:start], false
	}
	if !replaced {
		dst = appendMember(dst, start, name, enc)
	}
	if len(dst)-start > MaxBaggage {
		return dst[:start], false
	}
	return dst, true
}

// appendMember appends name=value to the list that starts at dst[start].
func appendMember(dst []byte, start int, name, value string) []byte {
	if len(dst) > start {
		dst = append(dst, ',')
	}
	dst = append(dst, name...)
	dst = append(dst, '=')
	return append(dst, value...)
}

// BaggageDel returns h without member name (every occurrence), reporting
// whether it was there. A malformed header is left alone (ok false). A
// header without the member, the common case, is only read, not copied.
func BaggageDel(h, name string) (nb string, changed, ok bool) {
	if len(h) > MaxBaggage {
		return h, false, false
	}
	valid := eachMember(h, func(key, _, _ string) bool {
		changed = changed || key == name
		return true
	})
	if !valid || !changed {
		return h, false, valid
	}
	var b strings.Builder
	eachMember(h, func(key, _, member string) bool {
		if key != name {
			if b.Len() > 0 {
				b.WriteByte(',')
			}
			b.WriteString(member)
		}
		return true
	})
	return b.String(), true, true
}

// eachMember walks the list-members of a baggage header, calling f with the
// key, the raw value and the whole trimmed member. It reports whether the
// header is well-formed; empty list-members are skipped, as most
// implementations do.
func eachMember(h string, f func(key, value, member string) bool) bool {
	for len(h) > 0 {
		var m string
		if i := strings.IndexByte(h, ','); i >= 0 {
			m, h = h[:i], h[i+1:]
		} else {
			m, h = h, ""
		}
		m = httpsyntax.TrimOWS(m)
		if m == "" {
			continue
		}
		kv, props, _ := strings.Cut(m, ";")
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return false
		}
		k, v = httpsyntax.TrimOWS(k), httpsyntax.TrimOWS(v)
		if !httpsyntax.ValidToken(k) || !isBaggageValue(v) || !validProps(props) {
			return false
		}
		if !f(k, v, m) {
			return true
		}
	}
	return true
}

func validProps(p string) bool {
	for p != "" {
		var prop string
		if i := strings.IndexByte(p, ';'); i >= 0 {
			prop, p = p[:i], p[i+1:]
		} else {
			prop, p = p, ""
		}
		prop = httpsyntax.TrimOWS(prop)
		k, v, hasV := strings.Cut(prop, "=")
		if !httpsyntax.ValidToken(httpsyntax.TrimOWS(k)) || (hasV && !isBaggageValue(httpsyntax.TrimOWS(v))) {
			return false
		}
	}
	return true
}

// isBaggageValue: baggage-octet = %x21 / %x23-2B / %x2D-3A / %x3C-5B / %x5D-7E.
func isBaggageValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if !baggageOctet(s[i]) {
			return false
		}
	}
	return true
}

func baggageOctet(c byte) bool {
	return c == 0x21 || (c >= 0x23 && c <= 0x2B) || (c >= 0x2D && c <= 0x3A) ||
		(c >= 0x3C && c <= 0x5B) || (c >= 0x5D && c <= 0x7E)
}

func encodeBaggageValue(v string) string {
	need := false
	for i := 0; i < len(v); i++ {
		if !baggageOctet(v[i]) || v[i] == '%' {
			need = true
			break
		}
	}
	if !need {
		return v
	}
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		c := v[i]
		if baggageOctet(c) && c != '%' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}
