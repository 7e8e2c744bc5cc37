// Package config parses and validates the plugin configuration into an
// immutable compiled form.
//
// Parsing uses gjson rather than encoding/json: it is reflection-light, which
// keeps the wasm small, and walking objects key by key makes rejecting
// unknown keys and naming the exact JSON path of every error straightforward.
package config

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/tidwall/gjson"

	"github.com/lanedye/lanedye/internal/fallback"
	"github.com/lanedye/lanedye/internal/lane"
	"github.com/lanedye/lanedye/internal/rules"
	"github.com/lanedye/lanedye/internal/sticky"
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
	DefaultMaxAge      = 86400
	DefaultTTL         = 60
	DefaultSlots       = 8192
	// MaxSlots bounds the shared-data footprint one configuration can ask for.
	MaxSlots = 1 << 20
	// MaxWays bounds the mappings per slot; a slot value counts them in a byte.
	MaxWays = 16
)

// Config is a validated, compiled configuration. It is immutable once Parse
// returns, so many HTTP contexts can read it without locking.
type Config struct {
	Role         Role
	LaneHeader   string // lower-case
	LaneHeaderID int
	Lanes        *lane.Set
	Index        *rules.Index
	Rules        *rules.Engine
	// RouteHeader is fallback.route_header or its default. The gateway strips a
	// client-sent route header even without a fallback section: VirtualServices
	// may route on it.
	RouteHeader   string
	RouteHeaderID int
	Trust         *rules.Match // nil: a client-sent lane header is never kept
	Sticky        *sticky.Cookie
	// StickyCookieID is the sticky cookie's id in Index.
	StickyCookieID int
	Propagation    *Propagation
	Fallback       *Fallback
	Debug          bool
}

// Fallback is the compiled fallback section.
type Fallback struct {
	Table *fallback.Table
}

// KeyKind is a correlation id source.
type KeyKind uint8

// Correlation id sources.
const (
	KeyTraceparent KeyKind = iota
	KeyRequestID
	KeyB3
	KeyB3TraceID
	KeyUber
	KeySW8
	KeyHeader
)

// Key is a compiled correlation id source.
type Key struct {
	Kind     KeyKind
	Header   string // the header it reads, lower-case
	HeaderID int
}

// Propagation is the compiled propagation section.
type Propagation struct {
	Keys      []Key
	TTL       int // seconds
	Slots     int
	Ways      int    // mappings per slot (1: SPEC's single-mapping slot)
	Baggage   string // W3C baggage member carrying the lane; "" off
	BaggageID int    // header id of "baggage"
}

// Error is a configuration error at a JSON path.
type Error struct {
	Path string
	Msg  string
}

func (e *Error) Error() string { return e.Path + ": " + e.Msg }

func errorf(path, format string, args ...any) error {
	return &Error{Path: path, Msg: fmt.Sprintf(format, args...)}
}

// Parse validates and compiles a configuration.
func Parse(data []byte) (*Config, error) {
	if err := checkLimits(data); err != nil {
		return nil, err
	}
	if len(strings.TrimSpace(string(data))) == 0 {
		return nil, errorf("$", "configuration is empty; \"role\" is required")
	}
	if !gjson.ValidBytes(data) {
		return nil, errorf("$", "invalid JSON")
	}
	root := gjson.ParseBytes(data)
	p := parser{cfg: &Config{Index: rules.NewIndex()}}
	if err := p.parse(root); err != nil {
		return nil, err
	}
	return p.cfg, nil
}

type parser struct {
	cfg *Config
}

// fields walks an object, rejecting duplicate and unknown keys, and returns
// the values of the allowed keys.
func fields(v gjson.Result, path string, allowed ...string) (map[string]gjson.Result, error) {
	if !v.IsObject() {
		return nil, errorf(path, "must be an object")
	}
	out := make(map[string]gjson.Result, len(allowed))
	var err error
	v.ForEach(func(k, val gjson.Result) bool {
		key := k.String()
		if _, dup := out[key]; dup {
			err = errorf(join(path, key), "duplicate key")
			return false
		}
		for _, a := range allowed {
			if a == key {
				out[key] = val
				return true
			}
		}
		err = errorf(join(path, key), "unknown key (allowed: %s)", strings.Join(allowed, ", "))
		return false
	})
	return out, err
}

