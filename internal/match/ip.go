package match

import (
	"strconv"
	"strings"
)

// IP addresses for source_ip, parsed here rather than with net/netip:
// netip's package state (its unique handles) and text forms cost the
// gateway module more than the few functions below, which the tests hold
// to netip's behaviour (TestIPAsNetip, FuzzIPAsNetip).

// Addr is an IP address in 16-byte form, IPv4 as IPv4-mapped IPv6: the form
// request.Source keeps.
type Addr = [16]byte

// v4InV6 is the IPv4-mapped prefix, ::ffff:0:0/96.
var v4InV6 = [12]byte{10: 0xff, 11: 0xff}

// is4 reports whether a is an IPv4 address (IPv4-mapped).
func is4(a Addr) bool { return [12]byte(a[:12]) == v4InV6 }

// ParseAddr parses an IPv4 address in dotted decimal or an IPv6 address
// (with "::" and a trailing dotted IPv4 part; no zone) as netip.ParseAddr
// does.
func ParseAddr(s string) (Addr, bool) {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '.':
			var a Addr
			copy(a[:], v4InV6[:])
			return a, parse4(s, a[12:])
		case ':':
			return parse6(s)
		}
	}
	return Addr{}, false
}

// parse4 parses dotted decimal into four bytes: no empty fields, no
// leading zeros, each at most 255.
func parse4(s string, out []byte) bool {
	field, digits := 0, 0
	val := 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == '.' {
			if digits == 0 || field > 3 {
				return false
			}
			out[field] = byte(val)
			field, digits, val = field+1, 0, 0
			continue
		}
		c := s[i]
		if c < '0' || c > '9' || digits > 0 && val == 0 {
			return false
		}
		val = val*10 + int(c-'0')
		digits++
		if val > 255 {
			return false
		}
	}
	return field == 4
}

// parse6 parses IPv6 text: up to eight groups of one to four hex digits,
// one "::" for a run of zero groups, a dotted IPv4 address as the last two.
func parse6(s string) (Addr, bool) {
	var a Addr
	ellipsis := -1 // byte index of "::"
	i := 0
	if strings.HasPrefix(s, "::") {
		ellipsis, s = 0, s[2:]
	}
	for s != "" {
		n, off := hexGroup(s)
		switch {
		case off == 0:
			return a, false
		case off < len(s) && s[off] == '.': // the IPv4 tail, the last field
			if ellipsis < 0 && i != 12 || i+4 > 16 || !parse4(s, a[i:i+4]) {
				return a, false
			}
			i, s = i+4, ""
			continue
		case i+2 > 16:
			return a, false
		}
		a[i], a[i+1] = byte(n>>8), byte(n)
		i += 2
		var ok bool
		if s, ok = separator(s[off:]); !ok {
			return a, false
		}
		if strings.HasPrefix(s, ":") {
			if ellipsis >= 0 {
				return a, false
			}
			ellipsis, s = i, s[1:]
		}
	}
	return expand(a, i, ellipsis)
}

// hexGroup reads up to four hex digits: the value and how many.
func hexGroup(s string) (n, off int) {
	for off < len(s) && off < 4 {
		d, ok := hexVal(s[off])
		if !ok {
			break
		}
		n = n<<4 | d
		off++
	}
	return n, off
}

// separator consumes the ':' after a group; the end of s is fine, a ':'
// ending s is not.
func separator(s string) (string, bool) {
	switch {
	case s == "":
		return s, true
	case s[0] != ':' || len(s) == 1:
		return s, false
	}
	return s[1:], true
}

// expand moves the groups after "::" (at byte ellipsis) to the end, when
// the i bytes written are fewer than 16.
func expand(a Addr, i, ellipsis int) (Addr, bool) {
	switch {
	case i == 16:
		return a, ellipsis < 0 // "::" must stand for at least one group
	case ellipsis < 0:
		return a, false
	}
	n := 16 - i
	copy(a[ellipsis+n:], a[ellipsis:i])
	clear(a[ellipsis : ellipsis+n])
	return a, true
}

