// Package gateway decides a request's lane at the ingress gateway.
//
// Order of decision: a trusted client lane header, then a valid sticky
// cookie, then the rules, then the default lane. Decide only reads the
// request; the plugin applies the decision with host calls.
package gateway

import (
	"github.com/lanedye/lanedye/internal/fallback"
	"github.com/lanedye/lanedye/internal/lane"
	"github.com/lanedye/lanedye/internal/match"
	"github.com/lanedye/lanedye/internal/propagation"
	"github.com/lanedye/lanedye/internal/request"
	"github.com/lanedye/lanedye/internal/rules"
	"github.com/lanedye/lanedye/internal/sticky"
)

// Options are the compiled parts a Gateway decides with.
type Options struct {
	Lanes      *lane.Set
	LaneHeader request.HeaderID
	// Trust holds the blocks that make a client-sent lane header trusted;
	// nil: never trusted.
	Trust        *match.Blocks
	Sticky       *sticky.Cookie // nil: no stickiness
	StickyCookie request.CookieID
	Rules        *rules.Engine
	Fallback     *fallback.Table // nil: no route lane
	// Baggage is the W3C baggage member the gateway owns ("" none): set to
	// the decided lane, removed for the default lane.
	Baggage       string
	BaggageHeader request.HeaderID
}

// Gateway decides lanes. It is immutable, so many requests can share it.
type Gateway struct {
	o Options
	// Which source_ip conditions there are: the downstream address costs a
	// host call, so it is read only when a decision can depend on it.
	rulesSource, trustSource bool
	// baggageAlone is, per lane, the baggage header of a request that sent
	// none: the common case, answered without building a string.
	baggageAlone []string
}

// New returns a Gateway deciding with o.
func New(o Options) *Gateway {
	g := &Gateway{
		o:           o,
		rulesSource: o.Rules != nil && o.Rules.ReadSource(),
		trustSource: o.Trust != nil && o.Trust.ReadSource(),
	}
	if o.Baggage != "" {
		g.baggageAlone = make([]string, o.Lanes.Len())
		for i, name := range o.Lanes.Names() {
			g.baggageAlone[i], _ = propagation.BaggageSet("", o.Baggage, name)
		}
	}
	return g
}

// NeedsSource reports whether deciding r can depend on its downstream
// address (request.SetSource): a rule has a source_ip condition, or r
// carries a lane header naming a configured lane and a trust block has one
// (trust is consulted only for such a header).
func (g *Gateway) NeedsSource(r *request.Request) bool {
	if g.rulesSource {
		return true
	}
	if !g.trustSource {
		return false
	}
	v, ok := r.Header(g.o.LaneHeader)
	if !ok {
		return false
	}
	_, known := g.o.Lanes.Lookup(v) // trust is asked only about a known lane
	return known
}

// Rules returns the rule engine.
func (g *Gateway) Rules() *rules.Engine { return g.o.Rules }

// State is what one plugin context keeps between requests (the sticky
// cookies it verified and issued). Each VM has its own.
type State struct{ cookies *sticky.Cache }

// NewState returns the state a plugin context decides with.
func (g *Gateway) NewState() *State {
	if g.o.Sticky == nil {
		return &State{}
	}
	return &State{cookies: g.o.Sticky.NewCache()}
}

// Decision is the outcome for one request.
type Decision struct {
	Lane   lane.ID
	Source lane.Source
	Rule   rules.ID // rules.None unless Source is lane.SourceRule
	// Route is the fallback route lane, or lane.None without fallback.
	Route lane.ID
	// SetCookie is the Set-Cookie header value to add to the response, or "".
	SetCookie string
	// Spoofed is true when the client sent a lane header that was not kept.
	Spoofed bool
	// Baggage says what becomes of the baggage header: kept as it is, set
	// to BaggageValue (one header), or removed.
	Baggage      BaggageOp
	BaggageValue string
	// BaggageDropped is true when the client's baggage was over
	// propagation.MaxBaggage or malformed and went whole.
	BaggageDropped bool
}

