package gjson

import "math"

// lanedye: gjson gives a number token its Num with strconv.ParseFloat,
// and a \u escape its rune with strconv.ParseUint. Those link strconv's
// float parsing (the Eisel-Lemire algorithm and its power-of-ten tables)
// and its error formatting into every module, for configurations whose
// numbers are integers and two-decimal percentages. upstream.patch
// routes the number tokens of a document to parseNumberToken and the
// escapes to hex4 instead; strconv stays where gjson converts a string
// (Result.Float and friends, path queries).

// exactPow10 are the powers of ten a float64 holds exactly.
var exactPow10 = [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10,
	1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

// parseNumberToken returns the value of a number token as
// strconv.ParseFloat(s, 64) does, ignoring its error: bit for bit when
// the digits, leading and trailing zeros aside, are an integer below 2^53
// and the exponent moves them by at most 22 places (further for short
// integers with trailing zeros), which covers every integer below 2^53
// and every two-decimal percentage.
// Other numbers are within a few float64 values of it (the value after
// MaxFloat64 being infinity). A token
// that is not a decimal number reads 0, as a syntax error does in
// ParseFloat (which also takes Go's hex floats and digit separators; JSON
// has neither); "Infinity" and "NaN", which gjson also takes
// for numbers, read as in ParseFloat.
func parseNumberToken(s string) float64 {
	signed, neg := false, false
	if s != "" && (s[0] == '-' || s[0] == '+') {
		signed, neg = true, s[0] == '-'
		s = s[1:]
	}
	if f, ok := special(s, signed); ok {
		if neg {
			return -f
		}
		return f
	}
	var mant uint64
	digits, exp := 0, 0 // significant digits kept; decimal exponent
	dropped := false    // a nonzero digit did not fit in mant
	sawDigit, sawDot := false, false
	i := 0
	for ; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '.' && !sawDot:
			sawDot = true
			continue
		case c < '0' || c > '9':
		case mant == 0 && c == '0':
			sawDigit = true
			if sawDot {
				exp--
			}
			continue
		case digits < 19:
			sawDigit = true
			mant = mant*10 + uint64(c-'0')
			digits++
			if sawDot {
				exp--
			}
			continue
		default:
			sawDigit = true
			dropped = dropped || c != '0'
			if !sawDot {
				exp++
			}
			continue
		}
		break
	}
	if !sawDigit {
		return 0
	}
	if i < len(s) {
		e, ok := exponent(s[i:])
		if !ok {
			return 0
		}
		exp += e
	}
	f := decimalValue(mant, exp, dropped)
	if neg {
		return -f
	}
	return f
}

// exponent reads "e" or "E", a sign and digits to the end of s.
func exponent(s string) (int, bool) {
	if len(s) < 2 || (s[0] != 'e' && s[0] != 'E') {
		return 0, false
	}
	s = s[1:]
	neg := false
	if s[0] == '-' || s[0] == '+' {
		neg = s[0] == '-'
		s = s[1:]
	}
	if s == "" {
		return 0, false
	}
	e := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		if e < 100000 { // far beyond any float64; stops overflow
			e = e*10 + int(s[i]-'0')
		}
	}
	if neg {
		return -e, true
	}
	return e, true
}

// decimalValue returns mant * 10^exp; dropped says nonzero digits beyond
// mant were cut off.
func decimalValue(mant uint64, exp int, dropped bool) float64 {
	if mant == 0 {
		return 0
	}
	if !dropped && mant < 1<<53 {
		// One rounding of two exact operands: what ParseFloat returns.
		switch {
		case exp >= 0 && exp < len(exactPow10):
			return float64(mant) * exactPow10[exp]
		case exp < 0 && -exp < len(exactPow10):
			return float64(mant) / exactPow10[-exp]
		case exp >= len(exactPow10) && exp < 2*len(exactPow10)-1:
			// An integer with trailing zeros: move some into mant while it
			// stays exact.
			m := mant
			e := exp
			for e >= len(exactPow10) && m < (1<<53)/10 {
				m *= 10
				e--
			}
			if e < len(exactPow10) {
				return float64(m) * exactPow10[e]
			}
		}
	}
	// Two factors, so that neither overflows nor underflows on the way to
	// a representable result.
	half := exp / 2
	return float64(mant) * math.Pow10(half) * math.Pow10(exp-half)
}

// special reads ParseFloat's spellings of infinity and NaN (which takes no
// sign).
func special(s string, signed bool) (float64, bool) {
	switch {
	case equalFoldASCII(s, "inf"), equalFoldASCII(s, "infinity"):
		return math.Inf(1), true
	case !signed && equalFoldASCII(s, "nan"):
		return math.NaN(), true
	}
	return 0, false
}

// equalFoldASCII reports whether s is lower, ignoring ASCII case; lower
// is lower-case.
func equalFoldASCII(s, lower string) bool {
	if len(s) != len(lower) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i]|0x20 != lower[i] {
			return false
		}
	}
	return true
}

// hex4 returns the value of four hex digits, 0 when one is not a hex
// digit (ParseUint's syntax error).
func hex4(s string) uint64 {
	var n uint64
	for i := 0; i < 4 && i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c|0x20 >= 'a' && c|0x20 <= 'f':
			c = c | 0x20 - 'a' + 10
		default:
			return 0
		}
		n = n<<4 | uint64(c)
	}
	return n
}
