package rules

import (
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"net/url"
	"strconv"
	"testing"

	"github.com/lanedye/lanedye/internal/lane"
)

func TestBucketIsSpecFormula(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 2000; i++ {
		salt := strconv.Itoa(r.IntN(1000))
		v := fmt.Sprintf("user-%d", r.Int64())
		h := fnv.New64a()
		h.Write([]byte(salt + "\x00" + v))
		if got, want := Bucket(salt, v), h.Sum64()%10000; got != want {
			t.Fatalf("Bucket(%q, %q) = %d, want %d", salt, v, got, want)
		}
	}
}

func pctRequest(t *testing.T, value float64) (*Percentage, *Index) {
	t.Helper()
	x := NewIndex()
	src, err := ParseSource("header:x-user-id", x)
	if err != nil {
		t.Fatal(err)
	}
	return &Percentage{Threshold: uint64(value * 100), Keys: []Source{src}, Salt: "myapp-v2"}, x
}

func TestPercentageDistribution(t *testing.T) {
	for _, target := range []float64{1, 10, 30, 50, 99.5} {
		p, x := pctRequest(t, target)
		in := 0
		var r Request
		for i := 0; i < 10000; i++ {
			r.Reset(x, [][2]string{{"x-user-id", strconv.Itoa(100000 + i)}})
			if p.Match(&r) {
				in++
			}
		}
		got := float64(in) / 100
		if got < target-3 || got > target+3 {
			t.Errorf("target %.2f%%: %.2f%% of 10000 ids matched", target, got)
		}
	}
}

// Raising the percentage never moves a user out: the set at 10 is a subset of
// the set at 30, which is a subset of the set at 100.
func TestPercentageMonotonic(t *testing.T) {
	steps := []float64{0, 0.01, 5, 10, 10.5, 30, 50, 99.99, 100}
	prev := map[string]bool{}
	for _, s := range steps {
		p, x := pctRequest(t, s)
		cur := map[string]bool{}
		var r Request
		for i := 0; i < 10000; i++ {
			id := "u" + strconv.Itoa(i)
			r.Reset(x, [][2]string{{"x-user-id", id}})
			if p.Match(&r) {
				cur[id] = true
			} else if prev[id] {
				t.Fatalf("raising to %.2f%% moved %s out", s, id)
			}
		}
		if s == 0 && len(cur) != 0 || s == 100 && len(cur) != 10000 {
			t.Errorf("%.0f%%: %d of 10000 matched", s, len(cur))
		}
		prev = cur
	}
}

func TestPercentageKeyOrder(t *testing.T) {
	x := NewIndex()
	h, _ := ParseSource("header:x-user-id", x)
	c, _ := ParseSource("cookie:uid", x)
	p := &Percentage{Threshold: 5000, Keys: []Source{h, c}, Salt: "s"}
	var r Request
	r.Reset(x, [][2]string{{"cookie", "uid=abc"}})
	if p.Match(&r) != (Bucket("s", "abc") < 5000) {
		t.Error("cookie key not used when the header is absent")
	}
	r.Reset(x, [][2]string{{"cookie", "uid=abc"}, {"x-user-id", "zzz"}})
	if p.Match(&r) != (Bucket("s", "zzz") < 5000) {
		t.Error("header key not preferred")
	}
	r.Reset(x, [][2]string{{"cookie", "other=1"}})
	p.Threshold = Buckets
	if p.Match(&r) {
		t.Error("no key present must not match, even at 100%")
	}
}

func TestRequestView(t *testing.T) {
	x := NewIndex()
	id := x.Add("x-a")
	var r Request
	r.Reset(x, [][2]string{
		{":authority", "Shop.Example.com:8443"}, {":path", "/p/q?x=1&lane=dev%2Da&e=&plus=a+b#frag"},
		{"x-a", "1"}, {"x-a", "2"}, {"cookie", ` a=1 ;b="quoted"; c`}, {"cookie", "d=4"},
	})
	if r.Host() != "Shop.Example.com" || r.Path() != "/p/q" {
		t.Errorf("host %q path %q", r.Host(), r.Path())
	}
	if v, _ := r.Header(id); v != "1" || r.Count(id) != 2 {
		t.Errorf("first x-a %q count %d", v, r.Count(id))
	}
	for name, want := range map[string]string{"a": "1", "b": "quoted", "d": "4", "c": ""} {
		src, err := ParseSource("cookie:"+name, x)
		if err != nil {
			t.Fatal(err)
		}
		r.Reset(x, r.Headers()) // cookie ids registered after Reset need a new Reset
		v, ok := src.Get(&r)
		if name == "c" {
			if ok {
				t.Error("cookie without '=' found")
			}
			continue
		}
		if !ok || v != want {
			t.Errorf("cookie %s = %q %v, want %q", name, v, ok, want)
		}
	}
	for name, want := range map[string]string{"x": "1", "lane": "dev-a", "e": "", "plus": "a b"} {
		if v, ok := r.Query(name); !ok || v != want {
			t.Errorf("query %s = %q %v, want %q", name, v, ok, want)
		}
	}
	if _, ok := r.Query("frag"); ok {
		t.Error("fragment parsed as query")
	}
	for in, want := range map[string]string{
		"a.com": "a.com", "a.com:80": "a.com", "[::1]:8080": "[::1]", "[::1]": "[::1]", "a.com.": "a.com", "": "",
	} {
		if got := StripPort(in); got != want {
			t.Errorf("StripPort(%q) = %q, want %q", in, got, want)
		}
	}
}