// entries returns an object's keys and values in document order, rejecting
// duplicate keys.
func entries(v gjson.Result, path string) ([]string, []gjson.Result, error) {
	if !v.IsObject() {
		return nil, nil, errorf(path, "must be an object")
	}
	var ks []string
	var vs []gjson.Result
	seen := map[string]bool{}
	var err error
	v.ForEach(func(k, val gjson.Result) bool {
		key := k.String()
		if seen[key] {
			err = errorf(join(path, key), "duplicate key")
			return false
		}
		seen[key] = true
		ks = append(ks, key)
		vs = append(vs, val)
		return true
	})
	return ks, vs, err
}

// join appends an object key to a path. Keys that would make the path
// ambiguous or invisible (empty, spaces, quotes, brackets, control bytes) are
// written as ["key"].
func join(path, key string) string {
	if key == "" || strings.ContainsFunc(key, func(r rune) bool {
		return r <= ' ' || r == '"' || r == '[' || r == ']' || r == 0x7f || r == utf8.RuneError
	}) {
		if path == "" {
			path = "$"
		}
		return path + "[" + strconv.Quote(key) + "]"
	}
	if path == "" || path == "$" {
		return key
	}
	return path + "." + key
}

func index(path string, i int) string { return fmt.Sprintf("%s[%d]", path, i) }

func str(v gjson.Result, path string) (string, error) {
	if v.Type != gjson.String {
		return "", errorf(path, "must be a string")
	}
	return v.Str, nil
}

func boolean(v gjson.Result, path string) (bool, error) {
	if v.Type != gjson.True && v.Type != gjson.False {
		return false, errorf(path, "must be true or false")
	}
	return v.Type == gjson.True, nil
}

func integer(v gjson.Result, path string, lo, hi int) (int, error) {
	if v.Type != gjson.Number || v.Num != math.Trunc(v.Num) {
		return 0, errorf(path, "must be an integer")
	}
	if v.Num < float64(lo) || v.Num > float64(hi) {
		return 0, errorf(path, "must be between %d and %d", lo, hi)
	}
	return int(v.Num), nil
}

func array(v gjson.Result, path string) ([]gjson.Result, error) {
	if !v.IsArray() {
		return nil, errorf(path, "must be an array")
	}
	return v.Array(), nil
}

// stringOrList accepts a string or a non-empty list of strings.
func stringOrList(v gjson.Result, path string) ([]string, error) {
	if v.Type == gjson.String {
		return []string{v.Str}, nil
	}
	if !v.IsArray() {
		return nil, errorf(path, "must be a string or a list of strings")
	}
	items := v.Array()
	if len(items) == 0 {
		return nil, errorf(path, "must not be an empty list")
	}
	out := make([]string, len(items))
	for i, it := range items {
		s, err := str(it, index(path, i))
		if err != nil {
			return nil, err
		}
		out[i] = s
	}
	return out, nil
}

func headerName(v gjson.Result, path string) (string, error) {
	s, err := str(v, path)
	if err != nil {
		return "", err
	}
	s = strings.ToLower(s)
	if !rules.ValidToken(s) {
		return "", errorf(path, "%q is not a valid header name", v.Str)
	}
	return s, nil
}

func (p *parser) laneRef(v gjson.Result, path string) (int, error) {
	s, err := str(v, path)
	if err != nil {
		return 0, err
	}
	l, ok := p.cfg.Lanes.Lookup(s)
	if !ok {
		return 0, errorf(path, "%q is not a configured lane (default_lane or one of lanes)", s)
	}
	return l, nil
}

func (p *parser) laneList(v gjson.Result, path string) ([]int, error) {
	items, err := array(v, path)
	if err != nil {
		return nil, err
	}
	out := make([]int, 0, len(items))
	seen := map[int]bool{}
	for i, it := range items {
		l, err := p.laneRef(it, index(path, i))
		if err != nil {
			return nil, err
		}
		if seen[l] {
			return nil, errorf(index(path, i), "duplicate lane %q", it.Str)
		}
		seen[l] = true
		out = append(out, l)
	}
	return out, nil
}

