// Package config turns the plugin configuration (JSON) into the compiled,
// immutable parts the request path uses. This package parses what every
// role shares (the lane set, the lane and route headers, fallback, baggage,
// debug, the request index); each role's own sections are compiled by that
// role's parser (internal/config/gatewayconf, internal/config/sidecarconf),
// which a module carries only for its roles: the sidecar module links none
// of the gateway's code. Every error names the JSON path of the offending
// field (internal/config/bind).
//
// Parsing uses gjson (internal/gjson) rather than encoding/json: it is
// reflection-free, which keeps the modules small, and walking objects key by
// key makes rejecting unknown keys and naming exact paths straightforward.
package config

import (
	"strings"
	"syscall"

	"github.com/lanedye/lanedye/internal/config/bind"
	"github.com/lanedye/lanedye/internal/fallback"
	"github.com/lanedye/lanedye/internal/gjson"
	"github.com/lanedye/lanedye/internal/lane"
	"github.com/lanedye/lanedye/internal/request"
)

// Defaults.
const (
	DefaultLaneHeader  = "x-swimlane"
	DefaultLane        = "base"
	DefaultRouteHeader = "x-lane-route"
)

// Error is a configuration error at a JSON path.
type Error = bind.Error

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
	// Fallback is the route-lane table; nil without a fallback section, and
	// then a client's or application's route header is removed.
	Fallback *fallback.Table
	// Baggage is the top-level baggage member carrying the lane ("" none);
	// BaggageHeaderID is the baggage header in Index.
	Baggage         string
	BaggageHeaderID request.HeaderID
	Debug           bool
	// Part is what the role's parser compiled from the role's own
	// sections (gatewayconf.Of, sidecarconf.Of read it).
	Part any
}

// HasFallback says the route header is computed.
func (c *Config) HasFallback() bool { return c.Fallback != nil }

// Option changes how Parse works.
type Option func(*options)

type options struct {
	carried []RoleParser
	env     func(string) (string, bool)
}

// Carry makes Parse compile the roles of these parsers; a configuration of
// any other role is an error naming the module that carries it.
func Carry(parsers ...RoleParser) Option {
	return func(o *options) { o.carried = append(o.carried, parsers...) }
}

// WithEnv sets how the VM environment is read (by default: the process
// environment, which in Envoy is the VM's, vm_config.environment_variables).
// A nil lookup reads no environment: a role parser then stands a placeholder
// in for what it would read there (sticky.secret_env), so that tools that
// do not run where the plugin runs can check and explain a configuration.
func WithEnv(lookup func(string) (string, bool)) Option {
	return func(o *options) { o.env = lookup }
}

// Parse validates and compiles a configuration.
func Parse(data []byte, opts ...Option) (*Config, error) {
	o := options{env: syscall.Getenv}
	for _, f := range opts {
		f(&o)
	}
	if err := checkLimits(data); err != nil {
		return nil, err
	}
	if len(strings.TrimSpace(string(data))) == 0 {
		return nil, bind.Err("$", `configuration is empty; "role" is required`)
	}
	if !gjson.ValidBytes(data) {
		return nil, bind.Err("$", "invalid JSON")
	}
	p := &parser{o: o, sections: Sections{}, cfg: &Config{Index: request.NewIndex(),
		LaneHeader: DefaultLaneHeader, RouteHeader: DefaultRouteHeader}}
	if err := p.parse(gjson.ParseBytes(data)); err != nil {
		return nil, err
	}
	return p.cfg, nil
}

// parser holds what the common pass shares while it compiles.
type parser struct {
	o        options
	cfg      *Config
	role     RoleParser
	fallback gjson.Result
	sections Sections
}

func (p *parser) parse(root gjson.Result) error {
	c := p.cfg
	def, others := DefaultLane, []string(nil)
	laneSet := false
	fields := []bind.Field{
		bind.Req("role", roleHint, p.bindRole),
		bind.Opt("lane_header", func(v gjson.Result, path string) error {
			laneSet = true
			return bind.HeaderName(&c.LaneHeader)(v, path)
		}),
		bind.Opt("default_lane", laneName(&def)),
		bind.Opt("lanes", bind.StringList(&others)),
	}
	for _, k := range roleKeys {
		fields = append(fields, bind.Opt(k.key, p.section(k.key, k.roles)))
	}
	fields = append(fields,
		bind.Opt("fallback", bind.Raw(&p.fallback)),
		bind.Opt("baggage", baggageMember(&c.Baggage)),
		bind.Opt("debug", bind.Bool(&c.Debug)),
	)
	if err := bind.Object(root, "$", fields...); err != nil {
		return err
	}
	var err error
	if c.Lanes, err = lanes(def, others); err != nil {
		return err
	}
	c.LaneHeaderID = c.Index.AddHeader(c.LaneHeader)
	c.BaggageHeaderID = c.Index.AddHeader("baggage")
	// Fallback first: the role's sections must know the route header (rules
	// refuse to read it).
	if err := p.parseFallback(); err != nil {
		return err
	}
	if err := p.checkHeaders(laneSet); err != nil {
		return err
	}
	c.RouteHeaderID = c.Index.AddHeader(c.RouteHeader)
	c.Part, err = p.role.Compile(c, p.sections, p.o.env)
	return err
}
