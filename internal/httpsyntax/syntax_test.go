package httpsyntax

import "testing"

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