func (p *parser) parse(root gjson.Result) error {
	f, err := fields(root, "$", "role", "lane_header", "default_lane", "lanes", "rules",
		"trust", "sticky", "propagation", "fallback", "debug")
	if err != nil {
		return err
	}
	c := p.cfg
	role, ok := f["role"]
	if !ok {
		return errorf("role", "required: \"gateway\" or \"sidecar\"")
	}
	switch s, err := str(role, "role"); {
	case err != nil:
		return err
	case s == "gateway":
		c.Role = Gateway
	case s == "sidecar":
		c.Role = Sidecar
	default:
		return errorf("role", "must be \"gateway\" or \"sidecar\", got %q", s)
	}
	for _, k := range []string{"rules", "trust", "sticky"} {
		if _, ok := f[k]; ok && c.Role != Gateway {
			return errorf(k, "only valid for role \"gateway\"")
		}
	}
	if _, ok := f["propagation"]; ok && c.Role != Sidecar {
		return errorf("propagation", "only valid for role \"sidecar\"")
	}

	c.LaneHeader = DefaultLaneHeader
	if v, ok := f["lane_header"]; ok {
		if c.LaneHeader, err = headerName(v, "lane_header"); err != nil {
			return err
		}
	}
	c.LaneHeaderID = c.Index.Add(c.LaneHeader)

	def := DefaultLane
	if v, ok := f["default_lane"]; ok {
		if def, err = str(v, "default_lane"); err != nil {
			return err
		}
		if !lane.ValidName(def) {
			return errorf("default_lane", "%q is not a valid lane name ([A-Za-z0-9][A-Za-z0-9._-]{0,62})", def)
		}
	}
	var others []string
	if v, ok := f["lanes"]; ok {
		items, err := array(v, "lanes")
		if err != nil {
			return err
		}
		seen := map[string]bool{def: true}
		for i, it := range items {
			path := index("lanes", i)
			s, err := str(it, path)
			if err != nil {
				return err
			}
			switch {
			case !lane.ValidName(s):
				return errorf(path, "%q is not a valid lane name ([A-Za-z0-9][A-Za-z0-9._-]{0,62})", s)
			case s == def:
				return errorf(path, "%q is the default_lane; lanes lists the other lanes", s)
			case seen[s]:
				return errorf(path, "duplicate lane %q", s)
			}
			seen[s] = true
			others = append(others, s)
		}
	}
	c.Lanes = lane.NewSet(def, others)

	if v, ok := f["rules"]; ok {
		if err := p.parseRules(v); err != nil {
			return err
		}
	} else {
		c.Rules = rules.NewEngine(nil, c.Lanes)
	}
	if v, ok := f["trust"]; ok {
		tf, err := fields(v, "trust", "match")
		if err != nil {
			return err
		}
		mv, ok := tf["match"]
		if !ok {
			return errorf("trust.match", "required: the blocks that make a client-sent lane header trusted")
		}
		m, err := p.parseMatch(mv, "trust.match", "trust")
		if err != nil {
			return err
		}
		c.Trust = &m
	}
	if v, ok := f["sticky"]; ok {
		if err := p.parseSticky(v); err != nil {
			return err
		}
	}
	if v, ok := f["propagation"]; ok {
		if err := p.parsePropagation(v); err != nil {
			return err
		}
	}
	c.RouteHeader = DefaultRouteHeader
	if v, ok := f["fallback"]; ok {
		if err := p.parseFallback(v); err != nil {
			return err
		}
	}
	if c.RouteHeader == c.LaneHeader {
		return errorf("fallback.route_header", "must differ from lane_header: the lane header travels unchanged")
	}
	c.RouteHeaderID = c.Index.Add(c.RouteHeader)
	if v, ok := f["debug"]; ok {
		if c.Debug, err = boolean(v, "debug"); err != nil {
			return err
		}
	}
	return nil
}

