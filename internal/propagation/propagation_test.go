package propagation

import (
	"encoding/base64"
	"fmt"
	"runtime"
	"strings"
	"testing"
)

func TestParsers(t *testing.T) {
	sw8 := func(tid string) string {
		e := base64.StdEncoding.EncodeToString
		return "1-" + e([]byte(tid)) + "-" + e([]byte("seg")) + "-3-" + e([]byte("svc")) + "-" + e([]byte("inst")) + "-" + e([]byte("/ep")) + "-" + e([]byte("a:80"))
	}
	cases := []struct {
		kind KeyKind
		in   string
		want string // "" = absent
	}{
		{KeyTraceparent, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "4bf92f3577b34da6a3ce929d0e0e4736"},
		{KeyTraceparent, "00-00000000000000000000000000000000-00f067aa0ba902b7-01", ""},
		{KeyTraceparent, "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01", ""},
		{KeyTraceparent, "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01", ""},
		{KeyTraceparent, "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", ""},
		{KeyTraceparent, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7", ""},
		{KeyTraceparent, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra", ""},
		{KeyB3, "80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1-05e3ac9a4f6e3b90", "80f198ee56343ba864fe8b2a57d3eff7"},
		{KeyB3, "a3ce929d0e0e4736-00f067aa0ba902b7", "a3ce929d0e0e4736"},
		{KeyB3, "1", ""},
		{KeyB3, "d", ""},
		{KeyB3, "a3ce929d0e0e4736-short", ""},
		{KeyB3TraceID, "463ac35c9f6413ad", "463ac35c9f6413ad"},
		{KeyB3TraceID, "463ac35c9f6413ad48485a3953bb6124", "463ac35c9f6413ad48485a3953bb6124"},
		{KeyB3TraceID, "463ac35c9f6413a", ""},
		{KeyUber, "4bf92f3577b34da6:a3ce929d0e0e4736:0:1", "4bf92f3577b34da6"},
		{KeyUber, "abc%3Adef%3A0%3A1", "abc"},
		{KeyUber, "abc:def:0", ""},
		{KeyUber, "0:def:0:1", ""},
		{KeySW8, sw8("a1b2.55.1679"), "a1b2.55.1679"},
		{KeySW8, "1-!!notb64!!-x-3-a-b-c-d", ""},
		{KeySW8, "2-" + base64.StdEncoding.EncodeToString([]byte("t")) + "-x-3-a-b-c-d", ""},
		{KeyRequestID, "9d5a4a6c-1b2f-4c3d-8e9f-0a1b2c3d4e5f", "9d5a4a6c-1b2f-4c3d-8e9f-0a1b2c3d4e5f"},
		{KeyRequestID, "", ""},
		{KeyHeader, "order-1", "order-1"},
		{KeyHeader, strings.Repeat("x", MaxIDLen+1), ""},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%d %.40s", c.kind, c.in), func(t *testing.T) {
			id, ok := Parse(c.kind, c.in)
			if (c.want == "") == ok || id.S != c.want {
				t.Errorf("got %q %v, want %q", id.S, ok, c.want)
			}
		})
	}
}

func TestRequestIDIgnoresIndex14(t *testing.T) {
	a, _ := Parse(KeyRequestID, "9d5a4a6c-1b2f-4c3d-8e9f-0a1b2c3d4e5f")
	b, _ := Parse(KeyRequestID, "9d5a4a6c-1b2f-bc3d-8e9f-0a1b2c3d4e5f")
	c, _ := Parse(KeyRequestID, "9d5a4a6c-1b2f-4c3d-8e9f-0a1b2c3d4e5e")
	if SlotOf(a, 1<<20) != SlotOf(b, 1<<20) {
		t.Error("index 14 changes the slot")
	}
	v := encode(a, "gray", 2000)
	if _, s := Inspect(v, b, 1000); s != Fresh {
		t.Errorf("index-14 rewrite: %v, want Fresh", s)
	}
	if _, s := Inspect(v, c, 1000); s != Foreign {
		t.Errorf("other id: %v, want Foreign", s)
	}
	if _, s := Inspect(v, a, 2000); s != Expired {
		t.Errorf("at expiry: %v, want Expired", s)
	}
	for _, bad := range [][]byte{nil, {1}, {2, 0, 0, 0, 0, 0, 0, 0, 0, 0}, {1, 0, 0, 0, 0, 0, 0, 0, 9, 200, 'a'}} {
		t.Run(fmt.Sprintf("malformed %v", bad), func(t *testing.T) {
			if _, s := Inspect(bad, a, 0); s != Empty {
				t.Errorf("decoded as %v", s)
			}
		})
	}
}

