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
}

// Gateway decides lanes. It is immutable, so many requests can share it.
type Gateway struct{ o Options }

// New returns a Gateway deciding with o.
func New(o Options) *Gateway { return &Gateway{o: o} }

// Rules returns the rule engine.
func (g *Gateway) Rules() *rules.Engine { return g.o.Rules }

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
}

// Decide computes the lane of a request.
func (g *Gateway) Decide(r *request.Request) Decision {
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
	if !decided && o.Sticky != nil {
		if v, ok := r.Cookie(o.StickyCookie); ok {
			if l, valid := o.Sticky.Lane(v); valid {
				d.Lane, d.Source, decided = l, lane.SourceCookie, true
			}
		}
	}
	if !decided {
		if l, id, ok := o.Rules.Decide(r); ok {
			d.Lane, d.Source, d.Rule = l, lane.SourceRule, id
		}
	}
	if o.Sticky != nil && d.Source != lane.SourceCookie {
		d.SetCookie = o.Sticky.SetCookie(d.Lane)
	}
	if o.Fallback != nil {
		d.Route = o.Fallback.Route(r.Host(), d.Lane)
	}
	return d
}
