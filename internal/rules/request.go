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
	"net/url"
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

// Index gives the header names a configuration reads small integer ids.
// It is filled at configuration time and read-only afterwards.
type Index struct {
	ids   map[string]int
	names []string
	lens  [4]uint64 // bit n set: some indexed name has length n (n < 256)
}

// NewIndex returns an Index holding the pseudo-headers and cookie header.
func NewIndex() *Index {
	x := &Index{ids: make(map[string]int)}
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
	}
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
	path    string            // :path without query string and fragment
	query   string            // raw query string, without '?'
}

// Reset points r at a new header list (names lower-case, as Envoy delivers
// them) and locates every indexed name in one pass.
func (r *Request) Reset(x *Index, headers [][2]string) {
	r.headers = headers
	r.x = x
	r.pos = [maxIndexed]int32{}
	r.dup = 0
	for i := range headers {
		n := headers[i][0]
		if len(n) >= 256 || x.lens[len(n)>>6]&(1<<(len(n)&63)) == 0 {
			continue
		}
		id, ok := x.ids[n]
		if !ok || id >= maxIndexed {
			continue
		}
		if r.pos[id] != 0 {
			r.dup |= 1 << id
			continue
		}
		r.pos[id] = int32(i + 1)
	}
	a, _ := r.Header(IDAuthority)
	r.host = StripPort(a)
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

// Cookie returns the value of the first cookie called name. HTTP/2 clients may
// split cookies over several cookie headers; all of them are searched.
func (r *Request) Cookie(name string) (string, bool) {
	if r.dup&(1<<IDCookie) == 0 {
		c, ok := r.Header(IDCookie)
		if !ok {
			return "", false
		}
		return findCookie(c, name)
	}
	for i := range r.headers {
		if r.headers[i][0] == "cookie" {
			if v, ok := findCookie(r.headers[i][1], name); ok {
				return v, true
			}
		}
	}
	return "", false
}

// findCookie scans "a=b; c=d" for name without allocating.
func findCookie(s, name string) (string, bool) {
	for len(s) > 0 {
		var part string
		if i := strings.IndexByte(s, ';'); i >= 0 {
			part, s = s[:i], s[i+1:]
		} else {
			part, s = s, ""
		}
		part = trimSpace(part)
		eq := strings.IndexByte(part, '=')
		if eq < 0 {
			continue
		}
		if trimSpace(part[:eq]) != name {
			continue
		}
		v := trimSpace(part[eq+1:])
		if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
			v = v[1 : len(v)-1]
		}
		return v, true
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
			if d, err := url.QueryUnescape(v); err == nil {
				v = d
			}
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

func trimSpace(s string) string {
	for len(s) > 0 && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	for len(s) > 0 && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	return s
}