func TestBaggage(t *testing.T) {
	get := []struct{ h, want string }{
		{"lane=gray", "gray"},
		{"a=1, lane = gray ;p=1;q, b=2", "gray"},
		{"lane=dev%2Da", "dev-a"},
		{"a=1,,lane=gray", "gray"},
		{"lane=gray,lane=dev-a", "gray"},
		{"lane", ""},
		{"lane=gr ay", ""},
		{"la ne=gray", ""},
		{"a=1;=x,lane=gray", ""},
		{"lane=%zz", ""},
		{"other=gray", ""},
		{strings.Repeat("k=v,", 2100) + "lane=gray", ""}, // over 8192 bytes
	}
	for _, c := range get {
		t.Run(fmt.Sprintf("get %.40q", c.h), func(t *testing.T) {
			v, ok := BaggageGet(c.h, "lane")
			if v != c.want || ok != (c.want != "") {
				t.Errorf("%q %v, want %q", v, ok, c.want)
			}
		})
	}
	set := []struct{ h, value, want string }{
		{"", "gray", "lane=gray"},
		{"userId=alice;p=1, theme=dark", "gray", "userId=alice;p=1,theme=dark,lane=gray"},
		{"lane=base;ttl=1,x=1,lane=old", "gray", "lane=gray,x=1"},
		{"a=1", "dev a", "a=1,lane=dev%20a"},
		{"a=1", "50%", "a=1,lane=50%25"},
	}
	for _, c := range set {
		t.Run(fmt.Sprintf("set %q in %q", c.value, c.h), func(t *testing.T) {
			got, ok := BaggageSet(c.h, "lane", c.value)
			if !ok || got != c.want {
				t.Errorf("%q %v, want %q", got, ok, c.want)
			}
			if back, _ := BaggageGet(got, "lane"); back != c.value {
				t.Errorf("set then get: %q", back)
			}
		})
	}
	if got, ok := BaggageSet("a b=1", "lane", "gray"); ok || got != "a b=1" {
		t.Errorf("malformed baggage rewritten: %q", got)
	}
}

// AppendBaggageSet appends after what dst holds, and leaves dst as it was
// when the header is left alone.
func TestAppendBaggageSet(t *testing.T) {
	for _, c := range []struct {
		name, h, want string
		ok            bool
	}{
		{"appended", "a=1", "prefix|a=1,lane=gray", true},
		{"replaced", "lane=base,a=1", "prefix|lane=gray,a=1", true},
		{"empty header", "", "prefix|lane=gray", true},
		{"malformed", "a b=1", "prefix|", false},
		{"too long", strings.Repeat("k=v,", 2047) + "kk=v", "prefix|", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, ok := AppendBaggageSet([]byte("prefix|"), c.h, "lane", "gray")
			if string(got) != c.want || ok != c.ok {
				t.Errorf("%.60q %v, want %.60q %v", got, ok, c.want, c.ok)
			}
		})
	}
}

func TestBaggageDel(t *testing.T) {
	for _, c := range []struct {
		h, want     string
		changed, ok bool
	}{
		{"lane=gray", "", true, true},
		{"a=1, lane=gray;p=1 ,b=2,lane=x", "a=1,b=2", true, true},
		{"a=1, b=2", "a=1, b=2", false, true},
		{"lanes=gray", "lanes=gray", false, true},
		{"a b=1,lane=gray", "a b=1,lane=gray", false, false},
	} {
		t.Run(c.h, func(t *testing.T) {
			got, changed, ok := BaggageDel(c.h, "lane")
			if got != c.want || changed != c.changed || ok != c.ok {
				t.Errorf("%q %v %v, want %q %v %v", got, changed, ok, c.want, c.changed, c.ok)
			}
		})
	}
	// The gateway's common case: a default-lane request whose baggage has
	// no lane member.
	if n := testing.AllocsPerRun(100, func() { BaggageDel("userId=alice;p=1, theme=dark", "lane") }); n != 0 {
		t.Errorf("%.1f allocations for a header without the member", n)
	}
}

// Hostile values are parsed in place: no allocation proportional to them.
func TestHostileInputAllocations(t *testing.T) {
	big := strings.Repeat("a", 64<<10)
	var members []string
	for i := 0; i < 1000; i++ {
		members = append(members, fmt.Sprintf("%x=1", i))
	}
	bag := strings.Join(members, ",")
	uber := strings.Repeat("a:", 32<<10)
	sw8 := "1-" + big + "-a-b-c-d-e-f"
	inputs := map[string]func(){
		"traceparent 64KiB":  func() { Parse(KeyTraceparent, big) },
		"request id 64KiB":   func() { Parse(KeyRequestID, big) },
		"header 64KiB":       func() { Parse(KeyHeader, big) },
		"uber 64KiB":         func() { Parse(KeyUber, uber) },
		"sw8 64KiB":          func() { Parse(KeySW8, sw8) },
		"baggage 1000 items": func() { BaggageGet(bag, "lane") },
		"invalid utf-8":      func() { BaggageGet("lane=\xff\xfe,\xc3\x28=1", "lane") },
	}
	for name, f := range inputs {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		for i := 0; i < 10; i++ {
			f()
		}
		runtime.ReadMemStats(&after)
		if b := after.TotalAlloc - before.TotalAlloc; b > 10*1024 {
			t.Errorf("%s: %d bytes allocated over 10 calls", name, b)
		}
	}
}

