package gateway

import (
	"strconv"

	"github.com/lanedye/lanedye/internal/lane"
	"github.com/lanedye/lanedye/internal/request"
	"github.com/lanedye/lanedye/internal/rules"
)

// Explanation is a decision with what led to it, for `lanedye explain`.
type Explanation struct {
	// Decision is Decide's, unchanged: the explanation never decides.
	Decision
	// Header is the lane header the client sent, if HeaderSent; HeaderWhy
	// says why it was not kept (nil when it was).
	Header     string
	HeaderSent bool
	HeaderWhy  []string
	// Cookie is, if CookieSent, the sticky cookie (named CookieName) that
	// decided, or else the first one the request carries.
	CookieName string
	Cookie     string
	CookieSent bool
	// Rules are the rules evaluated in order, up to the deciding one; nil
	// when a trusted header or a sticky cookie decided before them.
	Rules []rules.Trace
}

// Explain decides like Decide (it calls it) and adds why: what became of a
// client's lane header and sticky cookie, and for every rule evaluated
// before the deciding one, the first condition that failed. The request
// path never calls it.
func (g *Gateway) Explain(r *request.Request, now int64, st *State) Explanation {
	o := &g.o
	x := Explanation{Decision: g.Decide(r, now, st)}
	if v, ok := r.Header(o.LaneHeader); ok {
		x.Header, x.HeaderSent = v, true
		if x.Source != lane.SourceHeader {
			x.HeaderWhy = g.headerWhyNot(r, v)
		}
	}
	if o.Sticky != nil {
		x.CookieName = o.Sticky.Name()
		x.Cookie, x.CookieSent = r.Cookie(o.StickyCookie)
		if x.Source == lane.SourceCookie {
			x.Cookie, _, _, _ = g.cookie(r, now, st)
		}
	}
	if x.Source == lane.SourceRule || x.Source == lane.SourceDefault {
		x.Rules = o.Rules.Explain(r)
	}
	return x
}

// headerWhyNot says why the client's lane header v was not kept.
func (g *Gateway) headerWhyNot(r *request.Request, v string) []string {
	o := &g.o
	if _, known := o.Lanes.Lookup(v); !known {
		return []string{strconv.Quote(v) + " is not a configured lane"}
	}
	if o.Trust == nil {
		return []string{"no trust section: a client's lane header is never kept"}
	}
	why := o.Trust.WhyNot(r)
	for i := range why {
		why[i] = "trust.match[" + strconv.Itoa(i) + "]: " + why[i]
	}
	return why
}
