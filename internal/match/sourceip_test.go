package match

import (
	"net/netip"
	"testing"
)

func TestSourceIPs(t *testing.T) {
	var s SourceIPs
	for _, e := range []string{"10.0.0.0/8", "192.168.7.7", "fd00::/8", "::ffff:172.16.0.0/108"} {
		p, err := ParsePrefix(e)
		if err != nil {
			t.Fatal(err)
		}
		s = append(s, p)
	}
	for _, tc := range []struct {
		addr string
		in   bool
	}{
		{"10.1.2.3", true}, {"11.1.2.3", false}, {"192.168.7.7", true}, {"192.168.7.8", false},
		{"fd12::1", true}, {"fe80::1", false}, {"::ffff:10.9.9.9", true}, {"172.16.5.5", true}, {"172.32.0.1", false},
	} {
		t.Run(tc.addr, func(t *testing.T) {
			if got := s.Holds(netip.MustParseAddr(tc.addr).Unmap()); got != tc.in {
				t.Errorf("%v, want %v", got, tc.in)
			}
		})
	}
	if s.Holds(netip.Addr{}) {
		t.Error("an unknown address is in")
	}
}

func TestParsePrefixRejects(t *testing.T) {
	for _, e := range []string{"", "10.0.0.300", "10.0.0.0/33", "fd00::/129", "example.com", "fe80::1%eth0", "::ffff:10.0.0.0/90", "10.0.0.0/8/8"} {
		t.Run(e, func(t *testing.T) {
			if _, err := ParsePrefix(e); err == nil {
				t.Errorf("%q accepted", e)
			}
		})
	}
}

// FuzzParsePrefix: any entry is either rejected or a valid, masked prefix
// that holds its own address, and never an IPv4-mapped one.
func FuzzParsePrefix(f *testing.F) {
	for _, s := range []string{"10.0.0.0/8", "192.168.7.7", "fd00::/8", "::ffff:10.0.0.0/104", "::ffff:1.2.3.4", "1.2.3.4/0", "::/0", "[::1]"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, e string) {
		p, err := ParsePrefix(e)
		if err != nil {
			return
		}
		if !p.IsValid() || p != p.Masked() || p.Addr().Is4In6() || !(SourceIPs{p}).Holds(p.Addr()) {
			t.Fatalf("%q -> %v", e, p)
		}
	})
}
