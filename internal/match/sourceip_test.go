package match

import (
	"net/netip"
	"strings"
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
			if got := s.Holds(netip.MustParseAddr(tc.addr).As16(), true); got != tc.in {
				t.Errorf("%v, want %v", got, tc.in)
			}
		})
	}
	if s.Holds(Addr{}, false) {
		t.Error("an unknown address is in")
	}
	all6, _ := ParsePrefix("::/0")
	all4, _ := ParsePrefix("0.0.0.0/0")
	if (SourceIPs{all6}).Holds(netip.MustParseAddr("10.0.0.1").As16(), true) || (SourceIPs{all4}).Holds(netip.MustParseAddr("::1").As16(), true) {
		t.Error("a block of one family holds an address of the other")
	}
}

func TestParsePrefixRejects(t *testing.T) {
	for _, e := range []string{"", "10.0.0.300", "10.0.0.0/33", "fd00::/129", "example.com", "fe80::1%eth0", "::ffff:10.0.0.0/90", "10.0.0.0/8/8", "10.0.0.0/+8", "10.0.0.0/08", "10.0.0.0/-0"} {
		t.Run(e, func(t *testing.T) {
			if _, err := ParsePrefix(e); err == nil {
				t.Errorf("%q accepted", e)
			}
		})
	}
}

// ipCases are where parsers go wrong: field counts, leading zeros, "::"
// in every position, IPv4 tails, zones, ports.
var ipCases = []string{
	"0.0.0.0", "1.2.3.4", "255.255.255.255", "256.1.1.1", "1.2.3", "1.2.3.4.5", "01.2.3.4", "1..2.3", "1.2.3.", ".1.2.3",
	"::", "::1", "1::", "1::2", "1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7::", "::2:3:4:5:6:7:8", "1:2:3:4:5:6:7::8",
	"1:::2", ":1::2", "1::2:", "12345::", "fFfF::", "::ffff:1.2.3.4", "::1.2.3.4", "1:2:3:4:5:6:1.2.3.4", "1:2:3:4:5:6:7:1.2.3.4",
	"::ffff:1.2.3", "fe80::1%eth0", "[::1]", "", ":", "1.2.3.4:80", "[::1]:80", "[::ffff:1.2.3.4]:8080", "1.2.3.4:", "1.2.3.4:65536",
	"[::1]:+80", "[::1]:080", "[1.2.3.4]:80", "::1:80", "0:0:0:0:0:ffff:102:304", "2001:db8::1:0:0:1", "2001:db8:0:0:1:0:0:1",
	"1:0:0:2:0:0:0:3", "0:0:1:0:0:0:0:0",
}

// ParseAddr, ParseAddrPort, ParsePrefix and the text forms are netip's.
func TestIPAsNetip(t *testing.T) {
	for _, s := range ipCases {
		t.Run(s, func(t *testing.T) { checkIPAsNetip(t, s) })
		t.Run(s+"/x", func(t *testing.T) {
			for _, bits := range []string{"0", "8", "32", "33", "64", "96", "97", "104", "128", "129", "08"} {
				checkIPAsNetip(t, s+"/"+bits)
			}
		})
	}
}

func FuzzIPAsNetip(f *testing.F) {
	for _, s := range ipCases {
		f.Add(s)
	}
	f.Fuzz(checkIPAsNetip)
}

func checkIPAsNetip(t *testing.T, s string) {
	// Addresses: netip's, without zones.
	want, err := netip.ParseAddr(s)
	ok := err == nil && want.Zone() == ""
	got, gotOK := ParseAddr(s)
	if gotOK != ok || ok && got != want.As16() {
		t.Errorf("ParseAddr(%q) = %v, %v; netip: %v, %v", s, got, gotOK, want, err)
	}
	if ok {
		if str := addrString(got); str != want.Unmap().String() {
			t.Errorf("text of %q: %q, netip %q", s, str, want.Unmap().String())
		}
	}
	// source.address: netip's address and port, or netip's bare address.
	wantAP, err := netip.ParseAddrPort(s)
	apOK := err == nil && wantAP.Addr().Zone() == ""
	wantA := wantAP.Addr()
	if !apOK && ok {
		apOK, wantA = true, want
	}
	gotAP, gotAPOK := ParseAddrPort(s)
	if gotAPOK != apOK || apOK && gotAP != wantA.As16() {
		t.Errorf("ParseAddrPort(%q) = %v, %v; netip: %v, %v", s, gotAP, gotAPOK, wantA, apOK)
	}
	// Blocks: netip's, masked, IPv4-mapped ones as IPv4 from /96 on.
	if !strings.Contains(s, "/") {
		return
	}
	p, err := ParsePrefix(s)
	wp, werr := netip.ParsePrefix(s)
	wantOK := werr == nil && (!wp.Addr().Is4In6() || wp.Bits() >= 96)
	if (err == nil) != wantOK {
		t.Fatalf("ParsePrefix(%q): %v; netip: %v, %v", s, err, wp, werr)
	}
	if err != nil {
		return
	}
	if a := wp.Addr(); a.Is4In6() {
		wp = netip.PrefixFrom(a.Unmap(), wp.Bits()-96)
	}
	wp = wp.Masked()
	if p.String() != wp.String() {
		t.Errorf("ParsePrefix(%q) = %s; netip %s", s, p, wp)
	}
	for _, probe := range []string{"0.0.0.0", "10.1.2.3", "255.255.255.255", "::", "::1", "fd00::1", "2001:db8::1", "ffff::", "::ffff:0:0"} {
		a := netip.MustParseAddr(probe).Unmap()
		if got := p.Contains(a.As16()); got != wp.Contains(a) {
			t.Errorf("%s contains %s: %v; netip %v", s, probe, got, !got)
		}
	}
}
