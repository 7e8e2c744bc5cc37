package sticky

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"hash"
	"strings"

	"github.com/lanedye/lanedye/internal/fnv"
	"github.com/lanedye/lanedye/internal/lane"
)

// cacheSize is how many verified values a Cache remembers. Values issued
// within one rounding step are identical, so a handful per lane and key
// generation is all a busy gateway sees.
const cacheSize = 64

// Cache is what one plugin context remembers between requests: values it
// verified, and the value and Set-Cookie header it issued last per lane. A
// VM runs one request at a time, so it needs no lock; every plugin context
// (configuration and worker) has its own.
type Cache struct {
	verified [cacheSize]string // direct-mapped by hash; "" empty
	issued   []issued          // per lane
	// What checking a signature needs, kept so that a forged cookie costs
	// an HMAC but no allocation.
	macs    []hash.Hash // per key
	payload []byte
	sum     [sha256.Size]byte
	encoded [43]byte // base64url of a SHA-256 sum, unpadded
}

type issued struct {
	exp, now int64
	value    string // "<lane>.<exp>.<sig>" for exp
	header   string // the Set-Cookie value for exp at now
}

// NewCache returns an empty cache for c.
func (c *Cookie) NewCache() *Cache { return &Cache{issued: make([]issued, c.lanes.Len())} }

// Verify returns the lane of a request cookie value if it counts: the lane
// is configured and sticky, and, when signed, now < exp <= now + max_age +
// Slack and the signature is one a configured key makes. It also reports
// the value's expiry (0 when unsigned).
func (c *Cookie) Verify(v string, now int64, cache *Cache) (l lane.ID, exp int64, ok bool) {
	if len(c.keys) == 0 {
		l, ok = c.lanes.Lookup(v)
		if !ok || !c.sticky[l] {
			return lane.None, 0, false
		}
		return l, 0, true
	}
	name, exp, payload, sig, ok := parts(v)
	if !ok || exp <= now || exp > now+c.maxAge+Slack {
		return lane.None, 0, false
	}
	l, ok = c.lanes.Lookup(name)
	if !ok || !c.sticky[l] {
		return lane.None, 0, false
	}
	slot := &cache.verified[fnv.New.String(v)%cacheSize]
	if constantTimeEqual(*slot, v) {
		return l, exp, true
	}
	if len(sig) != len(cache.encoded) {
		return lane.None, 0, false
	}
	for i := range c.keys {
		if cache.signedBy(c.keys, i, payload, sig) {
			*slot = strings.Clone(v) // the request's header goes away
			return l, exp, true
		}
	}
	return lane.None, 0, false
}

// signedBy reports whether sig is the signature of payload under key i.
func (cache *Cache) signedBy(keys [][]byte, i int, payload, sig string) bool {
	if cache.macs == nil {
		cache.macs = make([]hash.Hash, len(keys))
	}
	if cache.macs[i] == nil {
		cache.macs[i] = hmac.New(sha256.New, keys[i])
	}
	m := cache.macs[i]
	m.Reset()
	cache.payload = append(cache.payload[:0], payload...)
	m.Write(cache.payload)
	base64.RawURLEncoding.Encode(cache.encoded[:], m.Sum(cache.sum[:0]))
	return subtle.ConstantTimeCompare(cache.encoded[:], bytesOf(sig)) == 1
}

// Renew reports whether a valid cookie expiring at exp should be issued
// again at now: with less than half of max_age left (sliding stickiness),
// 2*(exp-now) < max_age, exact for an odd max_age.
func (c *Cookie) Renew(exp, now int64) bool {
	return len(c.keys) > 0 && 2*(exp-now) < c.maxAge
}
