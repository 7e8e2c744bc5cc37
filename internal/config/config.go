// Package config turns the plugin configuration (JSON) into the compiled,
// immutable parts the request path uses: the lane set, the request index,
// and a gateway.Gateway or a sidecar.Sidecar. One file per section; every
// error names the JSON path of the offending field.
//
// Parsing uses gjson rather than encoding/json: it is reflection-light,
// which keeps the module small, and walking objects key by key makes
// rejecting unknown keys and naming exact paths straightforward.
package config

import (
	"strings"
	"syscall"

	"github.com/tidwall/gjson"

	"github.com/lanedye/lanedye/internal/gateway"
	"github.com/lanedye/lanedye/internal/lane"
	"github.com/lanedye/lanedye/internal/request"
	"github.com/lanedye/lanedye/internal/rules"
	"github.com/lanedye/lanedye/internal/sidecar"
)

// Role is the workload role a configuration is for.
type Role uint8

// Roles.
const (
	Gateway Role = iota + 1
	Sidecar
)

func (r Role) String() string {
	if r == Gateway {
		return "gateway"
	}
	return "sidecar"
}

// Defaults.
const (
	DefaultLaneHeader  = "x-swimlane"
	DefaultLane        = "base"
	DefaultRouteHeader = "x-lane-route"
)

// Config is a validated, compiled configuration. It is immutable once Parse
// returns, so many HTTP contexts can read it without locking.
type Config struct {
	Role          Role
	Lanes         *lane.Set
	Index         *request.Index
	LaneHeader    string // lower-case
	LaneHeaderID  request.HeaderID
	RouteHeader   string // fallback.route_header or its default, lower-case
	RouteHeaderID request.HeaderID
	// HasFallback says the route header is computed (a fallback section);
	// without one a client's or application's route header is removed.
	HasFallback bool
	// Baggage is the top-level baggage member carrying the lane ("" none);
	// BaggageHeaderID is the baggage header in Index.
	Baggage         string
	BaggageHeaderID request.HeaderID
	Rules           *rules.Engine    // the gateway's rules; none on a sidecar
	Gateway         *gateway.Gateway // role gateway
	Sidecar         *sidecar.Sidecar // role sidecar
	Debug           bool
}

// Option changes how Parse works.
type Option func(*parser)

// WithEnv sets how sticky.secret_env is resolved (by default: the process
// environment, which in Envoy is the VM's, vm_config.environment_variables).
// A nil lookup reads no environment: secret_env then stands for a
// placeholder key, so that tools that do not run where the plugin runs can
// check and explain a configuration (what they sign is not the plugin's).
func WithEnv(lookup func(string) (string, bool)) Option {
	return func(p *parser) { p.env = lookup }
}

// Parse validates and compiles a configuration.
func Parse(data []byte, opts ...Option) (*Config, error) {
	if err := checkLimits(data); err != nil {
		return nil, err
	}
	if len(strings.TrimSpace(string(data))) == 0 {
		return nil, errorf("$", "configuration is empty; \"role\" is required")
	}
	if !gjson.ValidBytes(data) {
		return nil, errorf("$", "invalid JSON")
	}
	p := &parser{cfg: &Config{Index: request.NewIndex(), LaneHeader: DefaultLaneHeader, RouteHeader: DefaultRouteHeader},
		env: syscall.Getenv}
	for _, o := range opts {
		o(p)
	}
	if err := p.parse(gjson.ParseBytes(data)); err != nil {
		return nil, err
	}
	return p.cfg, nil
}

// parser holds what sections share while they are compiled.
type parser struct {
	cfg *Config
	env func(string) (string, bool)
	// inRule is set while rules compile: they must not read the lane or
	// route header, which are removed from client requests before rules run.
	inRule bool
	// The sections, kept raw by the top-level pass.
	rules, trust, sticky, propagation, fallback gjson.Result
	gw                                          gateway.Options
	sc                                          sidecar.Options
}

func (p *parser) parse(root gjson.Result) error {
	c := p.cfg
	def, others := DefaultLane, []string(nil)
	err := object(root, "$",
		req("role", `"gateway" or "sidecar"`, p.role),
		opt("lane_header", headerName(&c.LaneHeader)),
		opt("default_lane", laneName(&def)),
		opt("lanes", stringList(&others)),
		opt("rules", p.only(Gateway, &p.rules)),
		opt("trust", p.only(Gateway, &p.trust)),
		opt("sticky", p.only(Gateway, &p.sticky)),
		opt("propagation", p.only(Sidecar, &p.propagation)),
		opt("fallback", raw(&p.fallback)),
		opt("baggage", baggageMember(&c.Baggage)),
		opt("debug", boolean(&c.Debug)),
	)
	if err != nil {
		return err
	}
	if c.Lanes, err = lanes(def, others); err != nil {
		return err
	}
	c.LaneHeaderID = c.Index.AddHeader(c.LaneHeader)
	c.BaggageHeaderID = c.Index.AddHeader("baggage")
	// Fallback first: rules must know the route header to refuse reading it.
	for _, section := range []func() error{p.parseFallback, p.parseRules, p.parseTrust, p.parseSticky, p.parsePropagation} {
		if err := section(); err != nil {
			return err
		}
	}
	c.RouteHeaderID = c.Index.AddHeader(c.RouteHeader)
	if c.Role == Gateway {
		p.gw.Lanes, p.gw.LaneHeader, p.gw.Rules = c.Lanes, c.LaneHeaderID, c.Rules
		p.gw.Baggage, p.gw.BaggageHeader = c.Baggage, c.BaggageHeaderID
		c.Gateway = gateway.New(p.gw)
	} else {
		p.sc.Lanes, p.sc.LaneHeader, p.sc.RouteHeader = c.Lanes, c.LaneHeaderID, c.RouteHeaderID
		p.sc.Baggage, p.sc.BaggageHeader = c.Baggage, c.BaggageHeaderID
		c.Sidecar = sidecar.New(p.sc)
	}
	return nil
}

func (p *parser) role(v gjson.Result, path string) error {
	var s string
	if err := str(&s)(v, path); err != nil {
		return err
	}
	switch s {
	case "gateway":
		p.cfg.Role = Gateway
	case "sidecar":
		p.cfg.Role = Sidecar
	default:
		return errorf(path, "must be \"gateway\" or \"sidecar\", got %q", s)
	}
	return nil
}

// only keeps a section that only role has.
func (p *parser) only(role Role, dst *gjson.Result) binder {
	return func(v gjson.Result, path string) error {
		if p.cfg.Role != role {
			return errorf(path, "only valid for role %q", role.String())
		}
		*dst = v
		return nil
	}
}
