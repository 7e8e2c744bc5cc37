// Package gateway decides a request's lane at the ingress gateway.
//
// Order of decision: a trusted client lane header, then a valid sticky cookie,
// then the rules, then the default lane. Decide reads a rules.Request and the
// compiled configuration only; the plugin applies the result with host calls.
package gateway

import (
	"github.com/lanedye/lanedye/internal/config"
	"github.com/lanedye/lanedye/internal/lane"
	"github.com/lanedye/lanedye/internal/rules"
)

// Decision is the outcome for one request.
type Decision struct {
	Lane   int
	Source lane.Source
	Rule   int // index into cfg.Rules.Rules(); -1 unless Source is lane.SourceRule
	// Route is the fallback route lane, or lane.None without a fallback section.
	Route int
	// SetCookie is the Set-Cookie header value to add to the response, or "".
	SetCookie string
	// Spoofed is true when the client sent a lane header that was not kept.
	Spoofed bool
}

// Decide computes the lane for a request at the gateway.
func Decide(cfg *config.Config, r *rules.Request) Decision {
	d := Decision{Lane: lane.Default, Rule: -1, Route: lane.None}
	decided := false
	if v, ok := r.Header(cfg.LaneHeaderID); ok {
		if l, known := cfg.Lanes.Lookup(v); known && cfg.Trust != nil && cfg.Trust.Holds(r) {
			d.Lane, d.Source, decided = l, lane.SourceHeader, true
		} else {
			d.Spoofed = true
		}
	}
	if !decided && cfg.Sticky != nil {
		if v, ok := r.Cookie(cfg.StickyCookieID); ok {
			if l, valid := cfg.Sticky.Lane(v); valid {
				d.Lane, d.Source, decided = l, lane.SourceCookie, true
			}
		}
	}
	if !decided {
		if l, i, ok := cfg.Rules.Decide(r); ok {
			d.Lane, d.Source, d.Rule = l, lane.SourceRule, i
		}
	}
	if cfg.Sticky != nil && d.Source != lane.SourceCookie {
		d.SetCookie = cfg.Sticky.SetCookie(d.Lane)
	}
	if cfg.Fallback != nil {
		d.Route = cfg.Fallback.Table.Route(r.Host(), d.Lane)
	}
	return d
}

// DebugHeader is the response header that explains a decision when debug is on.
const DebugHeader = "x-lanedye-decision"

// Explainer holds every debug header value a configuration can produce, so
// that debug mode costs no formatting per request.
type Explainer struct {
	bySource [][lane.NumSources]string // [lane][source]
	byRule   []string                  // rules with a fixed lane; "" for lane_from rules
	rules    []rules.Rule
}

// NewExplainer precomputes the debug header values for cfg.
func NewExplainer(cfg *config.Config) *Explainer {
	e := &Explainer{bySource: make([][lane.NumSources]string, cfg.Lanes.Len()), rules: cfg.Rules.Rules()}
	for l := range e.bySource {
		for s := range e.bySource[l] {
			e.bySource[l][s] = "lane=" + cfg.Lanes.Name(l) + "; source=" + lane.Source(s).String()
		}
	}
	for _, r := range cfg.Rules.Rules() {
		v := ""
		if r.LaneFrom == nil {
			v = "lane=" + cfg.Lanes.Name(r.Lane) + "; source=rule; rule=" + r.Name
		}
		e.byRule = append(e.byRule, v)
	}
	return e
}

// Lane returns the explanation of a lane from a source other than a rule.
func (e *Explainer) Lane(l int, s lane.Source) string { return e.bySource[l][s] }

// Explain returns "lane=gray; source=rule; rule=internal-test" for d.
func (e *Explainer) Explain(d *Decision) string {
	if d.Source != lane.SourceRule || d.Rule < 0 {
		return e.bySource[d.Lane][d.Source]
	}
	if v := e.byRule[d.Rule]; v != "" {
		return v
	}
	// lane_from rules: the lane varies per request.
	return e.bySource[d.Lane][lane.SourceRule] + "; rule=" + e.rules[d.Rule].Name
}
