package match

import (
	"fmt"
	"net/netip"
	"strings"
)

// SourceIPs is a source_ip condition: the downstream address is in one of
// the prefixes. IPv4-mapped IPv6 addresses compare as IPv4 (request.Source
// and ParsePrefix unmap them).
type SourceIPs []netip.Prefix

// Holds reports whether a is in one of the prefixes; an unknown address
// (the zero Addr) is in none.
func (s SourceIPs) Holds(a netip.Addr) bool {
	if !a.IsValid() {
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
// or IPv6. An IPv4-mapped IPv6 entry becomes its IPv4 form.
func ParsePrefix(entry string) (netip.Prefix, error) {
	if !strings.Contains(entry, "/") {
		a, err := netip.ParseAddr(entry)
		if err != nil || a.Zone() != "" {
			return netip.Prefix{}, fmt.Errorf("%q is not an IP address or CIDR block", entry)
		}
		a = a.Unmap()
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	p, err := netip.ParsePrefix(entry)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%q is not an IP address or CIDR block", entry)
	}
	if a := p.Addr(); a.Is4In6() {
		if p.Bits() < 96 {
			return netip.Prefix{}, fmt.Errorf("%q: an IPv4-mapped block must be /96 or longer", entry)
		}
		p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
	}
	return p.Masked(), nil
}
