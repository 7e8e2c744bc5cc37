package rules

import (
	"strconv"

	"github.com/lanedye/lanedye/internal/match"
	"github.com/lanedye/lanedye/internal/request"
)

// Trace is one rule's part in a decision, for `lanedye explain`.
type Trace struct {
	ID      ID
	Matched bool
	// Why says, for a rule that did not hold, what failed: its hosts, its
	// lane_from source, or one reason per match block.
	Why []string
}

// Explain walks the rules for r in evaluation order, as Decide does, up to
// and including the first that holds, and says why each one before it did
// not. Every verdict comes from the methods Decide uses (Hosts.Match,
// Source.Get, lane.Set.Lookup, Blocks.Holds); the match package's WhyNot
// methods only name the condition that failed. The request path never calls
// it.
func (e *Engine) Explain(r *request.Request) []Trace {
	var out []Trace
	for i := range e.rules {
		t := Trace{ID: ID(i), Why: e.whyNot(&e.rules[i], r)}
		t.Matched = t.Why == nil
		out = append(out, t)
		if t.Matched {
			break
		}
	}
	return out
}

// whyNot returns nil when rule ru holds for r, else the reasons it does not.
func (e *Engine) whyNot(ru *Rule, r *request.Request) []string {
	if why := ru.Hosts.WhyNot(r.Host(), r.HostIsLower()); why != "" {
		return []string{"hosts: " + why}
	}
	if ru.LaneFrom != nil {
		v, present := ru.LaneFrom.Get(r)
		if !present {
			return []string{"lane_from: " + ru.LaneFrom.Spec() + " is absent"}
		}
		if _, known := e.lanes.Lookup(v); !known {
			return []string{"lane_from: " + ru.LaneFrom.Spec() + " " + match.Quote(v) + " is not a configured lane"}
		}
	}
	why := ru.Match.WhyNot(r)
	if len(why) > 1 {
		for i := range why {
			why[i] = "match[" + strconv.Itoa(i) + "]: " + why[i]
		}
	}
	return why
}
