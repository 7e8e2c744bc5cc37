// Package gatewayconf compiles the sections of the gateway role (rules,
// trust, sticky) into a gateway.Gateway. Only the gateway module carries
// it, and with it the rules' regular expressions and the sticky cookie's
// cryptography.
package gatewayconf

import (
	"github.com/lanedye/lanedye/internal/config"
	"github.com/lanedye/lanedye/internal/gateway"
	"github.com/lanedye/lanedye/internal/gjson"
	"github.com/lanedye/lanedye/internal/rules"
)

// Part is what a gateway configuration compiles to (config.Config.Part).
type Part struct {
	Gateway *gateway.Gateway
	Rules   *rules.Engine // also when the configuration has no rules
}

// Of returns the gateway part of c; nil for another role.
func Of(c *config.Config) *Part {
	p, _ := c.Part.(*Part)
	return p
}

// Parser compiles the gateway role.
var Parser = config.RoleParser{Role: config.Gateway, Compile: compile}

// parser holds what the gateway's sections share while they compile.
type parser struct {
	c   *config.Config
	env func(string) (string, bool)
	// inRule is set while rules compile: they must not read the lane or
	// route header, which are removed from client requests before rules run.
	inRule bool
	// The sections, as present.
	rules, trust, sticky gjson.Result
	gw                   gateway.Options
}

func compile(c *config.Config, s config.Sections, env func(string) (string, bool)) (any, error) {
	p := &parser{c: c, env: env, rules: s["rules"], trust: s["trust"], sticky: s["sticky"]}
	var part Part
	var err error
	if part.Rules, err = p.parseRules(); err != nil {
		return nil, err
	}
	for _, section := range []func() error{p.parseTrust, p.parseSticky} {
		if err := section(); err != nil {
			return nil, err
		}
	}
	p.gw.Lanes, p.gw.LaneHeader, p.gw.Rules, p.gw.Fallback = c.Lanes, c.LaneHeaderID, part.Rules, c.Fallback
	p.gw.Baggage, p.gw.BaggageHeader = c.Baggage, c.BaggageHeaderID
	part.Gateway = gateway.New(p.gw)
	return &part, nil
}