// BaggageOp is what the gateway does to the baggage header.
type BaggageOp uint8

// Baggage operations.
const (
	BaggageKeep BaggageOp = iota
	BaggageSet
	BaggageRemove
)

// Decide computes the lane of a request at now (Unix seconds).
func (g *Gateway) Decide(r *request.Request, now int64, st *State) Decision {
	o := &g.o
	d := Decision{Lane: lane.Default, Rule: rules.None, Route: lane.None}
	decided := false
	if v, ok := r.Header(o.LaneHeader); ok {
		if l, known := o.Lanes.Lookup(v); known && o.Trust != nil && o.Trust.Holds(r) {
			d.Lane, d.Source, decided = l, lane.SourceHeader, true
		} else {
			d.Spoofed = true
		}
	}
	var exp int64 // a valid cookie's expiry
	if !decided && o.Sticky != nil {
		if _, l, e, ok := g.cookie(r, now, st); ok {
			d.Lane, d.Source, exp, decided = l, lane.SourceCookie, e, true
		}
	}
	if !decided {
		if l, id, ok := o.Rules.Decide(r); ok {
			d.Lane, d.Source, d.Rule = l, lane.SourceRule, id
		}
	}
	if o.Sticky != nil && (d.Source != lane.SourceCookie || o.Sticky.Renew(exp, now)) {
		d.SetCookie = o.Sticky.SetCookie(d.Lane, now, st.cookies)
	}
	if o.Fallback != nil {
		d.Route = o.Fallback.Route(r.Host(), d.Lane)
	}
	if o.Baggage != "" {
		d.Baggage, d.BaggageValue, d.BaggageDropped = g.baggage(r, d.Lane)
	}
	return d
}

// MaxStickyValues is how many values of the sticky cookie one request may
// have verified: each can cost an HMAC per key, and the client must not
// choose how many. Browsers send a few (one per Path or Domain).
const MaxStickyValues = 16

// cookie returns the first valid sticky cookie, among the first
// MaxStickyValues, and its lane and expiry:
// stale cookies of an old Path or Domain must not hide a valid one.
func (g *Gateway) cookie(r *request.Request, now int64, st *State) (v string, l lane.ID, exp int64, ok bool) {
	c := g.o.Sticky
	first, present := r.Cookie(g.o.StickyCookie)
	if !present {
		return "", lane.None, 0, false
	}
	if l, exp, ok = c.Verify(first, now, st.cookies); ok {
		return first, l, exp, true
	}
	n := 0
	r.CookieValues(g.o.StickyCookie, func(value string) bool {
		if n++; n == 1 {
			return true // the first value, verified above
		}
		if n > MaxStickyValues {
			return false
		}
		l, exp, ok = c.Verify(value, now, st.cookies)
		v = value
		return !ok
	})
	return v, l, exp, ok
}

// baggage sets the lane member to the decided lane, or removes it for the
// default lane, so a client cannot bring a lane in through baggage. Several
// baggage headers are read as one list and written as one header. A header
// over propagation.MaxBaggage or malformed goes whole (dropped): its lane
// member cannot be vouched for, and sidecars would not read it anyway.
func (g *Gateway) baggage(r *request.Request, l lane.ID) (op BaggageOp, value string, dropped bool) {
	o := &g.o
	old, present := r.Joined(o.BaggageHeader)
	switch {
	case !present && l == lane.Default:
		return BaggageKeep, "", false
	case !present:
		return BaggageSet, g.baggageAlone[l], false
	case l == lane.Default:
		nb, changed, ok := propagation.BaggageDel(old, o.Baggage)
		switch {
		case !ok:
			return BaggageRemove, "", true
		case !changed:
			return BaggageKeep, "", false
		case nb == "":
			return BaggageRemove, "", false
		}
		return BaggageSet, nb, false
	}
	if nb, ok := propagation.BaggageSet(old, o.Baggage, o.Lanes.Name(l)); ok {
		return BaggageSet, nb, false
	}
	return BaggageSet, g.baggageAlone[l], true
}
