package config

import (
	"strings"

	"github.com/tidwall/gjson"

	"github.com/lanedye/lanedye/internal/httpsyntax"
	"github.com/lanedye/lanedye/internal/propagation"
)

// Propagation defaults and bounds.
const (
	DefaultTTL   = 60
	DefaultSlots = 8192
	DefaultWays  = 4
	// MaxSlots bounds the shared-data footprint one configuration can ask for.
	MaxSlots = 1 << 20
	// MaxWays bounds the mappings per slot; a slot value counts them in a byte.
	MaxWays = 16
)

// parsePropagation compiles the propagation section into the sidecar's
// options.
func (p *parser) parsePropagation() error {
	if !p.propagation.Exists() {
		return nil
	}
	names := []string{"traceparent", "x-request-id"}
	var keysV gjson.Result
	ttl, slots, ways := DefaultTTL, DefaultSlots, DefaultWays
	err := object(p.propagation, "propagation",
		opt("keys", raw(&keysV)),
		opt("ttl", integer(&ttl, 1, 86400)),
		opt("slots", integer(&slots, 1, MaxSlots)),
		opt("ways", integer(&ways, 1, MaxWays)),
		opt("baggage", func(_ gjson.Result, path string) error {
			return errorf(path, "moved to the top-level \"baggage\" (configure the same member on the gateway, which owns it)")
		}),
	)
	if err != nil {
		return err
	}
	if keysV.Exists() {
		if err := stringList(&names)(keysV, "propagation.keys"); err != nil {
			return err
		}
		if len(names) == 0 {
			return errorf("propagation.keys", "must not be empty")
		}
	}
	if p.sc.Keys, err = p.keys(names); err != nil {
		return err
	}
	p.sc.TTL, p.sc.Slots, p.sc.Ways = int64(ttl)*1000, slots, ways
	return nil
}

// keys compiles the correlation id names of propagation.keys.
func (p *parser) keys(names []string) ([]propagation.Key, error) {
	out := make([]propagation.Key, 0, len(names))
	seen := map[string]bool{}
	for i, n := range names {
		path := index("propagation.keys", i)
		k := propagation.Key{Header: n}
		if kind, ok := propagation.KeyKinds[n]; ok {
			k.Kind = kind
		} else if h, ok := strings.CutPrefix(n, "header:"); ok {
			k.Kind, k.Header = propagation.KeyHeader, strings.ToLower(h)
			if !httpsyntax.ValidToken(k.Header) {
				return nil, errorf(path, "%q is not a valid header name", h)
			}
		} else {
			return nil, errorf(path, "unknown key %q: use traceparent, x-request-id, b3, x-b3-traceid, uber-trace-id, sw8 or header:NAME", n)
		}
		if seen[k.Header] {
			return nil, errorf(path, "duplicate key %q", n)
		}
		seen[k.Header] = true
		if k.Header == p.cfg.LaneHeader {
			return nil, errorf(path, "the lane header cannot be a correlation id")
		}
		k.ID = p.cfg.Index.AddHeader(k.Header)
		out = append(out, k)
	}
	return out, nil
}

func baggageMember(dst *string) binder {
	return func(v gjson.Result, path string) error {
		if err := str(dst)(v, path); err != nil {
			return err
		}
		if !httpsyntax.ValidToken(*dst) {
			return errorf(path, "%q is not a valid baggage member name", *dst)
		}
		return nil
	}
}
