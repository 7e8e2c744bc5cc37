package request

import (
	"fmt"
	"strconv"
	"testing"
)

func TestRequestView(t *testing.T) {
	x := NewIndex()
	id := x.AddHeader("x-a")
	cookies := map[string]CookieID{}
	for _, n := range []string{"a", "b", "c", "d"} {
		cookies[n] = x.AddCookie(n)
	}
	var r Request
	r.Reset(x, [][2]string{
		{":authority", "Shop.Example.com:8443"}, {":path", "/p/q?x=1&lane=dev%2Da&e=&plus=a+b#frag"},
		{"x-a", "1"}, {"x-a", "2"}, {"cookie", ` a=1 ;b="quoted"; c`}, {"cookie", "d=4"},
	})
	if r.Host() != "Shop.Example.com" || r.HostIsLower() || r.Path() != "/p/q" {
		t.Errorf("host %q path %q", r.Host(), r.Path())
	}
	if v, _ := r.Header(id); v != "1" || r.Count(id) != 2 {
		t.Errorf("first x-a %q count %d", v, r.Count(id))
	}
	for _, tc := range []struct {
		name, want string
		ok         bool
	}{{"a", "1", true}, {"b", "quoted", true}, {"d", "4", true}, {"c", "", false}} {
		t.Run("cookie "+tc.name, func(t *testing.T) {
			if v, ok := r.Cookie(cookies[tc.name]); ok != tc.ok || v != tc.want {
				t.Errorf("%q %v, want %q %v", v, ok, tc.want, tc.ok)
			}
		})
	}
	for _, tc := range []struct {
		name, want string
		ok         bool
	}{{"x", "1", true}, {"lane", "dev-a", true}, {"e", "", true}, {"plus", "a b", true}, {"frag", "", false}} {
		t.Run("query "+tc.name, func(t *testing.T) {
			if v, ok := r.Query(tc.name); ok != tc.ok || v != tc.want {
				t.Errorf("%q %v, want %q %v", v, ok, tc.want, tc.ok)
			}
		})
	}
}

// Cookie names beyond the indexed ones are still found, by scanning.
func TestManyCookieNames(t *testing.T) {
	x := NewIndex()
	var ids []CookieID
	for i := range 40 {
		ids = append(ids, x.AddCookie(fmt.Sprintf("c%d", i)))
	}
	var hs [][2]string
	for i := 39; i >= 0; i-- {
		hs = append(hs, [2]string{"cookie", fmt.Sprintf("c%d=%d; z=1", i, i)})
	}
	var r Request
	r.Reset(x, hs)
	for i, id := range ids {
		if v, ok := r.Cookie(id); !ok || v != strconv.Itoa(i) {
			t.Fatalf("c%d = %q %v", i, v, ok)
		}
	}
}

// Names beyond the indexed ones are still found, by scanning.
func TestManyHeaderNames(t *testing.T) {
	x := NewIndex()
	var ids []HeaderID
	for i := range 100 {
		ids = append(ids, x.AddHeader(fmt.Sprintf("x-h%d", i)))
	}
	var hs [][2]string
	for i := 99; i >= 0; i-- {
		hs = append(hs, [2]string{fmt.Sprintf("x-h%d", i), strconv.Itoa(i)})
	}
	var r Request
	r.Reset(x, hs)
	for i, id := range ids {
		if v, ok := r.Header(id); !ok || v != strconv.Itoa(i) || r.Count(id) != 1 {
			t.Fatalf("x-h%d = %q %v", i, v, ok)
		}
	}
}
