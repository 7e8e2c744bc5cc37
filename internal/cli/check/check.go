// Package check checks valid lanedye configurations against each other, as
// `lanedye validate` does when it reads several: gateways against the
// sidecars behind them. Each configuration on its own is the plugin's
// parser's business (internal/config).
package check

import (
	"strconv"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/lanedye/lanedye/internal/config"
	"github.com/lanedye/lanedye/internal/config/gatewayconf"
	"github.com/lanedye/lanedye/internal/lane"
	"github.com/lanedye/lanedye/internal/rules"
)

// Input is one valid configuration.
type Input struct {
	Source string // FILE or FILE#DOC
	JSON   []byte
	Config *config.Config
}

// Finding is a problem between configurations, at a JSON path of one.
type Finding struct {
	Source, Path, Msg string
	Warning           bool
}

func (f Finding) String() string {
	w := ""
	if f.Warning {
		w = "warning: "
	}
	return f.Source + ": " + f.Path + ": " + w + f.Msg
}

// Across checks the configurations together. Errors: a sidecar reading a
// baggage member some gateway does not own (a client could then choose its
// lane through baggage), a sidecar reading another lane header than a
// gateway sets. Warnings: sidecar lanes that no gateway produces, a default
// lane that differs, and gateway fallback services that no rule's hosts
// reach.
func Across(in []Input) []Finding {
	var gws, scs []Input
	for _, c := range in {
		if c.Config.Role == config.Gateway {
			gws = append(gws, c)
		} else {
			scs = append(scs, c)
		}
	}
	var out []Finding
	for _, gw := range gws {
		out = append(out, unreachable(gw)...)
	}
	if len(gws) == 0 {
		return out
	}
	for _, sc := range scs {
		out = append(out, headers(sc, gws)...)
		out = append(out, lanes(sc, gws)...)
	}
	return out
}

// headers compares what a sidecar reads with what every gateway writes.
func headers(sc Input, gws []Input) []Finding {
	var out []Finding
	s := sc.Config
	for _, gw := range gws {
		g := gw.Config
		if s.Baggage != "" && g.Baggage != s.Baggage {
			owns := "owns no baggage member"
			if g.Baggage != "" {
				owns = "owns " + strconv.Quote(g.Baggage)
			}
			out = append(out, Finding{Source: sc.Source, Path: "baggage", Msg: "reads baggage member " + strconv.Quote(s.Baggage) +
				", but the gateway " + gw.Source + " " + owns + ": a client could choose its lane through baggage; set \"baggage\": " +
				strconv.Quote(s.Baggage) + " there"})
		}
		if g.LaneHeader != s.LaneHeader {
			out = append(out, Finding{Source: sc.Source, Path: "lane_header", Msg: "reads " + strconv.Quote(s.LaneHeader) +
				", but the gateway " + gw.Source + " sets " + strconv.Quote(g.LaneHeader)})
		}
		if gd, sd := g.Lanes.Name(lane.Default), s.Lanes.Name(lane.Default); gd != sd {
			out = append(out, Finding{Source: sc.Source, Path: "default_lane", Warning: true, Msg: strconv.Quote(sd) +
				", but the gateway " + gw.Source + " has " + strconv.Quote(gd) + ": its default lane is no lane here"})
		}
	}
	return out
}

// lanes warns about sidecar lanes no gateway ever produces.
func lanes(sc Input, gws []Input) []Finding {
	produced := map[string]bool{}
	for _, gw := range gws {
		for _, l := range Produced(gw) {
			produced[l] = true
		}
	}
	var out []Finding
	names := sc.Config.Lanes.Names()
	for i, l := range names[1:] {
		if !produced[l] {
			out = append(out, Finding{Source: sc.Source, Path: "lanes[" + strconv.Itoa(i) + "]", Warning: true,
				Msg: "no gateway produces lane " + strconv.Quote(l) + " (no rule dyes into it, and no lane_from or trust lets a client choose it)"})
		}
	}
	return out
}

// Produced returns the lanes a gateway configuration can decide: the
// default lane, the rules' lanes, and every lane when a lane_from rule or a
// trust section lets the request choose.
func Produced(gw Input) []string {
	c := gw.Config
	names := c.Lanes.Names()
	anyLane := gjson.GetBytes(gw.JSON, "trust").Exists()
	out := []string{names[lane.Default]}
	for _, r := range gatewayconf.Of(c).Rules.Rules() {
		if r.LaneFrom != nil {
			anyLane = true
			continue
		}
		out = append(out, names[r.Lane])
	}
	if anyLane {
		return names
	}
	return out
}

// unreachable warns about gateway fallback services that no rule's hosts
// can reach: requests to them get a lane only from a trusted header or a
// sticky cookie.
func unreachable(gw Input) []Finding {
	var out []Finding
	rs := gatewayconf.Of(gw.Config).Rules.Rules()
	gjson.GetBytes(gw.JSON, "fallback.services").ForEach(func(k, _ gjson.Result) bool {
		key := strings.ToLower(k.String())
		for i := range rs {
			if reaches(&rs[i], key) {
				return true
			}
		}
		out = append(out, Finding{Source: gw.Source, Path: "fallback.services." + k.String(), Warning: true,
			Msg: "no rule's hosts reach this service: requests to it are dyed only by a trusted header or a sticky cookie"})
		return true
	})
	return out
}

// reaches reports whether some host that matches service key (a host, or
// its first DNS label) matches the rule's hosts.
func reaches(r *rules.Rule, key string) bool {
	for _, p := range r.Hosts.Patterns() {
		switch suffix, wildcard := strings.CutPrefix(p, "*"); {
		case p == "*", p == key, strings.HasPrefix(p, key+"."):
			return true
		case wildcard && (!strings.Contains(key, ".") || strings.HasSuffix(key, suffix)):
			return true
		}
	}
	return false
}
