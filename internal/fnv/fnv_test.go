package fnv

import (
	"hash/fnv"
	"testing"
)

func TestMatchesHashFNV(t *testing.T) {
	for _, tc := range []struct {
		name  string
		h     Hash
		bytes string
	}{
		{"empty", New, ""},
		{"string", New.String("lanedye"), "lanedye"},
		{"salt, zero byte, value", New.String("percentage-30").Byte(0).String("12345"), "percentage-30\x0012345"},
		{"skipping index 2", New.StringSkipping("abXcd", 2), "abcd"},
		{"skipping nothing", New.StringSkipping("abcd", -1), "abcd"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ref := fnv.New64a()
			ref.Write([]byte(tc.bytes))
			if uint64(tc.h) != ref.Sum64() {
				t.Errorf("%x, hash/fnv says %x", uint64(tc.h), ref.Sum64())
			}
		})
	}
}
