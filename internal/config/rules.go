package config

import (
	"github.com/tidwall/gjson"

	"github.com/lanedye/lanedye/internal/lane"
	"github.com/lanedye/lanedye/internal/match"
	"github.com/lanedye/lanedye/internal/rules"
)

// parseRules compiles the rules section into cfg.Rules (an empty engine
// when absent).
func (p *parser) parseRules() error {
	var rs []rules.Rule
	p.inRule = true
	defer func() { p.inRule = false }()
	if p.rules.Exists() {
		items, err := array(p.rules, "rules")
		if err != nil {
			return err
		}
		names := map[string]bool{}
		for i, it := range items {
			r, err := p.rule(it, index("rules", i), names)
			if err != nil {
				return err
			}
			rs = append(rs, r)
		}
	}
	p.cfg.Rules = rules.NewEngine(rs, p.cfg.Lanes)
	return nil
}

func (p *parser) rule(v gjson.Result, path string, names map[string]bool) (rules.Rule, error) {
	var r rules.Rule
	var laneV, fromV, prioV, hostsV, matchV gjson.Result
	err := object(v, path,
		req("name", "", p.ruleName(&r.Name, names)),
		opt("lane", raw(&laneV)),
		opt("lane_from", raw(&fromV)),
		opt("priority", raw(&prioV)),
		opt("hosts", raw(&hostsV)),
		opt("match", raw(&matchV)),
	)
	if err != nil {
		return r, err
	}
	switch {
	case laneV.Exists() && fromV.Exists():
		return r, errorf(join(path, "lane_from"), "set either lane or lane_from, not both")
	case laneV.Exists():
		err = p.laneRef(&r.Lane)(laneV, join(path, "lane"))
	case fromV.Exists():
		if r.LaneFrom, err = p.source(fromV, join(path, "lane_from")); err == nil {
			err = p.readable(*r.LaneFrom, join(path, "lane_from"))
		}
	default:
		err = errorf(join(path, "lane"), "required: set lane or lane_from")
	}
	if err != nil {
		return r, err
	}
	if prioV.Exists() {
		if err := integer(&r.Priority, -1_000_000, 1_000_000)(prioV, join(path, "priority")); err != nil {
			return r, err
		}
	}
	if r.Hosts, err = hosts(hostsV, join(path, "hosts")); err != nil {
		return r, err
	}
	if matchV.Exists() {
		r.Match, err = p.blocks(matchV, join(path, "match"), r.Name)
	}
	return r, err
}

func (p *parser) ruleName(dst *string, seen map[string]bool) binder {
	return func(v gjson.Result, path string) error {
		if err := str(dst)(v, path); err != nil {
			return err
		}
		if !lane.ValidName(*dst) {
			return errorf(path, "%q is not a valid rule name (%s; it names a stat)", *dst, lane.NameSyntax)
		}
		if seen[*dst] {
			return errorf(path, "duplicate rule name %q", *dst)
		}
		seen[*dst] = true
		return nil
	}
}

// source compiles a "header:NAME", "cookie:NAME" or "query:NAME" string.
func (p *parser) source(v gjson.Result, path string) (*match.Source, error) {
	var s string
	if err := str(&s)(v, path); err != nil {
		return nil, err
	}
	src, err := match.ParseSource(s, p.cfg.Index)
	if err != nil {
		return nil, errorf(path, "%v", err)
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
	for _, h := range []struct{ name, key string }{{p.cfg.LaneHeader, "lane_header"}, {p.cfg.RouteHeader, "route header"}} {
		if src.Name == h.name {
			return errorf(path, "reads %s, the %s: lanedye removes it from client requests before rules run; use trust to let clients choose their lane", h.name, h.key)
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
	if err := stringList(&pats)(v, path); err != nil {
		return match.Hosts{}, err
	}
	if len(pats) == 0 {
		return match.Hosts{}, errorf(path, "must not be empty (omit hosts to match every host)")
	}
	for i := range pats {
		if _, err := match.NewHosts(pats[i : i+1]); err != nil {
			return match.Hosts{}, errorf(index(path, i), "%v", err)
		}
	}
	return match.NewHosts(pats)
}
