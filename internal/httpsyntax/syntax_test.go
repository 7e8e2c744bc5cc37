package httpsyntax

import (
	"net/url"
	"strconv"
	"testing"
)

func TestHost(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"a.com", "a.com"}, {"a.com:80", "a.com"}, {"[::1]:8080", "[::1]"}, {"[::1]", "[::1]"}, {"a.com.", "a.com"}, {"a.com.:443", "a.com"}, {"", ""},
	} {
		t.Run(tc.in, func(t *testing.T) {
			if got := Host(tc.in); got != tc.want {
				t.Errorf("Host(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestValidToken(t *testing.T) {
	for _, tc := range []struct {
		in string
		ok bool
	}{{"x-user-id", true}, {"lane", true}, {"", false}, {"a b", false}, {"a:b", false}, {"a\x7f", false}, {"a;b", false}} {
		t.Run(tc.in, func(t *testing.T) {
			if ValidToken(tc.in) != tc.ok {
				t.Errorf("ValidToken(%q) != %v", tc.in, tc.ok)
			}
		})
	}
	if !ValidHeaderName(":authority") || ValidHeaderName(":") {
		t.Error("pseudo-headers")
	}
}

// Unescape decodes as net/url does, which it stands in for.
func TestUnescapeAsNetURL(t *testing.T) {
	for _, in := range []string{"", "plain", "a%20b", "a+b", "%41%62", "%e4%b8%ad", "%", "%4", "%zz", "a%2", "100%", "%%41", "+%2B+", "%C3%A9t%c3%a9"} {
		t.Run(in, func(t *testing.T) {
			checkUnescape(t, in)
		})
	}
}

func FuzzUnescape(f *testing.F) {
	for _, s := range []string{"a%20b", "a+b", "%zz", "%e4%b8%ad"} {
		f.Add(s)
	}
	f.Fuzz(checkUnescape)
}

func checkUnescape(t *testing.T, in string) {
	for _, c := range []struct {
		query bool
		ref   func(string) (string, error)
	}{{false, url.PathUnescape}, {true, url.QueryUnescape}} {
		want, err := c.ref(in)
		got, ok := Unescape(in, c.query)
		if ok != (err == nil) || ok && got != want {
			t.Errorf("Unescape(%q, query %v) = %q, %v; net/url: %q, %v", in, c.query, got, ok, want, err)
		}
	}
}

func TestToLower(t *testing.T) {
	for in, want := range map[string]string{"": "", "x-user-id": "x-user-id", "X-User-ID": "x-user-id", "Reviews.PROD": "reviews.prod", "ÄB": "Äb"} {
		if got := ToLower(in); got != want {
			t.Errorf("ToLower(%q) = %q, want %q", in, got, want)
		}
	}
}

// Quote is strconv.Quote for printable text, and always a Go literal of
// its input.
func TestQuote(t *testing.T) {
	for _, s := range []string{"", "gray", `a"b\c`, "x-user-id", "中文", "tab\there", "nl\n", "\x00\x1f\x7f", "é"} {
		if got, want := Quote(s), strconv.Quote(s); got != want {
			t.Errorf("Quote(%q) = %s, want %s", s, got, want)
		}
	}
	checkQuote(t, "\xff\xfe bad utf-8")
}

func FuzzQuote(f *testing.F) {
	for _, s := range []string{"gray", "\xff", "中", `"\`} {
		f.Add(s)
	}
	f.Fuzz(checkQuote)
}

func checkQuote(t *testing.T, s string) {
	q := Quote(s)
	if u, err := strconv.Unquote(q); err != nil || u != s {
		t.Errorf("Quote(%q) = %s, which unquotes to %q, %v", s, q, u, err)
	}
}
