package sticky

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"strconv"
	"strings"
	"testing"

	"github.com/lanedye/lanedye/internal/lane"
)

const (
	key1 = "0123456789abcdef-first"
	key2 = "0123456789abcdef-second"
	now  = int64(1_800_000_000)
	day  = 86400
)

var lanes = lane.NewSet("base", []string{"gray", "dev.a"})

func signed(keys ...string) *Cookie {
	var ks [][]byte
	for _, k := range keys {
		ks = append(ks, []byte(k))
	}
	return New(Options{Cookie: "x-lane", MaxAge: day, Path: "/", HTTPOnly: true, SameSite: "Lax", Keys: ks, Lanes: []lane.ID{1, 2}}, lanes)
}

// spec is the contract's value (docs/contract.md, Sticky cookie), computed
// independently of the package.
func spec(key, laneName string, exp int64) string {
	payload := laneName + "." + strconv.FormatInt(exp, 10)
	m := hmac.New(sha256.New, []byte(key))
	m.Write([]byte(payload))
	return payload + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func TestVerify(t *testing.T) {
	c := signed(key1, key2)
	for _, tc := range []struct {
		name string
		v    string
		lane lane.ID
		ok   bool
	}{
		{"valid, first key", spec(key1, "gray", now+day), 1, true},
		{"valid, second key (rotation)", spec(key2, "gray", now+day), 1, true},
		{"lane with a dot", spec(key1, "dev.a", now+60), 2, true},
		{"at the slack's end", spec(key1, "gray", now+day+Slack), 1, true},
		{"beyond the slack", spec(key1, "gray", now+day+Slack+1), lane.None, false},
		{"expired", spec(key1, "gray", now-1), lane.None, false},
		{"expiring now", spec(key1, "gray", now), lane.None, false},
		{"other key", spec("0123456789abcdef-other", "gray", now+day), lane.None, false},
		{"forged signature", forge(spec(key1, "gray", now+day)), lane.None, false},
		{"truncated signature", spec(key1, "gray", now+day)[:40], lane.None, false},
		{"expiry changed", strings.Replace(spec(key1, "gray", now+day), strconv.FormatInt(now+day, 10), strconv.FormatInt(now+day-1, 10), 1), lane.None, false},
		{"lane changed", "dev.a" + spec(key1, "gray", now+day)[4:], lane.None, false},
		{"default lane is not sticky", spec(key1, "base", now+day), lane.None, false},
		{"unknown lane", spec(key1, "blue", now+day), lane.None, false},
		{"v1 format", "gray." + base64.RawURLEncoding.EncodeToString(make([]byte, 32)), lane.None, false},
		{"unsigned", "gray", lane.None, false},
		{"13-digit expiry", spec(key1, "gray", 1_000_000_000_000), lane.None, false},
		{"signed expiry with a sign", "gray.+1800086400." + strings.SplitN(spec(key1, "gray", now+day), ".", 3)[2], lane.None, false},
		{"empty", "", lane.None, false},
		{"dots only", "..", lane.None, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, _, ok := c.Verify(tc.v, now, c.NewCache())
			if l != tc.lane || ok != tc.ok {
				t.Errorf("%q: %d %v, want %d %v", tc.v, l, ok, tc.lane, tc.ok)
			}
		})
	}
}

func TestIssue(t *testing.T) {
	c := signed(key1, key2)
	cache := c.NewCache()
	hdr := c.SetCookie(1, now+17, cache)
	v := strings.TrimPrefix(strings.SplitN(hdr, ";", 2)[0], "x-lane=")
	_, exp, ok := c.Verify(v, now+17, cache)
	if !ok {
		t.Fatalf("issued %q does not verify", hdr)
	}
	// Rounded up by less than an hour, Max-Age counting from now, signed
	// with the first key.
	if exp < now+17+day || exp >= now+17+day+3600 || exp%3600 != 0 {
		t.Errorf("expiry %d for now %d", exp, now+17)
	}
	if want := "x-lane=" + spec(key1, "gray", exp) + "; Max-Age=" + strconv.FormatInt(exp-now-17, 10) + "; Path=/; HttpOnly; SameSite=Lax"; hdr != want {
		t.Errorf("Set-Cookie %q\nwant        %q", hdr, want)
	}
	// Values issued close together are the same string.
	later := c.SetCookie(1, now+18, cache)
	if strings.SplitN(later, ";", 2)[0] != strings.SplitN(hdr, ";", 2)[0] {
		t.Errorf("a second later, another value: %q", later)
	}
	if c.SetCookie(0, now, cache) != "" {
		t.Error("the default lane gets a cookie though not listed")
	}
}

