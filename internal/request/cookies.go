package request

import (
	"strings"

	"github.com/lanedye/lanedye/internal/httpsyntax"
)

// Cookie returns the value of the first cookie with id (see Index.AddCookie).
func (r *Request) Cookie(id CookieID) (string, bool) {
	if id >= maxCookies {
		return r.scanCookies(r.x.cnames[id], nil)
	}
	if !r.cookieDone {
		r.cookieDone = true
		if r.pos[Cookie] != 0 {
			r.scanCookies("", r.x.cookies)
		}
	}
	if r.cookieSet&(1<<id) == 0 {
		return "", false
	}
	return r.cookieVals[id], true
}

// CookieValues calls f with every value of cookie id, in order, until f
// returns false: a name can occur several times (stale cookies of an old
// Path or Domain, HTTP/2 split cookie headers).
func (r *Request) CookieValues(id CookieID, f func(string) bool) {
	name := r.x.cnames[id]
	for i := range r.headers {
		if i+1 < int(r.pos[Cookie]) || r.headers[i][0] != "cookie" {
			continue
		}
		for s := r.headers[i][1]; s != ""; {
			var k, v string
			var ok bool
			k, v, s, ok = nextCookie(s)
			if ok && k == name && !f(v) {
				return
			}
		}
	}
}

// scanCookies walks every cookie header once. With ids it records the first
// value of every indexed name; otherwise it returns the first value of name.
// One loop, no callback: calls are dear in Go's wasm code, and this runs on
// every request that has cookies.
func (r *Request) scanCookies(name string, ids map[string]CookieID) (string, bool) {
	for i := range r.headers {
		if i+1 < int(r.pos[Cookie]) || r.headers[i][0] != "cookie" {
			continue
		}
		for s := r.headers[i][1]; s != ""; {
			var k, v string
			var ok bool
			if k, v, s, ok = nextCookie(s); !ok {
				continue
			}
			if ids == nil {
				if k == name {
					return v, true
				}
				continue
			}
			if id, known := ids[k]; known && id < maxCookies && r.cookieSet&(1<<id) == 0 {
				r.cookieSet |= 1 << id
				r.cookieVals[id] = v
			}
		}
		if r.dup&(1<<Cookie) == 0 {
			break
		}
	}
	return "", false
}

// nextCookie splits the first name=value pair off a cookie header value;
// ok is false for a part without '='.
func nextCookie(s string) (k, v, rest string, ok bool) {
	part := s
	if j := strings.IndexByte(s, ';'); j >= 0 {
		part, rest = s[:j], s[j+1:]
	}
	eq := strings.IndexByte(part, '=')
	if eq < 0 {
		return "", "", rest, false
	}
	k, v = httpsyntax.TrimOWS(part[:eq]), httpsyntax.TrimOWS(part[eq+1:])
	if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
		v = v[1 : len(v)-1]
	}
	return k, v, rest, true
}
