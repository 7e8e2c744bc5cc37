package gatewayconf

import (
	"github.com/lanedye/lanedye/internal/config/bind"
	"github.com/lanedye/lanedye/internal/gjson"
	"github.com/lanedye/lanedye/internal/httpsyntax"
	"github.com/lanedye/lanedye/internal/lane"
	"github.com/lanedye/lanedye/internal/match"
	"github.com/lanedye/lanedye/internal/rules"
)

// parseRules compiles the rules section (an empty engine when absent).
func (p *parser) parseRules() (*rules.Engine, error) {
	var rs []rules.Rule
	p.inRule = true
	defer func() { p.inRule = false }()
	if p.rules.Exists() {
		items, err := bind.Array(p.rules, "rules")
		if err != nil {
			return nil, err
		}
		names := map[string]bool{}
		for i, it := range items {
			r, err := p.rule(it, bind.Index("rules", i), names)
			if err != nil {
				return nil, err
			}
			rs = append(rs, r)
		}
	}
	return rules.NewEngine(rs, p.c.Lanes), nil
}

func (p *parser) rule(v gjson.Result, path string, names map[string]bool) (rules.Rule, error) {
	var r rules.Rule
	var laneV, fromV, prioV, hostsV, matchV gjson.Result
	err := bind.Object(v, path,
		bind.Req("name", "", p.ruleName(&r.Name, names)),
		bind.Opt("lane", bind.Raw(&laneV)),
		bind.Opt("lane_from", bind.Raw(&fromV)),
		bind.Opt("priority", bind.Raw(&prioV)),
		bind.Opt("hosts", bind.Raw(&hostsV)),
		bind.Opt("match", bind.Raw(&matchV)),
	)
	if err != nil {
		return r, err
	}
	switch {
	case laneV.Exists() && fromV.Exists():
		return r, bind.Err(bind.Join(path, "lane_from"), "set either lane or lane_from, not both")
	case laneV.Exists():
		err = p.c.LaneRef(&r.Lane)(laneV, bind.Join(path, "lane"))
	case fromV.Exists():
		if r.LaneFrom, err = p.source(fromV, bind.Join(path, "lane_from")); err == nil {
			err = p.readable(*r.LaneFrom, bind.Join(path, "lane_from"))
		}
	default:
		err = bind.Err(bind.Join(path, "lane"), "required: set lane or lane_from")
	}
	if err != nil {
		return r, err
	}
	if prioV.Exists() {
		if err := bind.Int(&r.Priority, -1_000_000, 1_000_000)(prioV, bind.Join(path, "priority")); err != nil {
			return r, err
		}
	}
	if r.Hosts, err = hosts(hostsV, bind.Join(path, "hosts")); err != nil {
		return r, err
	}
	if matchV.Exists() {
		r.Match, err = p.blocks(matchV, bind.Join(path, "match"), r.Name)
	}
	return r, err
}

func (p *parser) ruleName(dst *string, seen map[string]bool) bind.Binder {
	return func(v gjson.Result, path string) error {
		if err := bind.Str(dst)(v, path); err != nil {
			return err
		}
		if !lane.ValidName(*dst) {
			return bind.Err(path, bind.Q(*dst)+" is not a valid rule name ("+lane.NameSyntax+"; it names a stat)")
		}
		// They name counters, which dashboards may not tell apart by case.
		folded := httpsyntax.ToLower(*dst)
		if seen[folded] {
			return bind.Err(path, "duplicate rule name "+bind.Q(*dst)+" (rule names are unique ignoring case)")
		}
		seen[folded] = true
		return nil
	}
}

// source compiles a "header:NAME", "cookie:NAME" or "query:NAME" string.
func (p *parser) source(v gjson.Result, path string) (*match.Source, error) {
	var s string
	if err := bind.Str(&s)(v, path); err != nil {
		return nil, err
	}
	src, err := match.ParseSource(s, p.c.Index)
	if err != nil {
		return nil, bind.Err(path, err.Error())
	}
	return &src, nil
}

// readable refuses, inside rules, a source naming the lane or the route
// header: both are removed from client requests before rules run, so such a
// rule could only be fooled by a client or never match.
func (p *parser) readable(src match.Source, path string) error {
	if !p.inRule || src.Kind != match.FromHeader {
		return nil
	}
	for _, h := range []struct{ name, key string }{{p.c.LaneHeader, "lane_header"}, {p.c.RouteHeader, "route header"}} {
		if src.Name == h.name {
			return bind.Err(path, "reads "+h.name+", the "+h.key+": lanedye removes it from client requests before rules run; use trust to let clients choose their lane")
		}
	}
	return nil
}

// hosts compiles a rule's hosts (absent: every host).
func hosts(v gjson.Result, path string) (match.Hosts, error) {
	if !v.Exists() {
		return match.NewHosts(nil)
	}
	var pats []string
	if err := bind.StringList(&pats)(v, path); err != nil {
		return match.Hosts{}, err
	}
	if len(pats) == 0 {
		return match.Hosts{}, bind.Err(path, "must not be empty (omit hosts to match every host)")
	}
	for i := range pats {
		if _, err := match.NewHosts(pats[i : i+1]); err != nil {
			return match.Hosts{}, bind.Err(bind.Index(path, i), err.Error())
		}
	}
	return match.NewHosts(pats)
}