func (p *parser) parseRules(v gjson.Result) error {
	items, err := array(v, "rules")
	if err != nil {
		return err
	}
	names := map[string]bool{}
	rs := make([]rules.Rule, 0, len(items))
	for i, it := range items {
		path := index("rules", i)
		f, err := fields(it, path, "name", "lane", "lane_from", "priority", "hosts", "match")
		if err != nil {
			return err
		}
		var r rules.Rule
		nv, ok := f["name"]
		if !ok {
			return errorf(join(path, "name"), "required")
		}
		if r.Name, err = str(nv, join(path, "name")); err != nil {
			return err
		}
		if !lane.ValidName(r.Name) {
			return errorf(join(path, "name"), "%q is not a valid rule name ([A-Za-z0-9][A-Za-z0-9._-]{0,62}; it names a stat)", r.Name)
		}
		if names[r.Name] {
			return errorf(join(path, "name"), "duplicate rule name %q", r.Name)
		}
		names[r.Name] = true

		lv, hasLane := f["lane"]
		fv, hasFrom := f["lane_from"]
		switch {
		case hasLane && hasFrom:
			return errorf(join(path, "lane_from"), "set either lane or lane_from, not both")
		case hasLane:
			if r.Lane, err = p.laneRef(lv, join(path, "lane")); err != nil {
				return err
			}
		case hasFrom:
			s, err := str(fv, join(path, "lane_from"))
			if err != nil {
				return err
			}
			src, err := rules.ParseSource(s, p.cfg.Index)
			if err != nil {
				return errorf(join(path, "lane_from"), "%v", err)
			}
			r.LaneFrom = &src
		default:
			return errorf(join(path, "lane"), "required: set lane or lane_from")
		}
		if pv, ok := f["priority"]; ok {
			if r.Priority, err = integer(pv, join(path, "priority"), -1_000_000, 1_000_000); err != nil {
				return err
			}
		}
		if hv, ok := f["hosts"]; ok {
			hp := join(path, "hosts")
			hs, err := array(hv, hp)
			if err != nil {
				return err
			}
			if len(hs) == 0 {
				return errorf(hp, "must not be empty (omit hosts to match every host)")
			}
			pats := make([]string, len(hs))
			for j, h := range hs {
				if pats[j], err = str(h, index(hp, j)); err != nil {
					return err
				}
				if _, err := rules.NewHosts(pats[j : j+1]); err != nil {
					return errorf(index(hp, j), "%v", err)
				}
			}
			if r.Hosts, err = rules.NewHosts(pats); err != nil {
				return errorf(hp, "%v", err)
			}
		} else {
			r.Hosts, _ = rules.NewHosts(nil)
		}
		if mv, ok := f["match"]; ok {
			if r.Match, err = p.parseMatch(mv, join(path, "match"), r.Name); err != nil {
				return err
			}
		}
		rs = append(rs, r)
	}
	p.cfg.Rules = rules.NewEngine(rs, p.cfg.Lanes)
	return nil
}

// parseMatch parses a list of match blocks. salt is the default percentage salt.
func (p *parser) parseMatch(v gjson.Result, path, salt string) (rules.Match, error) {
	items, err := array(v, path)
	if err != nil {
		return nil, err
	}
	m := make(rules.Match, 0, len(items))
	for i, it := range items {
		bp := index(path, i)
		f, err := fields(it, bp, "headers", "cookies", "query", "path", "method", "percentage")
		if err != nil {
			return nil, err
		}
		var b rules.Block
		for _, kind := range []string{"headers", "cookies", "query"} {
			cv, ok := f[kind]
			if !ok {
				continue
			}
			kp := join(bp, kind)
			names, vals, err := entries(cv, kp)
			if err != nil {
				return nil, err
			}
			seen := map[string]bool{}
			for j, name := range names {
				np := join(kp, name)
				var src rules.Source
				switch kind {
				case "headers":
					src, err = rules.HeaderSource(name, p.cfg.Index)
				case "cookies":
					src, err = rules.ParseSource("cookie:"+name, p.cfg.Index)
				default:
					src, err = rules.ParseSource("query:"+name, p.cfg.Index)
				}
				if err != nil {
					return nil, errorf(np, "%v", err)
				}
				if seen[src.Name] {
					return nil, errorf(np, "duplicate name (header names are case-insensitive)")
				}
				seen[src.Name] = true
				sm, err := parseStringMatch(vals[j], np)
				if err != nil {
					return nil, err
				}
				b.Conds = append(b.Conds, rules.Cond{Src: src, M: sm})
			}
		}
		if pv, ok := f["path"]; ok {
			sm, err := parseStringMatch(pv, join(bp, "path"))
			if err != nil {
				return nil, err
			}
			b.Path = &sm
		}
		if mv, ok := f["method"]; ok {
			sm, err := parseStringMatch(mv, join(bp, "method"))
			if err != nil {
				return nil, err
			}
			b.Method = &sm
		}
		if pv, ok := f["percentage"]; ok {
			pct, err := p.parsePercentage(pv, join(bp, "percentage"), salt)
			if err != nil {
				return nil, err
			}
			b.Pct = pct
		}
		m = append(m, b)
	}
	return m, nil
}

var operators = []string{"exact", "prefix", "suffix", "contains", "regex", "present"}

func parseStringMatch(v gjson.Result, path string) (rules.StringMatch, error) {
	f, err := fields(v, path, "exact", "prefix", "suffix", "contains", "regex", "present", "invert", "ignore_case")
	if err != nil {
		return rules.StringMatch{}, err
	}
	var op string
	for _, o := range operators {
		if _, ok := f[o]; ok {
			if op != "" {
				return rules.StringMatch{}, errorf(join(path, o), "only one operator per matcher (already have %s)", op)
			}
			op = o
		}
	}
	if op == "" {
		return rules.StringMatch{}, errorf(path, "needs one operator: %s", strings.Join(operators, ", "))
	}
	var invert, fold bool
	if iv, ok := f["invert"]; ok {
		if invert, err = boolean(iv, join(path, "invert")); err != nil {
			return rules.StringMatch{}, err
		}
	}
	if iv, ok := f["ignore_case"]; ok {
		if fold, err = boolean(iv, join(path, "ignore_case")); err != nil {
			return rules.StringMatch{}, err
		}
	}
	op_ := join(path, op)
	switch op {
	case "present":
		if _, ok := f["ignore_case"]; ok {
			return rules.StringMatch{}, errorf(join(path, "ignore_case"), "has no effect with present")
		}
		b, err := boolean(f[op], op_)
		if err != nil {
			return rules.StringMatch{}, err
		}
		return rules.NewPresentMatch(b, invert), nil
	case "regex":
		s, err := str(f[op], op_)
		if err != nil {
			return rules.StringMatch{}, err
		}
		sm, err := rules.NewRegexMatch(s, invert, fold)
		if err != nil {
			return rules.StringMatch{}, errorf(op_, "%v", err)
		}
		return sm, nil
	}
	vals, err := stringOrList(f[op], op_)
	if err != nil {
		return rules.StringMatch{}, err
	}
	kinds := map[string]rules.Op{"exact": rules.OpExact, "prefix": rules.OpPrefix, "suffix": rules.OpSuffix, "contains": rules.OpContains}
	return rules.NewValueMatch(kinds[op], vals, invert, fold), nil
}

func (p *parser) parsePercentage(v gjson.Result, path, salt string) (*rules.Percentage, error) {
	f, err := fields(v, path, "value", "key", "salt")
	if err != nil {
		return nil, err
	}
	vv, ok := f["value"]
	if !ok {
		return nil, errorf(join(path, "value"), "required: 0 to 100")
	}
	if vv.Type != gjson.Number || vv.Num < 0 || vv.Num > 100 {
		return nil, errorf(join(path, "value"), "must be a number from 0 to 100")
	}
	th := math.Round(vv.Num * 100)
	if math.Abs(th-vv.Num*100) > 1e-6 {
		return nil, errorf(join(path, "value"), "at most two decimals (buckets are 0.01%%)")
	}
	pct := &rules.Percentage{Threshold: uint64(th), Salt: salt}
	kv, ok := f["key"]
	if !ok {
		return nil, errorf(join(path, "key"), "required: the sources hashed, e.g. [\"header:x-user-id\", \"cookie:uid\"]")
	}
	keys, err := stringOrList(kv, join(path, "key"))
	if err != nil {
		return nil, err
	}
	for i, k := range keys {
		src, err := rules.ParseSource(k, p.cfg.Index)
		if err != nil {
			kp := join(path, "key")
			if kv.IsArray() {
				kp = index(kp, i)
			}
			return nil, errorf(kp, "%v", err)
		}
		pct.Keys = append(pct.Keys, src)
	}
	if sv, ok := f["salt"]; ok {
		if pct.Salt, err = str(sv, join(path, "salt")); err != nil {
			return nil, err
		}
	}
	return pct, nil
}

