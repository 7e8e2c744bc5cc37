package gateway

import (
	"github.com/lanedye/lanedye/internal/lane"
	"github.com/lanedye/lanedye/internal/rules"
)

// Explainer holds every debug header value a configuration can produce, so
// that debug mode costs no formatting per request.
type Explainer struct {
	lanes  *lane.Debug
	byRule []string // rules with a fixed lane; "" for lane_from rules
	rules  []rules.Rule
}

// NewExplainer precomputes the debug header values for lanes and rules
// (nil: no rules, as on a sidecar).
func NewExplainer(lanes *lane.Set, e *rules.Engine) *Explainer {
	x := &Explainer{lanes: lane.NewDebug(lanes)}
	if e == nil {
		return x
	}
	x.rules = e.Rules()
	for _, r := range x.rules {
		v := ""
		if r.LaneFrom == nil {
			v = "lane=" + lanes.Name(r.Lane) + "; source=rule; rule=" + r.Name
		}
		x.byRule = append(x.byRule, v)
	}
	return x
}

// Lane returns the explanation of a lane from a source other than a rule;
// lane.None explains as the default lane.
func (x *Explainer) Lane(l lane.ID, s lane.Source) string { return x.lanes.Value(l, s) }

// Explain returns "lane=gray; source=rule; rule=internal-test" for d.
func (x *Explainer) Explain(d *Decision) string {
	if d.Source != lane.SourceRule || d.Rule == rules.None {
		return x.Lane(d.Lane, d.Source)
	}
	if v := x.byRule[d.Rule]; v != "" {
		return v
	}
	// lane_from rules: the lane varies per request.
	return x.lanes.Value(d.Lane, lane.SourceRule) + "; rule=" + x.rules[d.Rule].Name
}
