// Package propagation carries a lane across service hops: correlation id
// parsing, W3C baggage, and the fixed-size slot store that maps a correlation
// id to a lane in Envoy shared data.
package propagation

import (
	"strings"

	"github.com/lanedye/lanedye/internal/request"
)

// MaxKeys is the most correlation keys a configuration lists; the sidecar
// reads a request's ids into an array of this size.
const MaxKeys = 8

// KeyKind is a kind of correlation id.
type KeyKind uint8

// Correlation id kinds.
const (
	KeyTraceparent KeyKind = iota
	KeyRequestID
	KeyB3
	KeyB3TraceID
	KeyUber
	KeySW8
	KeyHeader // a header's raw value
)

// KeyKinds are the kinds a configuration names, by name; a header of any
// other name is "header:NAME".
var KeyKinds = map[string]KeyKind{
	"traceparent":   KeyTraceparent,
	"x-request-id":  KeyRequestID,
	"b3":            KeyB3,
	"x-b3-traceid":  KeyB3TraceID,
	"uber-trace-id": KeyUber,
	"sw8":           KeySW8,
}

// Key is a configured correlation id source.
type Key struct {
	Kind   KeyKind
	Header string           // the header it reads, lower-case
	ID     request.HeaderID // Header in the configuration's index
}

// MaxIDLen bounds a correlation id. Longer values are treated as absent so
// that hostile headers cannot make stored values large.
const MaxIDLen = 256

// ID is a correlation id. Skip is a byte index to ignore when hashing and
// comparing (-1: none): Envoy rewrites index 14 of a UUID x-request-id to
// record its tracing decision, so the same request shows two spellings.
type ID struct {
	S    string
	Skip int
}

// Same reports whether two ids are the same correlation id (the ignored
// byte aside).
func (id ID) Same(o ID) bool {
	if len(id.S) != len(o.S) || id.Skip != o.Skip {
		return false
	}
	for i := 0; i < len(id.S); i++ {
		if id.S[i] != o.S[i] && i != id.Skip {
			return false
		}
	}
	return true
}

// Extract returns the correlation id of every configured key present on the
// request, in configuration order, appended to dst.
func Extract(dst []ID, keys []Key, r *request.Request) []ID {
	for i := range keys {
		v, ok := r.Header(keys[i].ID)
		if !ok {
			continue
		}
		if id, ok := Parse(keys[i].Kind, v); ok {
			dst = append(dst, id)
		}
	}
	return dst
}

// First returns the correlation id of the first configured key present.
func First(keys []Key, r *request.Request) (ID, bool) {
	for i := range keys {
		if v, ok := r.Header(keys[i].ID); ok {
			if id, ok := Parse(keys[i].Kind, v); ok {
				return id, true
			}
		}
	}
	return ID{}, false
}

// Parse extracts a correlation id from a header value of the given kind.
// Malformed values count as absent.
func Parse(kind KeyKind, v string) (ID, bool) {
	var s string
	var ok bool
	skip := -1
	switch kind {
	case KeyTraceparent:
		s, ok = Traceparent(v)
	case KeyRequestID:
		s, ok = v, v != ""
		if len(v) > 14 {
			skip = 14
		}
	case KeyB3:
		s, ok = B3(v)
	case KeyB3TraceID:
		s, ok = v, isHexID(v)
	case KeyUber:
		s, ok = UberTraceID(v)
	case KeySW8:
		s, ok = SW8(v)
	default:
		s, ok = v, v != ""
	}
	if !ok || len(s) > MaxIDLen {
		return ID{}, false
	}
	return ID{S: s, Skip: skip}, true
}

// Traceparent returns the trace id of a W3C traceparent of version 00:
// "00-<32 lower hex, not all zero>-<16 lower hex, not all zero>-<2 hex>".
func Traceparent(v string) (string, bool) {
	if len(v) != 55 || v[0] != '0' || v[1] != '0' || v[2] != '-' || v[35] != '-' || v[52] != '-' {
		return "", false
	}
	tid, pid, flags := v[3:35], v[36:52], v[53:55]
	if !isLowerHex(tid) || !isLowerHex(pid) || !isLowerHex(flags) || allZero(tid) || allZero(pid) {
		return "", false
	}
	return tid, true
}

// B3 returns the trace id of a single b3 header
// "{TraceId}-{SpanId}[-{Sampled}[-{ParentSpanId}]]". A sampling-only value
// ("0", "1", "d") carries no id.
func B3(v string) (string, bool) {
	tid, rest, ok := strings.Cut(v, "-")
	if !ok || !isHexID(tid) {
		return "", false
	}
	span, _, _ := strings.Cut(rest, "-")
	if len(span) != 16 || !isLowerHex(span) {
		return "", false
	}
	return tid, true
}

// UberTraceID returns the trace id of a Jaeger uber-trace-id
// "{trace-id}:{span-id}:{parent-span-id}:{flags}"; the colons may arrive
// percent-encoded.
func UberTraceID(v string) (string, bool) {
	sep := ":"
	if !strings.Contains(v, ":") {
		sep = "%3A"
		if !strings.Contains(v, sep) {
			sep = "%3a"
		}
	}
	parts := 0
	first := ""
	for s := v; ; {
		f, rest, more := strings.Cut(s, sep)
		if parts == 0 {
			first = f
		}
		parts++
		if !more {
			break
		}
		s = rest
	}
	if parts != 4 || first == "" || len(first) > 32 || !isHexAnyCase(first) || allZero(first) {
		return "", false
	}
	return first, true
}

// SW8 returns the decoded trace id of a SkyWalking sw8 header:
// "{sample}-{base64 trace id}-{base64 segment id}-{span id}-{base64 service}-
// {base64 instance}-{base64 endpoint}-{base64 address}".
func SW8(v string) (string, bool) {
	sample, rest, ok := strings.Cut(v, "-")
	if !ok || (sample != "0" && sample != "1") {
		return "", false
	}
	enc, rest, ok := strings.Cut(rest, "-")
	if !ok || enc == "" || len(enc) > 4*MaxIDLen/3+4 || strings.Count(rest, "-") != 5 {
		return "", false
	}
	tid, ok := decodeStdBase64(enc)
	if !ok || len(tid) == 0 {
		return "", false
	}
	return string(tid), true
}

func isHexID(s string) bool { return (len(s) == 16 || len(s) == 32) && isLowerHex(s) && !allZero(s) }

// only reports whether every byte of s is in set.
func only(s, set string) bool { return strings.Trim(s, set) == "" }

func isLowerHex(s string) bool { return len(s) > 0 && only(s, "0123456789abcdef") }

func isHexAnyCase(s string) bool { return only(s, "0123456789abcdefABCDEF") }

func allZero(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] != '0' {
			return false
		}
	}
	return true
}
