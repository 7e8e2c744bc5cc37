package sticky

import (
	"strings"
	"testing"

	"github.com/lanedye/lanedye/internal/lane"
)

func TestSignedRoundTrip(t *testing.T) {
	lanes := lane.NewSet("base", []string{"gray", "dev.a"})
	c := New(Options{Cookie: "x-lane", MaxAge: 60, Path: "/", Secret: []byte("0123456789abcdef"), Lanes: []lane.ID{1, 2}}, lanes)
	for _, l := range []lane.ID{1, 2} {
		t.Run(lanes.Name(l), func(t *testing.T) {
			hdr := c.SetCookie(l)
			v := strings.TrimPrefix(strings.SplitN(hdr, ";", 2)[0], "x-lane=")
			if got, ok := c.Lane(v); !ok || got != l {
				t.Errorf("cookie %q read back as %d %v", v, got, ok)
			}
			// Flip one signature character.
			b := []byte(v)
			b[len(b)-1] ^= 1
			if _, ok := c.Lane(string(b)); ok {
				t.Errorf("tampered cookie %q accepted", b)
			}
		})
	}
	for _, bad := range []string{"", ".", "gray", "gray.", "base." + Sign([]byte("0123456789abcdef"), "base")[5:], Sign([]byte("0123456789abcdeX"), "gray")} {
		t.Run(bad, func(t *testing.T) {
			if _, ok := c.Lane(bad); ok {
				t.Errorf("%q accepted", bad)
			}
		})
	}
	if c.SetCookie(0) != "" {
		t.Error("default lane gets a cookie though not listed")
	}
}

func TestUnsigned(t *testing.T) {
	lanes := lane.NewSet("base", []string{"gray"})
	c := New(Options{Cookie: "lane", MaxAge: 1, Lanes: []lane.ID{1}}, lanes)
	if l, ok := c.Lane("gray"); !ok || l != 1 {
		t.Error("unsigned cookie not accepted")
	}
	if _, ok := c.Lane("base"); ok {
		t.Error("cookie for a lane outside sticky.lanes accepted")
	}
	if got := c.SetCookie(1); got != "lane=gray; Max-Age=1" {
		t.Errorf("set-cookie %q", got)
	}
}

func TestVerifyAllocatesNothing(t *testing.T) {
	lanes := lane.NewSet("base", []string{"gray"})
	c := New(Options{Cookie: "x", MaxAge: 1, Secret: []byte("0123456789abcdef0123"), Lanes: []lane.ID{1}}, lanes)
	v := Sign([]byte("0123456789abcdef0123"), "gray")
	if n := testing.AllocsPerRun(100, func() { c.Lane(v) }); n != 0 {
		t.Errorf("%v allocations per verification", n)
	}
}
