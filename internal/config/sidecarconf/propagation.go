package sidecarconf

import (
	"strings"

	"github.com/lanedye/lanedye/internal/config"
	"github.com/lanedye/lanedye/internal/config/bind"
	"github.com/lanedye/lanedye/internal/gjson"
	"github.com/lanedye/lanedye/internal/httpsyntax"
	"github.com/lanedye/lanedye/internal/propagation"
	"github.com/lanedye/lanedye/internal/sidecar"
)

// Propagation defaults and bounds.
const (
	DefaultTTL   = 60
	DefaultSlots = 8192
	DefaultWays  = 4
	// MaxSlots bounds the shared-data footprint one configuration can ask for.
	MaxSlots = 1 << 20
	// MaxWays bounds the mappings per slot; a slot value counts them in a byte.
	MaxWays = propagation.MaxWays
)

// parsePropagation compiles the propagation section (absent: the
// defaults) into the sidecar's options.
func parsePropagation(c *config.Config, v gjson.Result, o *sidecar.Options) error {
	names := []string{"traceparent", "x-request-id"}
	var keysV gjson.Result
	ttl, slots, ways := DefaultTTL, DefaultSlots, DefaultWays
	if v.Exists() {
		err := bind.Object(v, "propagation",
			bind.Opt("keys", bind.Raw(&keysV)),
			bind.Opt("ttl", bind.Int(&ttl, 1, 86400)),
			bind.Opt("slots", bind.Int(&slots, 1, MaxSlots)),
			bind.Opt("ways", bind.Int(&ways, 1, MaxWays)),
			bind.Opt("baggage", func(_ gjson.Result, path string) error {
				return bind.Err(path, `moved to the top-level "baggage" (configure the same member on the gateway, which owns it)`)
			}),
		)
		if err != nil {
			return err
		}
	}
	if keysV.Exists() {
		if err := bind.StringList(&names)(keysV, "propagation.keys"); err != nil {
			return err
		}
		if len(names) == 0 {
			return bind.Err("propagation.keys", "must not be empty")
		}
		if len(names) > propagation.MaxKeys {
			// The sidecar reads a request's ids into a fixed array.
			return bind.Err("propagation.keys", "at most "+bind.Itoa(propagation.MaxKeys)+" keys")
		}
	}
	var err error
	if o.Keys, err = keys(c, names); err != nil {
		return err
	}
	o.TTL, o.Slots, o.Ways = int64(ttl)*1000, slots, ways
	return nil
}

// keys compiles the correlation id names of propagation.keys.
func keys(c *config.Config, names []string) ([]propagation.Key, error) {
	out := make([]propagation.Key, 0, len(names))
	seen := map[string]bool{}
	for i, n := range names {
		path := bind.Index("propagation.keys", i)
		k := propagation.Key{Header: n}
		if kind, ok := propagation.KeyKinds[n]; ok {
			k.Kind = kind
		} else if h, ok := strings.CutPrefix(n, "header:"); ok {
			k.Kind, k.Header = propagation.KeyHeader, httpsyntax.ToLower(h)
			if !httpsyntax.ValidToken(k.Header) {
				return nil, bind.Err(path, bind.Q(h)+" is not a valid header name")
			}
		} else {
			return nil, bind.Err(path, "unknown key "+bind.Q(n)+": use traceparent, x-request-id, b3, x-b3-traceid, uber-trace-id, sw8 or header:NAME")
		}
		if seen[k.Header] {
			return nil, bind.Err(path, "duplicate key "+bind.Q(n))
		}
		seen[k.Header] = true
		if k.Header == c.LaneHeader {
			return nil, bind.Err(path, "the lane header cannot be a correlation id")
		}
		if k.Header == c.RouteHeader {
			return nil, bind.Err(path, "the route header cannot be a correlation id")
		}
		k.ID = c.Index.AddHeader(k.Header)
		out = append(out, k)
	}
	return out, nil
}
