// Package sticky issues and verifies the cookie that keeps a user in a lane.
//
// With keys, a value is "<lane>.<exp>.<sig>": exp is its expiry in Unix
// seconds and sig the unpadded base64url HMAC-SHA256 of "<lane>.<exp>" under
// the first key; any key verifies (rotation). Expiry is rounded up, so every
// value issued for a lane within one rounding step is the same string: a
// plugin context verifies it once and remembers it (Cache), so a valid
// cookie costs neither an HMAC nor an allocation per request. Without keys
// the value is the bare lane name, which no server can expire.
package sticky

import (
	"strconv"
	"strings"

	"github.com/lanedye/lanedye/internal/lane"
)

// Options are the sticky settings of the configuration.
type Options struct {
	Cookie   string
	MaxAge   int // seconds
	Path     string
	Domain   string
	Secure   bool
	HTTPOnly bool
	SameSite string    // "Strict", "Lax", "None" or "" (attribute omitted)
	Keys     [][]byte  // HMAC keys, the first signs; none: unsigned
	Lanes    []lane.ID // lanes that get a cookie
}

// MinKey is the minimum key length in bytes.
const MinKey = 16

// Slack is how far in the future a valid expiry may lie beyond max_age: the
// most issuing rounds it up.
const Slack = 3600

// Cookie is a compiled sticky cookie. It is immutable; what a plugin context
// learns while serving (verified and issued values) lives in a Cache.
type Cookie struct {
	name   string
	maxAge int64
	step   int64 // expiry is rounded up to a multiple of step
	keys   [][]byte
	lanes  *lane.Set
	sticky []bool   // per lane: gets a cookie
	attrs  string   // "; Path=/; Secure; HttpOnly; SameSite=Lax"
	plain  []string // unsigned: per lane, the whole Set-Cookie value
}

// New compiles the sticky options for the given lanes.
func New(o Options, lanes *lane.Set) *Cookie {
	c := &Cookie{
		name:   o.Cookie,
		maxAge: int64(o.MaxAge),
		step:   min(Slack, max(1, int64(o.MaxAge)/8)),
		keys:   o.Keys,
		lanes:  lanes,
		sticky: make([]bool, lanes.Len()),
		attrs:  attributes(o),
	}
	for _, l := range o.Lanes {
		c.sticky[l] = true
	}
	if len(c.keys) == 0 {
		c.plain = make([]string, lanes.Len())
		for _, l := range o.Lanes {
			c.plain[l] = c.name + "=" + lanes.Name(l) + "; Max-Age=" + strconv.Itoa(o.MaxAge) + c.attrs
		}
	}
	return c
}

// Name returns the cookie name.
func (c *Cookie) Name() string { return c.name }

// Sticky reports whether lane l gets a cookie.
func (c *Cookie) Sticky(l lane.ID) bool { return c.sticky[l] }

// Signed reports whether values carry an expiry and a signature.
func (c *Cookie) Signed() bool { return len(c.keys) > 0 }

func attributes(o Options) string {
	var b strings.Builder
	if o.Path != "" {
		b.WriteString("; Path=" + o.Path)
	}
	if o.Domain != "" {
		b.WriteString("; Domain=" + o.Domain)
	}
	if o.Secure {
		b.WriteString("; Secure")
	}
	if o.HTTPOnly {
		b.WriteString("; HttpOnly")
	}
	if o.SameSite != "" {
		b.WriteString("; SameSite=" + o.SameSite)
	}
	return b.String()
}
