package sticky

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"strconv"
	"strings"
	"unsafe"
)

// maxExpDigits bounds exp: 12 digits are Unix seconds for 30 000 years.
const maxExpDigits = 12

// Sign returns the signed value "<lane>.<exp>.<sig>" for a lane and an expiry
// (Unix seconds) under key.
func Sign(key []byte, laneName string, exp int64) string {
	payload := laneName + "." + strconv.FormatInt(exp, 10)
	return payload + "." + signature(key, payload)
}

func signature(key []byte, payload string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(payload))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// parts splits a value from the right (lane names may contain dots) into
// its lane, its expiry and the signed payload "<lane>.<exp>" and signature.
// A value without two dots, or whose exp is not 1 to 12 decimal digits, is
// malformed.
func parts(v string) (laneName string, exp int64, payload, sig string, ok bool) {
	i := strings.LastIndexByte(v, '.')
	if i < 0 {
		return "", 0, "", "", false
	}
	payload, sig = v[:i], v[i+1:]
	j := strings.LastIndexByte(payload, '.')
	if j < 0 {
		return "", 0, "", "", false
	}
	laneName, digits := payload[:j], payload[j+1:]
	if digits == "" || len(digits) > maxExpDigits {
		return "", 0, "", "", false
	}
	for k := 0; k < len(digits); k++ {
		if digits[k] < '0' || digits[k] > '9' {
			return "", 0, "", "", false
		}
	}
	exp, err := strconv.ParseInt(digits, 10, 64)
	return laneName, exp, payload, sig, err == nil
}

// constantTimeEqual compares with crypto/subtle, so that a forger learns
// nothing from timing. It reads the strings in place: a []byte conversion
// would allocate for values over 32 bytes.
func constantTimeEqual(a, b string) bool {
	return subtle.ConstantTimeCompare(bytesOf(a), bytesOf(b)) == 1
}

// bytesOf views s as bytes, read-only.
func bytesOf(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }
