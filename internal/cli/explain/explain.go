package explain

import (
	"errors"
	"strconv"

	"github.com/lanedye/lanedye/internal/config"
	"github.com/lanedye/lanedye/internal/config/gatewayconf"
	"github.com/lanedye/lanedye/internal/config/sidecarconf"
	"github.com/lanedye/lanedye/internal/gateway"
	"github.com/lanedye/lanedye/internal/lane"
	"github.com/lanedye/lanedye/internal/propagation"
	"github.com/lanedye/lanedye/internal/request"
	"github.com/lanedye/lanedye/internal/rules"
	"github.com/lanedye/lanedye/internal/sidecar"
)

// Result is the decision for one request and what led to it. The first
// five fields are the `--json` contract (docs/contract.md, The lanedye command); null where there is none.
type Result struct {
	Lane      string  `json:"lane"`
	Source    string  `json:"source"`
	Rule      *string `json:"rule"`
	Route     *string `json:"route"`
	SetCookie *string `json:"set_cookie"`

	Config    string `json:"config"`
	Role      string `json:"role"`
	Direction string `json:"direction,omitempty"`
	// Baggage is the baggage header as lanedye leaves it, when it changes
	// it; BaggageOp is "set" or "remove".
	BaggageOp  string      `json:"baggage_op,omitempty"`
	Baggage    *string     `json:"baggage,omitempty"`
	LaneHeader *HeaderNote `json:"lane_header,omitempty"`
	Cookie     *CookieNote `json:"cookie,omitempty"`
	// Rules are the rules evaluated, in order, up to the deciding one.
	Rules []RuleNote `json:"rules,omitempty"`
	// RulesSkipped says why no rule was evaluated, when none was.
	RulesSkipped string   `json:"rules_skipped,omitempty"`
	Notes        []string `json:"notes,omitempty"`
}

// HeaderNote is what became of the lane header the client sent.
type HeaderNote struct {
	Name  string   `json:"name"`
	Value string   `json:"value"`
	Kept  bool     `json:"kept"`
	Why   []string `json:"why,omitempty"`
}

// CookieNote is what became of the sticky cookie the client sent.
type CookieNote struct {
	Name  string `json:"name"`
	Value string `json:"value"`
	Valid bool   `json:"valid"`
	Why   string `json:"why,omitempty"`
}

// RuleNote is one evaluated rule.
type RuleNote struct {
	Name     string   `json:"name"`
	Priority int      `json:"priority"`
	Lane     string   `json:"lane"` // "" for lane_from rules
	Matched  bool     `json:"matched"`
	Why      []string `json:"why,omitempty"`
}

// Explain decides q with cfg, whose source names it.
func Explain(cfg *config.Config, source string, q *Request) (*Result, error) {
	addr, err := q.Source()
	if err != nil {
		return nil, err
	}
	var r request.Request
	r.Reset(cfg.Index, q.List())
	if addr.IsValid() {
		r.SetSource(addr.As16())
	}
	res := &Result{Config: source, Role: cfg.Role.String()}
	if cfg.Role == config.Gateway {
		if q.Direction != "" {
			return nil, errors.New("--direction is for sidecar configurations; " + source + " is a gateway's")
		}
		gatewayResult(res, cfg, &r, q)
		return res, nil
	}
	if err := sidecarResult(res, cfg, &r, q); err != nil {
		return nil, err
	}
	return res, nil
}

func gatewayResult(res *Result, cfg *config.Config, r *request.Request, q *Request) {
	x := gatewayconf.Of(cfg).Gateway.Explain(r, q.Now.Unix(), gatewayconf.Of(cfg).Gateway.NewState())
	names := cfg.Lanes.Names()
	res.Lane, res.Source = names[x.Lane.OrDefault()], x.Source.String()
	rs := gatewayconf.Of(cfg).Rules.Rules()
	if x.Rule != rules.None {
		res.Rule = &rs[x.Rule].Name
	}
	if x.Route != lane.None {
		res.Route = &names[x.Route]
	}
	if x.SetCookie != "" {
		res.SetCookie = &x.SetCookie
	}
	switch x.Baggage {
	case gateway.BaggageSet:
		res.BaggageOp, res.Baggage = "set", &x.BaggageValue
	case gateway.BaggageRemove:
		res.BaggageOp = "remove"
	}
	if x.HeaderSent {
		res.LaneHeader = &HeaderNote{Name: cfg.LaneHeader, Value: x.Header, Kept: x.Source == lane.SourceHeader, Why: x.HeaderWhy}
	}
	if x.CookieSent {
		res.Cookie = cookieNote(&x)
	}
	for _, t := range x.Rules {
		ru := &rs[t.ID]
		n := RuleNote{Name: ru.Name, Priority: ru.Priority, Matched: t.Matched, Why: t.Why}
		if ru.LaneFrom == nil {
			n.Lane = names[ru.Lane]
		}
		res.Rules = append(res.Rules, n)
	}
	switch x.Source {
	case lane.SourceHeader:
		res.RulesSkipped = "the trusted lane header decided"
	case lane.SourceCookie:
		res.RulesSkipped = "the sticky cookie decided"
	}
	if r.Count(cfg.RouteHeaderID) > 0 {
		note := "the client's " + cfg.RouteHeader + " header is removed"
		if cfg.HasFallback() {
			note += " and recomputed"
		}
		res.Notes = append(res.Notes, note)
	}
}

