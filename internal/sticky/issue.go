package sticky

import (
	"strconv"

	"github.com/lanedye/lanedye/internal/lane"
)

// SetCookie returns the Set-Cookie header value for lane l at now (Unix
// seconds), or "" when the lane gets no cookie. A signed value expires at
// now + max_age rounded up to the step, and Max-Age says how long that is
// from now. The value is signed once per lane and step, the header built
// once per lane and second.
func (c *Cookie) SetCookie(l lane.ID, now int64, cache *Cache) string {
	if !c.sticky[l] {
		return ""
	}
	if len(c.keys) == 0 {
		return c.plain[l]
	}
	is := &cache.issued[l]
	exp := (now + c.maxAge + c.step - 1) / c.step * c.step
	if is.exp != exp {
		*is = issued{exp: exp, value: Sign(c.keys[0], c.lanes.Name(l), exp)}
	}
	if is.now != now || is.header == "" {
		is.now = now
		is.header = c.name + "=" + is.value + "; Max-Age=" + strconv.FormatInt(exp-now, 10) + c.attrs
	}
	return is.header
}
