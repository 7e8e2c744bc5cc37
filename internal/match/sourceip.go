package match

import (
	"errors"
	"strconv"
	"strings"

	"github.com/lanedye/lanedye/internal/httpsyntax"
	"github.com/lanedye/lanedye/internal/request"
)

// SourceIPs is a source_ip condition: the downstream address is in one of
// the blocks. IPv4-mapped IPv6 addresses compare as IPv4 (request.Source
// and ParsePrefix keep them in one form).
type SourceIPs []Prefix

// SourceOf returns r's downstream address; false when unknown.
func SourceOf(r *request.Request) (Addr, bool) { return r.Source() }

// Holds reports whether a is in one of the blocks; an unknown address is
// in none.
func (s SourceIPs) Holds(a Addr, known bool) bool {
	if !known {
		return false
	}
	for _, p := range s {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// ParsePrefix parses one source_ip entry: an address or a CIDR block, IPv4
// or IPv6, as netip.ParsePrefix does. An IPv4-mapped IPv6 block must be /96
// or longer and becomes its IPv4 form.
func ParsePrefix(entry string) (Prefix, error) {
	bad := errors.New(httpsyntax.Quote(entry) + " is not an IP address or CIDR block")
	text, bitsText, hasBits := strings.Cut(entry, "/")
	a, ok := ParseAddr(text)
	if !ok {
		return Prefix{}, bad
	}
	// An IPv6 entry is an IPv6 block even when it is IPv4-mapped.
	v6 := strings.IndexByte(text, ':') >= 0
	bits := 128
	if hasBits {
		n, err := strconv.ParseUint(bitsText, 10, 8)
		maxBits := uint64(128)
		if !v6 {
			maxBits = 32
		}
		// netip takes no sign and no leading zero
		if err != nil || n > maxBits || bitsText[0] == '+' || len(bitsText) > 1 && bitsText[0] == '0' {
			return Prefix{}, bad
		}
		bits = int(n)
		if !v6 {
			bits += 96
		}
	}
	if v6 && is4(a) {
		if bits < 96 {
			return Prefix{}, errors.New(httpsyntax.Quote(entry) + ": an IPv4-mapped block must be /96 or longer")
		}
	}
	return Prefix{Addr: mask(a, bits), Bits: bits, v4: is4(a)}, nil
}