// A cookie with less than half of max_age left is renewed: 2*(exp-now) <
// max_age, exact for an odd max_age (docs/contract.md, Sticky cookie).
func TestRenew(t *testing.T) {
	odd := New(Options{Cookie: "lane", MaxAge: 601, Keys: [][]byte{[]byte(key1)}, Lanes: []lane.ID{1}}, lanes)
	for _, tc := range []struct {
		c     *Cookie
		name  string
		left  int64
		renew bool
	}{
		{signed(key1), "day", day, false}, {signed(key1), "day", day / 2, false},
		{signed(key1), "day", day/2 - 1, true}, {signed(key1), "day", 1, true},
		{odd, "601", 301, false}, {odd, "601", 300, true},
	} {
		t.Run("max_age "+tc.name+", "+strconv.FormatInt(tc.left, 10)+"s left", func(t *testing.T) {
			if got := tc.c.Renew(now+tc.left, now); got != tc.renew {
				t.Errorf("renew %v, want %v", got, tc.renew)
			}
		})
	}
}

func TestUnsigned(t *testing.T) {
	c := New(Options{Cookie: "lane", MaxAge: 1, Lanes: []lane.ID{1}}, lanes)
	cache := c.NewCache()
	if l, _, ok := c.Verify("gray", now, cache); !ok || l != 1 {
		t.Error("unsigned cookie not accepted")
	}
	if _, _, ok := c.Verify("dev.a", now, cache); ok {
		t.Error("cookie for a lane outside sticky.lanes accepted")
	}
	if got := c.SetCookie(1, now, cache); got != "lane=gray; Max-Age=1" {
		t.Errorf("set-cookie %q", got)
	}
	if c.Renew(now, now) {
		t.Error("an unsigned cookie cannot be renewed")
	}
}

// A valid cookie is verified once; then it costs no HMAC and no allocation.
func TestVerifyAllocatesNothingOnceVerified(t *testing.T) {
	c := signed(key1)
	cache := c.NewCache()
	v := spec(key1, "gray", now+day)
	if _, _, ok := c.Verify(v, now, cache); !ok {
		t.Fatal("not valid")
	}
	if n := testing.AllocsPerRun(100, func() { c.Verify(v, now, cache) }); n != 0 {
		t.Errorf("%v allocations per verification", n)
	}
}

func BenchmarkVerify(b *testing.B) {
	c := signed(key1)
	for _, bc := range []struct {
		name string
		v    string
	}{
		{"valid", spec(key1, "gray", now+day)},
		{"expired", spec(key1, "gray", now-1)},
		{"forged", forge(spec(key1, "gray", now+day))},
	} {
		b.Run(bc.name, func(b *testing.B) {
			cache := c.NewCache()
			b.ReportAllocs()
			for b.Loop() {
				c.Verify(bc.v, now, cache)
			}
		})
	}
}

// FuzzVerify: no value panics, and whatever verifies is a configured sticky
// lane with an expiry inside the window.
func FuzzVerify(f *testing.F) {
	c := signed(key1, key2)
	for _, s := range []string{spec(key1, "gray", now+day), spec(key2, "dev.a", now+5), "gray.1.x", "..", "a.b.c.d", "gray.99999999999999999999.x", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		l, exp, ok := c.Verify(v, now, c.NewCache())
		if !ok {
			return
		}
		if !c.Sticky(l) || exp <= now || exp > now+day+Slack {
			t.Fatalf("%q verified as lane %d, exp %d", v, l, exp)
		}
	})
}

// forge replaces the last characters of a value's signature.
func forge(v string) string { return v[:len(v)-4] + "AAAA" }
