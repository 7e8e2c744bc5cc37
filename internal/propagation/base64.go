package propagation

// decodeStdBase64 decodes padded standard base64 (RFC 4648 §4) as
// encoding/base64's StdEncoding.DecodeString does: '\r' and '\n' are
// skipped, the input is whole quanta of four, "=" pads only the last one.
// Every sidecar links this for the sw8 trace id; encoding/base64 costs the
// module several times its size.
func decodeStdBase64(s string) ([]byte, bool) {
	out := make([]byte, 0, len(s)/4*3)
	var q [4]byte
	n, done := 0, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\r' || c == '\n' {
			continue
		}
		if done {
			return nil, false // after the padded quantum
		}
		q[n] = c
		if n++; n < 4 {
			continue
		}
		n = 0
		b, k, ok := decodeQuantum(q)
		if !ok {
			return nil, false
		}
		out = append(out, b[:k]...)
		done = k < 3
	}
	return out, n == 0
}

// decodeQuantum decodes four characters into up to three bytes.
func decodeQuantum(q [4]byte) (b [3]byte, n int, ok bool) {
	n = 3
	switch {
	case q[2] == '=' && q[3] == '=':
		n = 1
	case q[3] == '=':
		n = 2
	}
	var v [4]uint32
	for i := 0; i <= n; i++ {
		if v[i], ok = base64Value(q[i]); !ok {
			return b, 0, false
		}
	}
	w := v[0]<<18 | v[1]<<12 | v[2]<<6 | v[3]
	return [3]byte{byte(w >> 16), byte(w >> 8), byte(w)}, n, true
}

func base64Value(c byte) (uint32, bool) {
	switch {
	case 'A' <= c && c <= 'Z':
		return uint32(c - 'A'), true
	case 'a' <= c && c <= 'z':
		return uint32(c-'a') + 26, true
	case '0' <= c && c <= '9':
		return uint32(c-'0') + 52, true
	case c == '+':
		return 62, true
	case c == '/':
		return 63, true
	}
	return 0, false
}