func hexVal(c byte) (int, bool) {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0'), true
	case 'a' <= c && c <= 'f':
		return int(c-'a') + 10, true
	case 'A' <= c && c <= 'F':
		return int(c-'A') + 10, true
	}
	return 0, false
}

// ParseAddrPort parses Envoy's source.address, "ip:port" or "[ipv6]:port",
// or a bare address; the port is not kept.
func ParseAddrPort(s string) (Addr, bool) {
	if a, ok := ParseAddr(s); ok {
		return a, true
	}
	if len(s) > 0 && s[0] == '[' {
		end := -1
		for i := range len(s) {
			if s[i] == ']' {
				end = i
				break
			}
		}
		if end < 0 || len(s) < end+2 || s[end+1] != ':' || !validPort(s[end+2:]) {
			return Addr{}, false
		}
		a, ok := parse6(s[1:end])
		return a, ok
	}
	// Without brackets only IPv4 takes a port.
	host, port, found := strings.Cut(s, ":")
	if !found || strings.IndexByte(host, '.') < 0 {
		return Addr{}, false
	}
	var a Addr
	copy(a[:], v4InV6[:])
	return a, parse4(host, a[12:]) && validPort(port)
}

// validPort: a decimal number up to 65535.
func validPort(s string) bool {
	_, err := strconv.ParseUint(s, 10, 16)
	return err == nil
}

// Prefix is a block of addresses in 16-byte form: IPv4 blocks are
// IPv4-mapped, so an IPv4 /8 has Bits 104. As with netip, an IPv4 block
// holds no IPv6 address and an IPv6 block no IPv4 one.
type Prefix struct {
	Addr Addr // masked
	Bits int  // 0..128
	v4   bool
}

// Contains reports whether a is in the block.
func (p Prefix) Contains(a Addr) bool {
	if is4(a) != p.v4 {
		return false
	}
	full, rest := p.Bits/8, p.Bits%8
	for i := range full {
		if a[i] != p.Addr[i] {
			return false
		}
	}
	if rest == 0 {
		return true
	}
	mask := byte(0xff << (8 - rest))
	return a[full]&mask == p.Addr[full]
}

// mask clears the bits of a beyond bits.
func mask(a Addr, bits int) Addr {
	for i := range a {
		switch {
		case bits >= 8*(i+1):
		case bits <= 8*i:
			a[i] = 0
		default:
			a[i] &= byte(0xff << (8 - (bits - 8*i)))
		}
	}
	return a
}

// String writes an address as netip.Addr.String does for an unmapped
// address: IPv4 dotted, IPv6 in RFC 5952's form.
func addrString(a Addr) string {
	if is4(a) {
		b := make([]byte, 0, 15)
		for i, x := range a[12:] {
			if i > 0 {
				b = append(b, '.')
			}
			b = strconv.AppendUint(b, uint64(x), 10)
		}
		return string(b)
	}
	// The longest run of two or more zero groups becomes "::" (the first
	// of equally long runs).
	best, bestLen := -1, 1
	for i := 0; i < 8; {
		if a[2*i] != 0 || a[2*i+1] != 0 {
			i++
			continue
		}
		j := i
		for j < 8 && a[2*j] == 0 && a[2*j+1] == 0 {
			j++
		}
		if j-i > bestLen {
			best, bestLen = i, j-i
		}
		i = j
	}
	b := make([]byte, 0, 39)
	for i := 0; i < 8; i++ {
		if i == best {
			b = append(b, ':', ':')
			i += bestLen - 1
			continue
		}
		if len(b) > 0 && b[len(b)-1] != ':' {
			b = append(b, ':')
		}
		b = strconv.AppendUint(b, uint64(a[2*i])<<8|uint64(a[2*i+1]), 16)
	}
	return string(b)
}

// String writes the block as netip.Prefix.String does for its unmapped
// form ("10.0.0.0/8", "fd00::/8").
func (p Prefix) String() string {
	if p.v4 {
		return addrString(p.Addr) + "/" + strconv.Itoa(p.Bits-96)
	}
	return addrString(p.Addr) + "/" + strconv.Itoa(p.Bits)
}