func (p *parser) parseSticky(v gjson.Result) error {
	f, err := fields(v, "sticky", "cookie", "max_age", "path", "domain", "secure", "http_only", "same_site", "secret", "lanes")
	if err != nil {
		return err
	}
	o := sticky.Options{MaxAge: DefaultMaxAge, Path: "/", HTTPOnly: true, SameSite: "Lax"}
	cv, ok := f["cookie"]
	if !ok {
		return errorf("sticky.cookie", "required: the cookie name")
	}
	if o.Cookie, err = str(cv, "sticky.cookie"); err != nil {
		return err
	}
	if !rules.ValidToken(o.Cookie) {
		return errorf("sticky.cookie", "%q is not a valid cookie name", o.Cookie)
	}
	if mv, ok := f["max_age"]; ok {
		if o.MaxAge, err = integer(mv, "sticky.max_age", 1, 400*86400); err != nil {
			return err
		}
	}
	for _, k := range []struct {
		key string
		dst *string
	}{{"path", &o.Path}, {"domain", &o.Domain}} {
		if sv, ok := f[k.key]; ok {
			s, err := str(sv, "sticky."+k.key)
			if err != nil {
				return err
			}
			if strings.ContainsAny(s, ";,\r\n\x00 ") {
				return errorf("sticky."+k.key, "must not contain ';', ',', spaces or control characters")
			}
			*k.dst = s
		}
	}
	for _, k := range []struct {
		key string
		dst *bool
	}{{"secure", &o.Secure}, {"http_only", &o.HTTPOnly}} {
		if bv, ok := f[k.key]; ok {
			if *k.dst, err = boolean(bv, "sticky."+k.key); err != nil {
				return err
			}
		}
	}
	if sv, ok := f["same_site"]; ok {
		s, err := str(sv, "sticky.same_site")
		if err != nil {
			return err
		}
		switch strings.ToLower(s) {
		case "strict":
			o.SameSite = "Strict"
		case "lax":
			o.SameSite = "Lax"
		case "none":
			if !o.Secure {
				return errorf("sticky.same_site", "None requires secure: true (browsers drop it otherwise)")
			}
			o.SameSite = "None"
		default:
			return errorf("sticky.same_site", "must be \"Strict\", \"Lax\" or \"None\", got %q", s)
		}
	}
	if sv, ok := f["secret"]; ok {
		s, err := str(sv, "sticky.secret")
		if err != nil {
			return err
		}
		if len(s) < sticky.MinSecret {
			return errorf("sticky.secret", "must be at least %d bytes, got %d", sticky.MinSecret, len(s))
		}
		o.Secret = []byte(s)
	}
	if lv, ok := f["lanes"]; ok {
		if o.Lanes, err = p.laneList(lv, "sticky.lanes"); err != nil {
			return err
		}
	} else {
		for l := 1; l < p.cfg.Lanes.Len(); l++ {
			o.Lanes = append(o.Lanes, l)
		}
	}
	p.cfg.Sticky = sticky.New(o, p.cfg.Lanes)
	p.cfg.StickyCookieID = p.cfg.Index.AddCookie(o.Cookie)
	return nil
}

var keyKinds = map[string]KeyKind{
	"traceparent":   KeyTraceparent,
	"x-request-id":  KeyRequestID,
	"b3":            KeyB3,
	"x-b3-traceid":  KeyB3TraceID,
	"uber-trace-id": KeyUber,
	"sw8":           KeySW8,
}

