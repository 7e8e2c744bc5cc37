// Package rules evaluates dyeing rules against a request.
//
// Everything a rule needs is compiled at configuration time: header names are
// lower-cased and given small ids, regexes are compiled, host patterns are
// split into exact names and suffixes. A Request is a read-only view over the
// header list Envoy hands over in one host call; looking a header up costs an
// array access, and nothing on the evaluation path allocates except regex
// matching and percent-decoding of query values that contain escapes.
package rules

import (
	"strings"
)

// maxIndexed is how many header names are located in one pass over the request
// headers. Configurations that read more names still work: the rest are found
// by scanning.
const maxIndexed = 64

// Ids of the header names every configuration reads.
const (
	IDAuthority = iota
	IDPath
	IDMethod
	IDCookie
)

// maxCookies is how many cookie names are located in one pass over the cookie
// header; further names are found by scanning.
const maxCookies = 32

// Index gives the header and cookie names a configuration reads small
// integer ids. It is filled at configuration time and read-only afterwards.
type Index struct {
	ids     map[string]int
	names   []string
	lens    [4]uint64 // bit n set: some indexed name has length n (n < 256)
	table   []slot    // open addressing over the first maxIndexed names
	cookies map[string]int
	cnames  []string
}

type slot struct {
	name string
	hash uint32
	id   int32 // -1: empty
}

// nameHash mixes the length and three bytes of a name: header names share
// prefixes ("x-", "accept-") but rarely length and tail, and hashing a few
// bytes is several times cheaper than a Go map lookup on every request header.
func nameHash(s string) uint32 {
	n := len(s)
	h := uint32(n) * 0x9E3779B1
	h ^= uint32(s[n-1]) * 0x85EBCA6B
	h ^= uint32(s[n/2]) * 0xC2B2AE35
	h ^= uint32(s[(n-1)/3]) * 0x27D4EB2F
	return h ^ h>>15
}

// lookup returns the id of an indexed name with hash h, or -1. Comparing
// the stored hash first keeps string compares to real candidates.
func (x *Index) lookup(name string, h uint32) int {
	mask := uint32(len(x.table) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		sl := &x.table[i]
		if sl.id < 0 {
			return -1
		}
		if sl.hash == h && sl.name == name {
			return int(sl.id)
		}
	}
}

// rebuild sizes the table to at most 25% load so that most probes end at once.
func (x *Index) rebuild() {
	n := min(len(x.names), maxIndexed)
	size := 16
	for size < 4*n {
		size *= 2
	}
	x.table = make([]slot, size)
	for i := range x.table {
		x.table[i].id = -1
	}
	mask := uint32(size - 1)
	for id, name := range x.names[:n] {
		i := nameHash(name) & mask
		for x.table[i].id >= 0 {
			i = (i + 1) & mask
		}
		x.table[i] = slot{name: name, hash: nameHash(name), id: int32(id)}
	}
}

// NewIndex returns an Index holding the pseudo-headers and cookie header.
func NewIndex() *Index {
	x := &Index{ids: make(map[string]int), cookies: make(map[string]int)}
	x.Add(":authority")
	x.Add(":path")
	x.Add(":method")
	x.Add("cookie")
	return x
}

// Add registers a lower-case header name and returns its id.
func (x *Index) Add(name string) int {
	if id, ok := x.ids[name]; ok {
		return id
	}
	id := len(x.names)
	x.names = append(x.names, name)
	x.ids[name] = id
	if id < maxIndexed && len(name) < 256 {
		x.lens[len(name)>>6] |= 1 << (len(name) & 63)
		x.rebuild()
	}
	return id
}

// AddCookie registers a cookie name and returns its id.
func (x *Index) AddCookie(name string) int {
	if id, ok := x.cookies[name]; ok {
		return id
	}
	id := len(x.cnames)
	x.cnames = append(x.cnames, name)
	x.cookies[name] = id
	return id
}

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
		var id int
		switch {
		case sl.id < 0:
			continue
		case sl.hash == h && sl.name == n:
			id = int(sl.id)
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
	a, _ := r.Header(IDAuthority)
	r.host = StripPort(a)
	r.lower = !hasUpper(r.host)
	p, _ := r.Header(IDPath)
	r.path, r.query = splitPath(p)
}