func TestMergeWays(t *testing.T) {
	id := func(s string) ID { return ID{S: s, Skip: -1} }
	var v []byte
	// Four ways: four concurrent ids all resolve.
	for i, s := range []string{"a", "b", "c", "d"} {
		var evicted bool
		v, evicted = Merge(nil, v, []ID{id(s)}, "gray", int64(100+i), 0, 4)
		if evicted {
			t.Fatalf("evicted while storing %s", s)
		}
	}
	for _, s := range []string{"a", "b", "c", "d"} {
		if l, st := Inspect(v, id(s), 50); st != Fresh || string(l) != "gray" {
			t.Errorf("%s: %v", s, st)
		}
	}
	// A fifth evicts the oldest.
	v, evicted := Merge(nil, v, []ID{id("e")}, "dev", 200, 0, 4)
	if !evicted {
		t.Error("no eviction reported")
	}
	if _, st := Inspect(v, id("a"), 50); st != Foreign {
		t.Errorf("oldest survived: %v", st)
	}
	// Re-storing an id replaces its mapping rather than adding one.
	v, evicted = Merge(nil, v, []ID{id("c")}, "dev", 300, 0, 4)
	if l, st := Inspect(v, id("c"), 250); evicted || st != Fresh || string(l) != "dev" {
		t.Errorf("restore c: %s %v %v", l, st, evicted)
	}
	// Expired mappings make room without counting as evictions.
	v, evicted = Merge(nil, v, []ID{id("f")}, "gray", 400, 250, 4)
	if evicted {
		t.Error("expired mappings counted as evicted")
	}
	if _, st := Inspect(v, id("b"), 250); st != Foreign {
		t.Errorf("expired b kept: %v", st)
	}
	// One way is a single-mapping slot: the newest replaces whatever was there.
	one, _ := Merge(nil, nil, []ID{id("x")}, "gray", 100, 0, 1)
	one, evicted = Merge(nil, one, []ID{id("y")}, "dev", 100, 0, 1)
	if _, st := Inspect(one, id("x"), 0); st != Foreign || !evicted {
		t.Errorf("one way: %v %v", st, evicted)
	}
	if string(one) != string(encode(id("y"), "dev", 100)) {
		t.Error("a one-way slot differs from Encode")
	}
}

// encode is a slot value holding only id -> lane until expiry (unix ms).
func encode(id ID, laneName string, expiry int64) []byte {
	v, _ := Merge(nil, nil, []ID{id}, laneName, expiry, 0, 1)
	return v
}

// A mapping's size in a slot: UUIDs and hex ids packed two digits a byte.
func TestSlotValueSizes(t *testing.T) {
	rid, _ := Parse(KeyRequestID, "9d5a4a6c-1b2f-4c3d-8e9f-0a1b2c3d4e5f")
	tp, _ := Parse(KeyTraceparent, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	for _, c := range []struct {
		name string
		id   ID
		want int
	}{
		{"uuid x-request-id", rid, 2 + 29},
		{"traceparent trace id", tp, 2 + 29},
		{"upper-case uuid as it is", ID{S: "9D5A4A6C-1B2F-4C3D-8E9F-0A1B2C3D4E5F", Skip: 14}, 2 + 13 + 36},
		{"odd hex as it is", ID{S: "abc", Skip: -1}, 2 + 13 + 3},
		{"other ids as they are", ID{S: "order-1", Skip: -1}, 2 + 13 + 7},
	} {
		t.Run(c.name, func(t *testing.T) {
			v := encode(c.id, "gray", 1000)
			if len(v) != c.want {
				t.Errorf("%d bytes, want %d", len(v), c.want)
			}
			if l, st := Inspect(v, c.id, 0); st != Fresh || string(l) != "gray" {
				t.Errorf("round trip: %q %v", l, st)
			}
		})
	}
}

// Packing keeps ids apart exactly as comparing them does: equal but for
// the ignored byte.
func FuzzIDEncoding(f *testing.F) {
	f.Add("9d5a4a6c-1b2f-4c3d-8e9f-0a1b2c3d4e5f", "9d5a4a6c-1b2f-bc3d-8e9f-0a1b2c3d4e5f", true)
	f.Add("4bf92f3577b34da6a3ce929d0e0e4736", "4bf92f3577b34da6a3ce929d0e0e4737", false)
	f.Add("ab", "AB", false)
	f.Add("order-1", "order-1", true)
	f.Fuzz(func(t *testing.T, a, b string, skip bool) {
		if a == "" || b == "" || len(a) > MaxIDLen || len(b) > MaxIDLen {
			return
		}
		mk := func(s string) ID {
			if skip && len(s) > 14 {
				return ID{S: s, Skip: 14}
			}
			return ID{S: s, Skip: -1}
		}
		ia, ib := mk(a), mk(b)
		same := len(a) == len(b) && ia.Skip == ib.Skip
		for i := 0; same && i < len(a); i++ {
			same = a[i] == b[i] || i == ia.Skip
		}
		_, st := Inspect(encode(ia, "gray", 10), ib, 5)
		if (st == Fresh) != same {
			t.Fatalf("%q vs %q (skip %v): %v, same %v", a, b, skip, st, same)
		}
	})
}
