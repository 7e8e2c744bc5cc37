package request_test

import (
	"encoding/binary"
	"slices"
	"testing"

	"github.com/lanedye/lanedye/internal/request"
)

// encodePairs is Proxy-Wasm's serialization of a header map.
func encodePairs(pairs [][2]string) []byte {
	b := binary.LittleEndian.AppendUint32(nil, uint32(len(pairs)))
	for _, p := range pairs {
		b = binary.LittleEndian.AppendUint32(b, uint32(len(p[0])))
		b = binary.LittleEndian.AppendUint32(b, uint32(len(p[1])))
	}
	for _, p := range pairs {
		b = append(append(append(append(b, p[0]...), 0), p[1]...), 0)
	}
	return b
}

func TestDecodePairs(t *testing.T) {
	browser := [][2]string{{":authority", "myapp.example.com"}, {":path", "/"}, {"cookie", "a=1; b=2"}, {"x-empty", ""}}
	for _, tc := range []struct {
		name string
		b    []byte
		want [][2]string
		ok   bool
	}{
		{"headers", encodePairs(browser), browser, true},
		{"empty map", encodePairs(nil), nil, true},
		{"empty name and value", encodePairs([][2]string{{"", ""}}), [][2]string{{"", ""}}, true},
		{"nothing", nil, nil, false},
		{"short count", []byte{1, 0}, nil, false},
		{"count beyond the sizes", []byte{2, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0}, nil, false},
		{"lengths beyond the data", encodePairs(browser)[:len(encodePairs(browser))-1], nil, false},
		{"huge length", func() []byte {
			b := encodePairs([][2]string{{"a", "b"}})
			binary.LittleEndian.PutUint32(b[8:], 0xffffffff)
			return b
		}(), nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := request.DecodePairs(make([][2]string, 3), tc.b)
			if ok != tc.ok {
				t.Fatalf("ok = %v, want %v", ok, tc.ok)
			}
			if ok && !slices.Equal(got, tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// Decoding reuses dst and allocates nothing.
func TestDecodePairsAllocations(t *testing.T) {
	b := encodePairs([][2]string{{":authority", "a.example"}, {"x-user-id", "12345"}})
	dst := make([][2]string, 0, 8)
	if n := testing.AllocsPerRun(100, func() { dst, _ = request.DecodePairs(dst, b) }); n != 0 {
		t.Errorf("%v allocations per decode", n)
	}
}

func FuzzDecodePairs(f *testing.F) {
	f.Add(encodePairs([][2]string{{":authority", "a"}, {"cookie", "x=1"}}))
	f.Add([]byte{1, 0, 0, 0, 255, 255, 255, 255, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		pairs, ok := request.DecodePairs(nil, b)
		if !ok {
			return
		}
		if again, ok := request.DecodePairs(nil, encodePairs(pairs)); !ok || !slices.Equal(again, pairs) {
			t.Errorf("re-encoding %q does not decode to itself", pairs)
		}
	})
}
