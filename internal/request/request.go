// Package request is the read-only view of one request's headers that
// every decision reads: the header list Envoy hands over in one host call,
// indexed in one pass, with cookies and query parameters found on demand.
//
// The names a configuration reads get small ids at configuration time (an
// Index); looking one up on a request is then an array access, and nothing
// here allocates except percent-decoding a query value that has escapes.
package request

import (
	"strings"

	"github.com/lanedye/lanedye/internal/httpsyntax"
)

// Request is a read-only view of one request's headers. The zero value is not
// usable; call Reset. A Request holds no pointers into the configuration other
// than the Index, so one value can be reused across requests.
type Request struct {
	headers [][2]string
	x       *Index
	pos     [maxIndexed]int32 // 1 + position of the first occurrence; 0 absent
	dup     uint64            // bit id set: the header occurs more than once
	host    string            // :authority without port, as sent
	lower   bool              // host has no upper-case ASCII letter
	path    string            // :path without query string and fragment
	query   string            // raw query string, without '?'

	// Cookies are located on first use, all indexed names in one pass.
	cookieDone bool
	cookieSet  uint32
	cookieVals [maxCookies]string

	// The downstream address in 16-byte form, when the plugin read it.
	// Not a netip.Addr: netip's package state would cost every module
	// that indexes requests, the sidecar's too.
	source    [16]byte
	hasSource bool

	// out is where a header value the module builds for this request
	// lives (Scratch, Keep). Reset leaves it alone: a plugin that reuses
	// one Request builds those values without allocating.
	out []byte
}

// Reset points r at a new header list (names lower-case, as Envoy delivers
// them) and locates every indexed name in one pass. A Request that was
// Reset before is cleared first; a new one is already zero.
func (r *Request) Reset(x *Index, headers [][2]string) {
	if r.x != nil {
		r.pos = [maxIndexed]int32{}
		r.dup = 0
		r.cookieDone = false
		r.cookieSet = 0
		r.hasSource = false
	}
	r.headers = headers
	r.x = x
	mask := uint32(len(x.table) - 1)
	for i := range headers {
		n := headers[i][0]
		if len(n) == 0 || len(n) >= 256 || x.lens[len(n)>>6]&(1<<(len(n)&63)) == 0 {
			continue
		}
		// The first probe inline: calls are expensive in Go's wasm code.
		h := nameHash(n)
		sl := &x.table[h&mask]
		var id HeaderID
		switch {
		case sl.id < 0:
			continue
		case sl.hash == h && sl.name == n:
			id = HeaderID(sl.id)
		default:
			if id = x.lookup(n, h); id < 0 {
				continue
			}
		}
		if r.pos[id] != 0 {
			r.dup |= 1 << id
			continue
		}
		r.pos[id] = int32(i + 1)
	}
	a, _ := r.Header(Authority)
	r.host = httpsyntax.Host(a)
	r.lower = !httpsyntax.HasUpper(r.host)
	p, _ := r.Header(Path)
	r.path, r.query = splitPath(p)
}

// Header returns the first value of header id.
func (r *Request) Header(id HeaderID) (string, bool) {
	if id < maxIndexed {
		if p := r.pos[id]; p != 0 {
			return r.headers[p-1][1], true
		}
		return "", false
	}
	name := r.x.names[id]
	for i := range r.headers {
		if r.headers[i][0] == name {
			return r.headers[i][1], true
		}
	}
	return "", false
}

// Count returns how many times header id occurs. It scans only for names that
// occur more than once, which well-behaved clients never send.
func (r *Request) Count(id HeaderID) int {
	if id < maxIndexed {
		switch {
		case r.pos[id] == 0:
			return 0
		case r.dup&(1<<id) == 0:
			return 1
		}
	}
	n := 0
	for i := range r.headers {
		if r.headers[i][0] == r.x.names[id] {
			n++
		}
	}
	return n
}

// Joined returns every value of header id as one comma-separated list, the
// form HTTP gives a header sent several times; it allocates only then.
func (r *Request) Joined(id HeaderID) (string, bool) {
	v, ok := r.Header(id)
	if !ok || r.Count(id) == 1 {
		return v, ok
	}
	var b strings.Builder
	for i := range r.headers {
		if r.headers[i][0] == r.x.names[id] {
			if b.Len() > 0 {
				b.WriteByte(',')
			}
			b.WriteString(r.headers[i][1])
		}
	}
	return b.String(), true
}

// Scratch returns an empty buffer to build a header value in: the one Keep
// kept, so its memory is reused from request to request. What is built
// there is valid until the next Scratch.
func (r *Request) Scratch() []byte { return r.out[:0] }

// Keep makes b, grown from Scratch, the next Scratch's memory and returns
// it.
func (r *Request) Keep(b []byte) []byte {
	r.out = b
	return b
}

// SetSource records the downstream address in 16-byte form (IPv4 as
// IPv4-mapped IPv6, netip.Addr.As16). The plugin reads it only when a
// decision can depend on it.
func (r *Request) SetSource(a [16]byte) { r.source, r.hasSource = a, true }

// Source returns the downstream address; false when unknown.
func (r *Request) Source() ([16]byte, bool) { return r.source, r.hasSource }

// Headers returns the underlying header list.
func (r *Request) Headers() [][2]string { return r.headers }

// Host returns :authority without the port (and without a trailing dot), in the
// case the client sent it.
func (r *Request) Host() string { return r.host }

// HostIsLower reports that Host has no upper-case letter, so it can be
// compared with == against lower-case configuration.
func (r *Request) HostIsLower() bool { return r.lower }

// Path returns :path without the query string and fragment.
func (r *Request) Path() string { return r.path }

// Method returns :method.
func (r *Request) Method() (string, bool) { return r.Header(Method) }

// Query returns the first value of query parameter name, percent-decoded.
// Decoding allocates only when the raw value contains an escape.
func (r *Request) Query(name string) (string, bool) {
	q := r.query
	for len(q) > 0 {
		var part string
		if i := strings.IndexByte(q, '&'); i >= 0 {
			part, q = q[:i], q[i+1:]
		} else {
			part, q = q, ""
		}
		k, v := part, ""
		if eq := strings.IndexByte(part, '='); eq >= 0 {
			k, v = part[:eq], part[eq+1:]
		}
		if k != name {
			continue
		}
		if d, ok := httpsyntax.Unescape(v, true); ok {
			v = d
		}
		return v, true
	}
	return "", false
}

func splitPath(p string) (path, query string) {
	if i := strings.IndexByte(p, '#'); i >= 0 {
		p = p[:i]
	}
	if i := strings.IndexByte(p, '?'); i >= 0 {
		return p[:i], p[i+1:]
	}
	return p, ""
}