func cookieNote(x *gateway.Explanation) *CookieNote {
	n := &CookieNote{Name: x.CookieName, Value: x.Cookie, Valid: x.Source == lane.SourceCookie}
	switch {
	case x.Source == lane.SourceHeader:
		n.Why = "not looked at: the trusted lane header decided first"
	case n.Valid && x.SetCookie != "":
		n.Why = "renewed: less than half of max_age was left"
	case !n.Valid:
		n.Why = "ignored: no value of it is valid (unsigned, forged, expired, signed with another key, or its lane is not sticky)"
	}
	return n
}

// memStore is shared data for one explanation, by slot.
type memStore map[int][]byte

func (m memStore) Get(slot int) ([]byte, uint32, error) {
	v, ok := m[slot]
	if !ok {
		return nil, 0, propagation.ErrNotFound
	}
	return v, 1, nil
}

func (m memStore) Set(slot int, v []byte, _ uint32) error {
	m[slot] = append([]byte(nil), v...)
	return nil
}

func (m memStore) Scratch() []byte { return nil }

func sidecarResult(res *Result, cfg *config.Config, r *request.Request, q *Request) error {
	now := q.Now.UnixMilli()
	st := memStore{}
	sc, err := workload(cfg, q)
	if err != nil {
		return err
	}
	var out sidecar.Result
	switch {
	case cfg.Role == config.Waypoint:
		if q.Direction != "" {
			return errors.New("--direction is for sidecar configurations; " + res.Config + " is a waypoint's")
		}
		if q.InboundLane != "" {
			if err := storeInbound(cfg, q, st, now); err != nil {
				return err
			}
		}
		out = sc.Waypoint(r, st, now)
		if out.Stored > 0 {
			res.Notes = append(res.Notes, "stores the lane under "+strconv.Itoa(out.Stored)+" correlation id(s)")
		}
	case q.Direction == "inbound":
		out = sc.Inbound(r, st, now)
		res.Notes = append(res.Notes, "stores the lane under "+strconv.Itoa(out.Stored)+" correlation id(s)")
	case q.Direction == "outbound":
		if q.InboundLane != "" {
			if err := storeInbound(cfg, q, st, now); err != nil {
				return err
			}
		}
		out = sc.Outbound(r, st, now)
	default:
		return errors.New(res.Config + " is a sidecar's configuration: --direction inbound or outbound is required")
	}
	res.Direction = q.Direction
	names := cfg.Lanes.Names()
	res.Lane, res.Source = names[out.Lane.OrDefault()], out.Source.String()
	if out.Route != lane.None {
		res.Route = &names[out.Route]
	}
	if len(out.Baggage) > 0 {
		b := string(out.Baggage)
		res.BaggageOp, res.Baggage = "set", &b
	}
	res.Notes = append(res.Notes, sidecarNotes(&out, q)...)
	return nil
}

// workload is the configuration's sidecar with the workload lane of
// --workload-lane (a sidecar reads it from its node metadata).
func workload(cfg *config.Config, q *Request) (*sidecar.Sidecar, error) {
	sc := sidecarconf.Of(cfg).Sidecar
	if q.WorkloadLane == "" {
		return sc, nil
	}
	if cfg.Role != config.Sidecar || q.Direction != "outbound" {
		return nil, errors.New("--workload-lane is for a sidecar's outbound calls")
	}
	l, ok := cfg.Lanes.Lookup(q.WorkloadLane)
	switch {
	case !ok:
		return nil, errors.New("--workload-lane " + q.WorkloadLane + ": not a configured lane")
	case l == lane.Default:
		return sc, nil // the default lane is no workload lane
	}
	return sc.WithWorkloadLane(l), nil
}

// storeInbound stores what an inbound request with q's ids in lane
// q.InboundLane would have stored.
func storeInbound(cfg *config.Config, q *Request, st memStore, now int64) error {
	if _, ok := cfg.Lanes.Lookup(q.InboundLane); !ok {
		return errors.New("--inbound-lane " + q.InboundLane + ": not a configured lane")
	}
	in := *q
	in.Headers = append([][2]string{{cfg.LaneHeader, q.InboundLane}}, q.Headers...)
	var r request.Request
	r.Reset(cfg.Index, in.List())
	sidecarconf.Of(cfg).Sidecar.Inbound(&r, st, now)
	return nil
}

func sidecarNotes(out *sidecar.Result, q *Request) []string {
	var n []string
	switch {
	case out.Hit:
		n = append(n, "restored from the mapping of the request's correlation id")
	case out.NoID:
		n = append(n, "no correlation id on the request: nothing to store or look up")
	case out.Miss && q.InboundLane == "":
		n = append(n, "no mapping for the correlation id (explain has no shared data: --inbound-lane says what an inbound request stored)")
	case out.Miss:
		n = append(n, "no mapping for the correlation id")
	}
	if out.Source == lane.SourceWorkload {
		n = append(n, "the workload's own lane (--workload-lane): the call carried none")
	}
	if out.SetLane {
		n = append(n, "sets the lane header")
	}
	if out.StripRoute {
		n = append(n, "removes the route header the application forwarded")
	}
	return n
}