// Header returns the first value of header id.
func (r *Request) Header(id int) (string, bool) {
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
func (r *Request) Count(id int) int {
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

// Headers returns the underlying header list.
func (r *Request) Headers() [][2]string { return r.headers }

// Host returns :authority without the port (and without a trailing dot), in the
// case the client sent it.
func (r *Request) Host() string { return r.host }

// Path returns :path without the query string and fragment.
func (r *Request) Path() string { return r.path }

// Method returns :method.
func (r *Request) Method() (string, bool) { return r.Header(IDMethod) }

// Cookie returns the value of the first cookie with id (see Index.AddCookie).
func (r *Request) Cookie(id int) (string, bool) {
	if id >= maxCookies {
		return r.scanCookies(r.x.cnames[id], nil)
	}
	if !r.cookieDone {
		r.cookieDone = true
		if r.pos[IDCookie] != 0 {
			r.scanCookies("", r.x.cookies)
		}
	}
	if r.cookieSet&(1<<id) == 0 {
		return "", false
	}
	return r.cookieVals[id], true
}

// scanCookies walks every cookie header once. With ids it records the first
// value of every indexed name; otherwise it returns the first value of name.
// HTTP/2 clients may split cookies over several cookie headers.
func (r *Request) scanCookies(name string, ids map[string]int) (string, bool) {
	for i := range r.headers {
		if i+1 < int(r.pos[IDCookie]) || r.headers[i][0] != "cookie" {
			continue
		}
		s := r.headers[i][1]
		for len(s) > 0 {
			var part string
			if j := strings.IndexByte(s, ';'); j >= 0 {
				part, s = s[:j], s[j+1:]
			} else {
				part, s = s, ""
			}
			eq := strings.IndexByte(part, '=')
			if eq < 0 {
				continue
			}
			k := TrimOWS(part[:eq])
			v := TrimOWS(part[eq+1:])
			if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
				v = v[1 : len(v)-1]
			}
			if ids == nil {
				if k == name {
					return v, true
				}
				continue
			}
			if id, ok := ids[k]; ok && id < maxCookies && r.cookieSet&(1<<id) == 0 {
				r.cookieSet |= 1 << id
				r.cookieVals[id] = v
			}
		}
		if r.dup&(1<<IDCookie) == 0 {
			break
		}
	}
	return "", false
}

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
		if strings.ContainsAny(v, "%+") {
			if d, ok := Unescape(v, true); ok {
				v = d
			}
		}
		return v, true
	}
	return "", false
}

// Unescape decodes %XX escapes (and, with plus, '+' as a space, as query
// strings write it). A malformed escape makes it fail. It stands in for
// net/url, which with net/netip would add over 100 KB to the module.
func Unescape(s string, plus bool) (string, bool) {
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '%':
			if i+2 >= len(s) || unhex(s[i+1]) < 0 || unhex(s[i+2]) < 0 {
				return "", false
			}
			b = append(b, byte(unhex(s[i+1])<<4|unhex(s[i+2])))
			i += 2
		case c == '+' && plus:
			b = append(b, ' ')
		default:
			b = append(b, c)
		}
	}
	return string(b), true
}

func unhex(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c - 'a' + 10)
	case c >= 'A' && c <= 'F':
		return int(c - 'A' + 10)
	}
	return -1
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

// StripPort removes the port and a trailing dot from an :authority value,
// keeping IPv6 literals intact ("[::1]:8080" -> "[::1]").
func StripPort(a string) string {
	if len(a) > 0 && a[0] == '[' {
		if i := strings.IndexByte(a, ']'); i >= 0 {
			return a[:i+1]
		}
		return a
	}
	if i := strings.LastIndexByte(a, ':'); i >= 0 {
		a = a[:i]
	}
	if len(a) > 1 && a[len(a)-1] == '.' {
		a = a[:len(a)-1]
	}
	return a
}

func hasUpper(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 'A' && s[i] <= 'Z' {
			return true
		}
	}
	return false
}

// TrimOWS trims HTTP optional whitespace (spaces and tabs).
func TrimOWS(s string) string {
	for len(s) > 0 && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	for len(s) > 0 && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	return s
}