// Cookie names beyond the indexed ones are still found, by scanning.
func TestManyCookieNames(t *testing.T) {
	x := NewIndex()
	var srcs []Source
	for i := 0; i < 40; i++ {
		s, _ := ParseSource(fmt.Sprintf("cookie:c%d", i), x)
		srcs = append(srcs, s)
	}
	var hs [][2]string
	for i := 39; i >= 0; i-- {
		hs = append(hs, [2]string{"cookie", fmt.Sprintf("c%d=%d; z=1", i, i)})
	}
	var r Request
	r.Reset(x, hs)
	for i := range srcs {
		if v, ok := srcs[i].Get(&r); !ok || v != strconv.Itoa(i) {
			t.Fatalf("c%d = %q %v", i, v, ok)
		}
	}
}

// Names beyond the indexed ones are still found, by scanning.
func TestManyHeaderNames(t *testing.T) {
	x := NewIndex()
	var ids []int
	for i := 0; i < 100; i++ {
		ids = append(ids, x.Add(fmt.Sprintf("x-h%d", i)))
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

func TestStringMatch(t *testing.T) {
	re, err := NewRegexMatch(`a|b`, false, false)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		m      StringMatch
		v      string
		ok     bool
		expect bool
	}{
		{NewValueMatch(OpExact, []string{"a", "b"}, false, false), "b", true, true},
		{NewValueMatch(OpExact, []string{"a"}, false, false), "A", true, false},
		{NewValueMatch(OpExact, []string{"a"}, false, true), "A", true, true},
		{NewValueMatch(OpExact, []string{"a"}, true, false), "b", true, true},
		{NewValueMatch(OpExact, []string{"a"}, true, false), "", false, false},
		{NewValueMatch(OpExact, []string{""}, false, false), "", true, true},
		{NewValueMatch(OpPrefix, []string{"/api"}, false, false), "/api/x", true, true},
		{NewValueMatch(OpPrefix, []string{"/API"}, false, true), "/api/x", true, true},
		{NewValueMatch(OpPrefix, []string{"/api/x/y"}, false, false), "/api", true, false},
		{NewValueMatch(OpSuffix, []string{"0", "1", "2"}, false, false), "12341", true, true},
		{NewValueMatch(OpSuffix, []string{".JPG"}, false, true), "a.jpg", true, true},
		{NewValueMatch(OpContains, []string{"bot"}, false, true), "GoogleBOT", true, true},
		{NewValueMatch(OpContains, []string{"bot"}, false, false), "GoogleBOT", true, false},
		{NewValueMatch(OpContains, []string{"x", "bot"}, true, false), "robot", true, false},
		{re, "a", true, true},
		{re, "ab", true, false}, // alternation must still match the whole value
		{NewPresentMatch(true, false), "", true, true},
		{NewPresentMatch(true, false), "", false, false},
		{NewPresentMatch(true, true), "", false, true},
		{NewPresentMatch(false, false), "", false, true},
	}
	for i, c := range cases {
		if got := c.m.Match(c.v, c.ok); got != c.expect {
			t.Errorf("case %d (%q, %v): %v, want %v", i, c.v, c.ok, got, c.expect)
		}
	}
}

func TestEngineOrder(t *testing.T) {
	lanes := lane.NewSet("base", []string{"a", "b"})
	any, _ := NewHosts(nil)
	e := NewEngine([]Rule{
		{Name: "first", Lane: 1, Priority: 1, Hosts: any},
		{Name: "second", Lane: 2, Priority: 1, Hosts: any},
		{Name: "high", Lane: 2, Priority: 9, Hosts: Hosts{exact: []string{"h"}}},
	}, lanes)
	var r Request
	r.Reset(NewIndex(), [][2]string{{":authority", "x"}})
	if l, i, ok := e.Decide(&r); !ok || l != 1 || e.Rules()[i].Name != "first" {
		t.Errorf("tie: lane %d rule %d", l, i)
	}
	r.Reset(NewIndex(), [][2]string{{":authority", "H:1"}})
	if l, i, _ := e.Decide(&r); l != 2 || e.Rules()[i].Name != "high" {
		t.Errorf("priority: lane %d rule %d", l, i)
	}
}

func TestUnescapeMatchesNetURL(t *testing.T) {
	for _, in := range []string{"a%20b", "dev%2Da", "a+b", "%zz", "%", "%4", "plain", "%E4%B8%AD", "100%25"} {
		for _, plus := range []bool{true, false} {
			want, err := url.PathUnescape(in)
			if plus {
				want, err = url.QueryUnescape(in)
			}
			got, ok := Unescape(in, plus)
			if ok != (err == nil) || (ok && got != want) {
				t.Errorf("Unescape(%q, %v) = %q %v; net/url: %q %v", in, plus, got, ok, want, err)
			}
		}
	}
}
