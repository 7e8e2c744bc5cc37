package gjson

import (
	"errors"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
)

// The exact domain of parseNumberToken: a mantissa below 2^53 times an
// exact power of ten, in the spellings JSON allows.
func TestParseNumberTokenExact(t *testing.T) {
	for _, tc := range []struct{ name, in string }{
		{"zero", "0"},
		{"negative zero", "-0"},
		{"negative zero decimal", "-0.0"},
		{"integer", "86400"},
		{"slots", "8192"},
		{"largest exact integer", "9007199254740991"},
		{"percentage", "12.5"},
		{"two decimals", "99.99"},
		{"small", "0.01"},
		{"leading zeros", "007"},
		{"trailing zeros", "1.2500000000000000000000000"},
		{"exponent", "1e22"},
		{"exponent sign", "3E+10"},
		{"negative exponent", "25e-3"},
		{"integer with many zeros", "123000000000000000000000000000000"},
		{"tiny", "1e-22"},
		{"plus sign", "+5"},
		{"dot first", ".5"},
		{"dot last", "5."},
		{"infinity", "Infinity"},
		{"negative infinity", "-inf"},
		{"nan", "NaN"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want, _ := strconv.ParseFloat(tc.in, 64)
			if got := parseNumberToken(tc.in); !sameFloat(got, want) {
				t.Errorf("parseNumberToken(%q) = %v (%x), ParseFloat %v (%x)", tc.in, got, math.Float64bits(got), want, math.Float64bits(want))
			}
		})
	}
}

// Random values of the exact domain, spelled several ways, read bit for
// bit as ParseFloat reads them.
func TestParseNumberTokenExactDomain(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 200000; i++ {
		mant := r.Uint64N(1 << 53)
		if i%3 == 0 {
			mant %= 100000 // short ones: integers and percentages
		}
		exp := r.IntN(45) - 22
		s := strconv.FormatUint(mant, 10) + "e" + strconv.Itoa(exp)
		if i%2 == 0 && exp < 0 && -exp < len(s) {
			d := strconv.FormatUint(mant, 10)
			for len(d) <= -exp {
				d = "0" + d
			}
			s = d[:len(d)+exp] + "." + d[len(d)+exp:]
		}
		if i%5 == 0 {
			s = "-" + s
		}
		want, _ := strconv.ParseFloat(s, 64)
		if got := parseNumberToken(s); !sameFloat(got, want) {
			t.Fatalf("parseNumberToken(%q) = %v, ParseFloat %v", s, got, want)
		}
	}
}

// Not a decimal number: 0, as ParseFloat's syntax errors.
func TestParseNumberTokenSyntax(t *testing.T) {
	for _, in := range []string{"", "-", "+", ".", "e5", "1e", "1e+", "1.2.3", "12abc", "--1", "-nan", "+NaN", "infin", "0x"} {
		t.Run(in, func(t *testing.T) {
			if _, err := strconv.ParseFloat(in, 64); err == nil {
				t.Fatalf("ParseFloat(%q) accepts it", in)
			}
			if got := parseNumberToken(in); got != 0 || math.Signbit(got) {
				t.Errorf("parseNumberToken(%q) = %v, want 0", in, got)
			}
		})
	}
}

// Anywhere else within a few float64 values of ParseFloat's; the
// same value where it is exact; 0 where ParseFloat finds no number (hex
// floats aside: JSON has none, and neither does parseNumberToken).
func FuzzParseNumberToken(f *testing.F) {
	for _, s := range []string{"0", "1.5", "-2e-308", "4.9e-324", "1.7976931348623157e308", "1e309",
		"123456789012345678901234567890", "0.000000000000000000000000001", "9007199254740993", "NaN"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := parseNumberToken(s)
		want, err := strconv.ParseFloat(s, 64)
		if strings.ContainsAny(s, "xX_") {
			return // Go's hex floats and digit separators: JSON has neither
		}
		if errors.Is(err, strconv.ErrSyntax) {
			if got != 0 {
				t.Fatalf("parseNumberToken(%q) = %v; ParseFloat finds no number", s, got)
			}
			return
		}
		if !within4(got, want) {
			t.Fatalf("parseNumberToken(%q) = %v (%x), ParseFloat %v (%x)", s, got, math.Float64bits(got), want, math.Float64bits(want))
		}
	})
}

func FuzzHex4(f *testing.F) {
	for _, s := range []string{"0041", "00e9", "FFFF", "zzzz", "12G4", "aBcD"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if len(s) != 4 || strings.ContainsAny(s, "+-_xX") {
			return // what \u carries; ParseUint also takes a sign and prefix
		}
		want, _ := strconv.ParseUint(s, 16, 64)
		if got := hex4(s); got != want {
			t.Fatalf("hex4(%q) = %d, ParseUint %d", s, got, want)
		}
	})
}

func sameFloat(a, b float64) bool {
	if math.IsNaN(a) || math.IsNaN(b) {
		return math.IsNaN(a) && math.IsNaN(b)
	}
	return math.Float64bits(a) == math.Float64bits(b)
}

// within4: at most 4 representable float64 values apart, counting ±Inf as
// the value after ±MaxFloat64 and ±0 as the one before the smallest
// denormal, as their bit patterns do.
func within4(a, b float64) bool {
	if sameFloat(a, b) {
		return true
	}
	if math.IsNaN(a) || math.IsNaN(b) || math.Signbit(a) != math.Signbit(b) {
		return false
	}
	d := int64(math.Float64bits(a)) - int64(math.Float64bits(b))
	return d >= -4 && d <= 4
}