func (p *parser) parsePropagation(v gjson.Result) error {
	f, err := fields(v, "propagation", "keys", "ttl", "slots", "ways", "baggage")
	if err != nil {
		return err
	}
	pr := &Propagation{TTL: DefaultTTL, Slots: DefaultSlots, Ways: 1}
	names := []string{"traceparent", "x-request-id"}
	if kv, ok := f["keys"]; ok {
		items, err := array(kv, "propagation.keys")
		if err != nil {
			return err
		}
		if len(items) == 0 {
			return errorf("propagation.keys", "must not be empty")
		}
		names = names[:0]
		for i, it := range items {
			s, err := str(it, index("propagation.keys", i))
			if err != nil {
				return err
			}
			names = append(names, s)
		}
	}
	seen := map[string]bool{}
	for i, n := range names {
		kp := index("propagation.keys", i)
		k := Key{Header: n}
		if kind, ok := keyKinds[n]; ok {
			k.Kind = kind
		} else if h, ok := strings.CutPrefix(n, "header:"); ok {
			k.Kind = KeyHeader
			k.Header = strings.ToLower(h)
			if !rules.ValidToken(k.Header) {
				return errorf(kp, "%q is not a valid header name", h)
			}
		} else {
			return errorf(kp, "unknown key %q: use traceparent, x-request-id, b3, x-b3-traceid, uber-trace-id, sw8 or header:NAME", n)
		}
		if seen[k.Header] {
			return errorf(kp, "duplicate key %q", n)
		}
		seen[k.Header] = true
		if k.Header == p.cfg.LaneHeader {
			return errorf(kp, "the lane header cannot be a correlation id")
		}
		k.HeaderID = p.cfg.Index.Add(k.Header)
		pr.Keys = append(pr.Keys, k)
	}
	if tv, ok := f["ttl"]; ok {
		if pr.TTL, err = integer(tv, "propagation.ttl", 1, 86400); err != nil {
			return err
		}
	}
	if sv, ok := f["slots"]; ok {
		if pr.Slots, err = integer(sv, "propagation.slots", 1, MaxSlots); err != nil {
			return err
		}
	}
	if wv, ok := f["ways"]; ok {
		if pr.Ways, err = integer(wv, "propagation.ways", 1, MaxWays); err != nil {
			return err
		}
	}
	if bv, ok := f["baggage"]; ok {
		if pr.Baggage, err = str(bv, "propagation.baggage"); err != nil {
			return err
		}
		if !rules.ValidToken(pr.Baggage) {
			return errorf("propagation.baggage", "%q is not a valid baggage member name", pr.Baggage)
		}
	}
	pr.BaggageID = p.cfg.Index.Add("baggage")
	p.cfg.Propagation = pr
	return nil
}

func (p *parser) parseFallback(v gjson.Result) error {
	f, err := fields(v, "fallback", "route_header", "services", "parents")
	if err != nil {
		return err
	}
	lanes := p.cfg.Lanes
	fb := &Fallback{}
	if rv, ok := f["route_header"]; ok {
		if p.cfg.RouteHeader, err = headerName(rv, "fallback.route_header"); err != nil {
			return err
		}
	}

	parents := make([]int, lanes.Len())
	for i := range parents {
		parents[i] = lane.None
	}
	if pv, ok := f["parents"]; ok {
		ks, vs, err := entries(pv, "fallback.parents")
		if err != nil {
			return err
		}
		for i, k := range ks {
			kp := join("fallback.parents", k)
			child, ok := lanes.Lookup(k)
			if !ok {
				return errorf(kp, "%q is not a configured lane", k)
			}
			if child == lane.Default {
				return errorf(kp, "the default lane has no parent: chains end there")
			}
			par, err := p.laneRef(vs[i], kp)
			if err != nil {
				return err
			}
			parents[child] = par
		}
		// Walk each chain; a chain longer than the number of lanes has a cycle.
		for _, k := range ks {
			start, _ := lanes.Lookup(k)
			l := start
			for steps := 0; l != lane.None && l != lane.Default; steps++ {
				if steps > lanes.Len() {
					return errorf(join("fallback.parents", k), "parent chain has a cycle")
				}
				l = parents[l]
			}
		}
	}
	services := map[string][]int{}
	if sv, ok := f["services"]; ok {
		ks, vs, err := entries(sv, "fallback.services")
		if err != nil {
			return err
		}
		for i, k := range ks {
			kp := join("fallback.services", k)
			key := strings.ToLower(k)
			if _, err := rules.NewHosts([]string{key}); err != nil || strings.HasPrefix(key, "*") {
				return errorf(kp, "%q is not a host name or service name", k)
			}
			if _, dup := services[key]; dup {
				return errorf(kp, "duplicate service (names are case-insensitive)")
			}
			if services[key], err = p.laneList(vs[i], kp); err != nil {
				return err
			}
		}
	}
	fb.Table = fallback.New(services, parents, lanes)
	p.cfg.Fallback = fb
	return nil
}
