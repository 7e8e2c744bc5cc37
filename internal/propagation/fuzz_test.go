package propagation

import (
	"encoding/base64"
	"strings"
	"testing"
)

func fuzzParser(f *testing.F, kind KeyKind, seeds ...string) {
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		id, ok := Parse(kind, v)
		if !ok {
			return
		}
		if id.S == "" || len(id.S) > MaxIDLen {
			t.Fatalf("id %q from %q", id.S, v)
		}
		// Whatever parses must round-trip through a slot.
		enc := encode(id, "gray", 10)
		if l, s := Inspect(enc, id, 5); s != Fresh || string(l) != "gray" {
			t.Fatalf("round trip of %q: %v", id.S, s)
		}
		_ = SlotOf(id, 7)
	})
}

func FuzzTraceparent(f *testing.F) {
	fuzzParser(f, KeyTraceparent, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "00-", "ff-x")
}

func FuzzRequestID(f *testing.F) {
	fuzzParser(f, KeyRequestID, "9d5a4a6c-1b2f-4c3d-8e9f-0a1b2c3d4e5f", "short")
}

func FuzzB3(f *testing.F) {
	fuzzParser(f, KeyB3, "80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1-05e3ac9a4f6e3b90", "0", "a-b")
}

func FuzzB3TraceID(f *testing.F) {
	fuzzParser(f, KeyB3TraceID, "463ac35c9f6413ad", "")
}

func FuzzUberTraceID(f *testing.F) {
	fuzzParser(f, KeyUber, "4bf92f3577b34da6:a3ce929d0e0e4736:0:1", "a%3Ab%3Ac%3Ad", ":::")
}

func FuzzSW8(f *testing.F) {
	fuzzParser(f, KeySW8, "1-YTFiMg==-c2Vn-3-c3Zj-aW5zdA==-L2Vw-YTo4MA==", "1-x-y-z")
}

// FuzzBaggage: parsing never panics, setting keeps every other member, and
// a set value reads back.
func FuzzBaggage(f *testing.F) {
	f.Add("userId=alice;p=1, lane=gray;ttl=5 ,theme=dark", "gray")
	f.Add("lane=%zz,a", "dev-a")
	f.Add(",,,=;", "x y")
	f.Fuzz(func(t *testing.T, h, value string) {
		BaggageGet(h, "lane")
		out, ok := BaggageSet(h, "lane", value)
		if !ok {
			if out != h {
				t.Fatal("a refused set changed the header")
			}
			return
		}
		if back, ok := BaggageGet(out, "lane"); !ok || back != value {
			t.Fatalf("set %q in %q -> %q, read back %q %v", value, h, out, back, ok)
		}
		eachMember(h, func(key, _, member string) bool {
			if key != "lane" && !strings.Contains(out, member) {
				t.Fatalf("member %q lost: %q -> %q", member, h, out)
			}
			return true
		})
	})
}

// decodeStdBase64 decodes as encoding/base64's StdEncoding, which it
// stands in for.
func FuzzBase64AsStdlib(f *testing.F) {
	for _, s := range []string{"", "YQ==", "YWI=", "YWJj", "YWJjZA==", "YW\nJj", "YQ=", "Y===", "YQ==YQ==", "YQ==\n", "YR==", "!!!!", "YWJj\r\nZGVm"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, err := base64.StdEncoding.DecodeString(s)
		got, ok := decodeStdBase64(s)
		if ok != (err == nil) || ok && string(got) != string(want) {
			t.Errorf("decodeStdBase64(%q) = %q, %v; encoding/base64: %q, %v", s, got, ok, want, err)
		}
	})
}
