// Package sticky issues and verifies the lane cookie that keeps a user in a lane.
//
// A signed cookie value is "<lane>.<base64url(HMAC-SHA256(secret, lane))>".
// Because the signature depends only on the lane and the secret, every valid
// value and every Set-Cookie header is computed once at configuration time;
// checking a request's cookie is a lookup and a constant-time compare, with no
// hashing or allocation per request.
package sticky

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"strconv"
	"strings"

	"github.com/lanedye/lanedye/internal/lane"
)

// Options are the sticky settings of the configuration.
type Options struct {
	Cookie   string
	MaxAge   int
	Path     string
	Domain   string
	Secure   bool
	HTTPOnly bool
	SameSite string    // "Strict", "Lax", "None" or "" (attribute omitted)
	Secret   []byte    // nil: unsigned
	Lanes    []lane.ID // lanes that get a cookie
}

// MinSecret is the minimum secret length in bytes.
const MinSecret = 16

// Cookie is a compiled sticky cookie.
type Cookie struct {
	name   string
	signed bool
	lanes  *lane.Set
	value  []string // per lane: the only valid cookie value; "" when not sticky
	setHdr []string // per lane: the Set-Cookie header value; "" when not sticky
}

// New compiles the sticky options for the given lanes.
func New(o Options, lanes *lane.Set) *Cookie {
	c := &Cookie{
		name:   o.Cookie,
		signed: o.Secret != nil,
		lanes:  lanes,
		value:  make([]string, lanes.Len()),
		setHdr: make([]string, lanes.Len()),
	}
	for _, l := range o.Lanes {
		v := lanes.Name(l)
		if c.signed {
			v = Sign(o.Secret, v)
		}
		c.value[l] = v
		c.setHdr[l] = setCookie(o, v)
	}
	return c
}

// Name returns the cookie name.
func (c *Cookie) Name() string { return c.name }

// Lane returns the lane a request cookie value stands for, if it is valid: the
// lane is still configured, still sticky, and (when signed) the signature is
// the one this secret makes.
func (c *Cookie) Lane(v string) (lane.ID, bool) {
	name := v
	if c.signed {
		i := strings.LastIndexByte(v, '.')
		if i < 0 {
			return lane.None, false
		}
		name = v[:i]
	}
	l, ok := c.lanes.Lookup(name)
	if !ok || c.value[l] == "" {
		return lane.None, false
	}
	if !constantTimeEqual(v, c.value[l]) {
		return lane.None, false
	}
	return l, true
}

// constantTimeEqual compares without an early exit so that a forger learns
// nothing from timing; unlike subtle.ConstantTimeCompare it needs no []byte
// conversion (which would allocate for values over 32 bytes).
func constantTimeEqual(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	var d byte
	for i := 0; i < len(a); i++ {
		d |= a[i] ^ b[i]
	}
	return d == 0
}

// SetCookie returns the Set-Cookie header value for a lane, or "" when the
// lane does not get a cookie.
func (c *Cookie) SetCookie(l lane.ID) string { return c.setHdr[l] }

// Sign returns the signed cookie value for a lane.
func Sign(secret []byte, laneName string) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(laneName))
	return laneName + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func setCookie(o Options, v string) string {
	var b strings.Builder
	b.WriteString(o.Cookie)
	b.WriteByte('=')
	b.WriteString(v)
	b.WriteString("; Max-Age=")
	b.WriteString(strconv.Itoa(o.MaxAge))
	if o.Path != "" {
		b.WriteString("; Path=")
		b.WriteString(o.Path)
	}
	if o.Domain != "" {
		b.WriteString("; Domain=")
		b.WriteString(o.Domain)
	}
	if o.Secure {
		b.WriteString("; Secure")
	}
	if o.HTTPOnly {
		b.WriteString("; HttpOnly")
	}
	if o.SameSite != "" {
		b.WriteString("; SameSite=")
		b.WriteString(o.SameSite)
	}
	return b.String()
}
