package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"net/textproto"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/proxytest"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"
	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"

	"github.com/lanedye/lanedye/internal/testfixture"
)

// The differential check: the decision `lanedye explain --json` prints is
// the built gateway module's. Requests generated from a seeded RNG go
// through the command (in-process: run, as main calls it, with the flags a
// user would type) and through build/lanedye-gateway.wasm in the SDK's
// wazero host emulator, and lane, source, rule, route lane and Set-Cookie
// must be identical, Set-Cookie byte for byte.
//
// The clock. In the emulator the module reads wazero's default walltime, a
// fake clock that starts at 2022-01-01T00:00:00Z and moves on by a
// millisecond per reading, so the module's second moves on every thousand
// or so readings; nobody can set it. Explain takes --now. The test gives
// explain the very second the module decided at, learned rather than
// guessed: every request is sent between two clock probes, requests that a
// rule of their own (probeRule, added to each signed configuration at the
// highest priority, sent by no generated request) dyes into a sticky lane,
// so the module answers each probe with a signed Set-Cookie whose exp less
// its Max-Age is the module's now (Max-Age is exp - now, docs/contract.md,
// Sticky cookie). The module's clock never goes back, so when both probes
// read the same second the request between them was decided at that second,
// and explain gets exactly it; when they differ (the second turned over)
// the request is sent again between two new probes. Set-Cookie is then
// compared whole: value, exp, signature, Max-Age and attributes, nothing
// normalised. Without sticky keys (explain-unsigned.json) nothing the
// gateway decides or writes depends on the clock (unsigned values carry no
// expiry, are never renewed, and their Set-Cookie carries max_age), so
// explain gets an arbitrary --now there.
//
// What the emulator cannot show: it removes one occurrence of a header per
// call where Envoy removes every one (plugin/plugintest, Do), so a lane
// header sent twice leaves the request with a garbled one, and so would a
// route header sent twice. The lane is therefore read from the module's
// debug header (and checked against the lane header when the client sent
// at most one), and no request carries the route header twice; a header
// sent twice is tested in bench/wasmhost and in Envoy.

// corpusRequest is one generated request, as explain's flags and as the
// header list Envoy would hand the module.
type corpusRequest struct {
	host, path, method string
	// headers are the headers after the pseudo-headers, lower-case names,
	// in order; cookie headers among them are -H flags to explain.
	headers [][2]string
	// cookies are explain's --cookie flags, sent last as one cookie header.
	cookies []string
	// sourceIP is explain's --source-ip; source.address is "" (absent) or
	// what Envoy would put there.
	sourceIP, address string
	// titleCase writes explain's -H names in canonical MIME case (explain
	// lower-cases them, as Envoy does).
	titleCase bool
	// kinds names the sticky values sent, value -> kind, for the tally.
	kinds map[string]string
	tags  []string
}

func (c *corpusRequest) args(file string, now int64) []string {
	a := []string{"explain", "-f", file, "--json", "--now", strconv.FormatInt(now, 10),
		"--host", c.host, "--path", c.path, "--method", c.method}
	if c.sourceIP != "" {
		a = append(a, "--source-ip", c.sourceIP)
	}
	for _, h := range c.headers {
		name := h[0]
		if c.titleCase {
			name = textproto.CanonicalMIMEHeaderKey(name)
		}
		a = append(a, "-H", name+": "+h[1])
	}
	for _, k := range c.cookies {
		a = append(a, "--cookie", k)
	}
	return a
}

func (c *corpusRequest) list() [][2]string {
	hs := [][2]string{{":authority", c.host}, {":path", c.path}, {":method", c.method}, {":scheme", "https"}}
	hs = append(hs, c.headers...)
	if len(c.cookies) > 0 {
		hs = append(hs, [2]string{"cookie", strings.Join(c.cookies, "; ")})
	}
	return hs
}

// count is how often the request carries header name.
func (c *corpusRequest) count(name string) int {
	n := 0
	for _, h := range c.headers {
		if h[0] == name {
			n++
		}
	}
	return n
}

// verdict is what both sides must agree on; "" stands for null.
type verdict struct{ lane, source, rule, route, setCookie string }

// explainJSON is the part of `explain --json` the check reads.
type explainJSON struct {
	Lane      string  `json:"lane"`
	Source    string  `json:"source"`
	Rule      *string `json:"rule"`
	Route     *string `json:"route"`
	SetCookie *string `json:"set_cookie"`
	Cookie    *struct {
		Value string `json:"value"`
	} `json:"cookie"`
}

// shownPerConfig is how many disagreements a configuration shows in full.
const shownPerConfig = 5

// The clock probe (see the top of the file).
const (
	probeHeader = "x-lanedye-clock-probe"
	probeRule   = "clock-probe"
)

// spec is a header or cookie sent to p percent of the requests, with one
// of values.
type spec struct {
	p      int
	name   string
	values []string
}

// diffConfig is a configuration under test and what its requests are made
// of.
type diffConfig struct {
	name  string
	json  []byte
	seed  uint64
	n     int // requests with a source address, and as many without
	hosts []string
	paths []string
	// headers and cookies the rules read; sticky values come on top.
	headers, cookies []spec

	// From the configuration.
	laneHeader, routeHeader string
	lanes                   []string // configured, the default lane first
	stickyName              string
	sticky                  []string // lanes that get a cookie
	keys                    []string // sticky keys, the signing one first
	maxAge                  int64
}

// load fills in what the configuration says and adds the clock probe rule
// to a signed one.
func (dc *diffConfig) load(t *testing.T, cfg []byte) {
	t.Helper()
	g := func(p string) gjson.Result { return gjson.GetBytes(cfg, p) }
	dc.laneHeader = strings.ToLower(or(g("lane_header").String(), "x-swimlane"))
	dc.routeHeader = strings.ToLower(or(g("fallback.route_header").String(), "x-lane-route"))
	def := or(g("default_lane").String(), "base")
	dc.lanes = []string{def}
	for _, l := range g("lanes").Array() {
		dc.lanes = append(dc.lanes, l.String())
	}
	dc.stickyName = g("sticky.cookie").String()
	dc.maxAge = g("sticky.max_age").Int()
	if dc.maxAge == 0 {
		dc.maxAge = 86400
	}
	if s := g("sticky.secret"); s.IsArray() {
		for _, k := range s.Array() {
			dc.keys = append(dc.keys, k.String())
		}
	} else if s.Exists() {
		dc.keys = []string{s.String()}
	}
	if s := g("sticky.lanes"); s.Exists() {
		for _, l := range s.Array() {
			dc.sticky = append(dc.sticky, l.String())
		}
	} else {
		dc.sticky = dc.lanes[1:]
	}
	if dc.stickyName == "" || len(dc.sticky) == 0 {
		t.Fatalf("%s: the check needs a sticky cookie with a lane", dc.name)
	}
	var err error
	dc.json = cfg
	if dc.json, err = sjson.SetBytes(dc.json, "debug", true); err != nil {
		t.Fatal(err)
	}
	if len(dc.keys) > 0 {
		probe := fmt.Sprintf(`{"name":%q,"lane":%q,"priority":1000000,"match":[{"headers":{%q:{"present":true}}}]}`,
			probeRule, dc.sticky[0], probeHeader)
		if dc.json, err = sjson.SetRawBytes(dc.json, "rules.-1", []byte(probe)); err != nil {
			t.Fatal(err)
		}
	}
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// TestExplainAgreesWithTheModule runs the differential check on four
// configurations: the shipped gateway (trust by source_ip, IPv4 and IPv6),
// testdata/explain-corpus.json (lane_from, trust by header, source_ip
// rules, percentages, two keys, fallback parents), explain-sources.json
// (source_ip in trust and rules with IPv4, IPv6 and IPv4-mapped blocks,
// case-sensitive and case-folding method conditions, a lane with a dot,
// wildcard and IPv6-literal hosts, custom lane and route headers, a short
// max_age) and explain-unsigned.json (unsigned cookies, every client
// trusted, no fallback).
func TestExplainAgreesWithTheModule(t *testing.T) {
	start := time.Now()
	wasm, err := os.ReadFile(wasmPath())
	if err != nil {
		t.Fatalf("the wasm artifact is required (run make build): %v", err)
	}
	vm, err := proxytest.NewWasmVMContext(wasm)
	if err != nil {
		t.Fatal(err)
	}
	shipped, err := testfixture.ShippedGatewayConfig(repo("."))
	if err != nil {
		t.Fatal(err)
	}
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	configs := []struct {
		dc  diffConfig
		cfg []byte
	}{
		{shippedConfig(), shipped},
		{corpusConfig(), read("explain-corpus.json")},
		{sourcesConfig(), read("explain-sources.json")},
		{unsignedConfig(), read("explain-unsigned.json")},
	}
	d := &differ{vm: vm, seen: map[string]int{}}
	for i := range configs {
		dc := &configs[i].dc
		t.Run(dc.name, func(t *testing.T) {
			dc.load(t, configs[i].cfg)
			file := filepath.Join(t.TempDir(), "config.json")
			if err := os.WriteFile(file, dc.json, 0o644); err != nil {
				t.Fatal(err)
			}
			rnd := rand.New(rand.NewPCG(dc.seed, 0x1a4ed7e))
			compared, disagreements := d.compared, d.disagreements
			d.shown = 0
			d.phase(t, dc, file, rnd, true)
			d.phase(t, dc, file, rnd, false)
			if n := d.disagreements - disagreements; n > 0 {
				t.Errorf("%s: explain and the module disagree on %d of %d requests (the first %d shown)",
					dc.name, n, d.compared-compared, min(n, shownPerConfig))
			}
		})
	}
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(d.seen)) {
		fmt.Fprintf(&b, "\n  %-52s %5d", k, d.seen[k])
	}
	t.Logf("%d requests compared, %d disagreements, %d resent over a clock tick, in %v; tally:%s",
		d.compared, d.disagreements, d.resent, time.Since(start).Round(time.Millisecond), b.String())
	if d.disagreements > 0 {
		t.Errorf("%d disagreements", d.disagreements)
	}
	if d.compared < 1000 {
		t.Errorf("only %d requests compared", d.compared)
	}
	// What the requests must have reached, not only contained.
	for _, k := range []string{
		"source=header", "source=cookie", "source=rule", "source=default",
		"source=header from v4", "source=header from v6", "source=header from mapped",
		"source=rule from v4", "source=rule from v6", "source=rule from mapped",
		"rule=mapped from v4", "rule=mapped from mapped", "rule=office-v6", "rule=lab-get", "rule=purge", "rule=get-only",
		"method get on /m/: get-only did not hold",
		"cookie decided: current key", "cookie decided: rotated key", "cookie decided: issued by the module",
		"cookie decided: unsigned", "cookie renewed",
		"cookie decided after stale values", "cookie decided at the 16th value", "valid 17th+ value ignored",
		"set-cookie issued", "route=gray", "route=base", "route=canary",
	} {
		if d.seen[k] < 3 {
			t.Errorf("the requests reached %q only %d times", k, d.seen[k])
		}
	}
}

// differ runs requests through both sides and keeps the score.
type differ struct {
	vm                               types.VMContext
	compared, disagreements, resent  int
	shown                            int // disagreements shown for this configuration
	seen                             map[string]int
	host                             proxytest.HostEmulator
	issued                           []string // sticky values the module issued, for this configuration
	laneHeader, routeHeader, address string
}

// phase starts the module with dc and compares dc.n requests, each from a
// source address (IPv4, IPv6 or IPv4-mapped), or from none: source.address
// is then absent for the whole phase, as the emulator cannot remove a
// property.
func (d *differ) phase(t *testing.T, dc *diffConfig, file string, rnd *rand.Rand, withAddress bool) {
	t.Helper()
	opt := proxytest.NewEmulatorOption().WithVMContext(d.vm).WithPluginConfiguration(dc.json)
	host, reset := proxytest.NewHostEmulator(opt)
	defer reset()
	if host.StartVM() != types.OnVMStartStatusOK || host.StartPlugin() != types.OnPluginStartStatusOK {
		t.Fatalf("the module did not start: %q", host.GetCriticalLogs())
	}
	d.host, d.laneHeader, d.routeHeader, d.issued, d.address = host, dc.laneHeader, dc.routeHeader, nil, ""
	signed := len(dc.keys) > 0
	// Unsigned: nothing depends on the clock (see the top of the file).
	now := int64(1_640_995_200)
	if signed {
		now = d.probe(t)
	}
	for i := 0; i < dc.n; i++ {
		q := dc.request(rnd, now, d.issued)
		if withAddress {
			q.sourceIP, q.address = pickAddress(rnd)
		}
		var mod verdict
		var modLane string
		for try := 0; ; try++ {
			d.setAddress(t, q.address)
			mod, modLane = d.module(t, q.list())
			if !signed {
				break
			}
			after := d.probe(t)
			if after == now {
				break
			}
			now = after
			d.resent++
			if try == 3 {
				t.Fatalf("the module's clock moved on between every pair of probes")
			}
		}
		d.compare(t, file, &q, now, mod, modLane)
	}
}

// setAddress sets source.address, or leaves it absent.
func (d *differ) setAddress(t *testing.T, address string) {
	t.Helper()
	if address == "" || address == d.address {
		return
	}
	// The emulator keeps the slice: a fresh one each time.
	if err := d.host.SetProperty([]string{"source", "address"}, []byte(address)); err != nil {
		t.Fatal(err)
	}
	d.address = address
}

// probe sends a clock probe and returns the second the module decided it
// at.
func (d *differ) probe(t *testing.T) int64 {
	t.Helper()
	v, _ := d.module(t, [][2]string{{":authority", "clock.probe"}, {":path", "/"}, {":method", "GET"}, {":scheme", "https"}, {probeHeader, "1"}})
	if v.rule != probeRule || v.setCookie == "" {
		t.Fatalf("the clock probe was decided %+v", v)
	}
	return cookieNow(t, v.setCookie)
}

// module sends headers through the module and reads its decision: lane,
// source and rule from the debug header, the route lane from the route
// header, the Set-Cookie it added. modLane is the lane header it left.
func (d *differ) module(t *testing.T, hs [][2]string) (v verdict, modLane string) {
	t.Helper()
	id := d.host.InitializeHttpContext()
	if a := d.host.CallOnRequestHeaders(id, hs, false); a != types.ActionContinue {
		t.Fatalf("request headers: action %v", a)
	}
	for _, h := range d.host.GetCurrentRequestHeaders(id) {
		switch h[0] {
		case d.laneHeader:
			modLane = h[1]
		case d.routeHeader:
			v.route = h[1]
		}
	}
	if a := d.host.CallOnResponseHeaders(id, [][2]string{{":status", "200"}}, false); a != types.ActionContinue {
		t.Fatalf("response headers: action %v", a)
	}
	for _, h := range d.host.GetCurrentResponseHeaders(id) {
		switch h[0] {
		case "x-lanedye-decision":
			for part := range strings.SplitSeq(h[1], "; ") {
				k, val, _ := strings.Cut(part, "=")
				switch k {
				case "lane":
					v.lane = val
				case "source":
					v.source = val
				case "rule":
					v.rule = val
				}
			}
		case "set-cookie":
			if v.setCookie != "" {
				t.Fatalf("two Set-Cookie headers: %q, %q", v.setCookie, h[1])
			}
			v.setCookie = h[1]
		}
	}
	d.host.CompleteHttpContext(id)
	return v, modLane
}

// compare asks explain about q at now and holds it to the module's verdict.
func (d *differ) compare(t *testing.T, file string, q *corpusRequest, now int64, mod verdict, modLane string) {
	t.Helper()
	d.compared++
	args := q.args(file, now)
	out, errs, code := lanedye(t, "", args...)
	if code != 0 {
		t.Fatalf("explain %q: exit %d: %s", args, code, errs)
	}
	var res explainJSON
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("explain %q: %v\n%s", args, err, out)
	}
	ex := verdict{res.Lane, res.Source, deref(res.Rule), deref(res.Route), deref(res.SetCookie)}
	bad := ex != mod
	// The lane header the module wrote, where the emulator can show it.
	if q.count(d.laneHeader) <= 1 && modLane != mod.lane {
		bad = true
	}
	if bad {
		d.disagreements++
		if d.shown++; d.shown <= shownPerConfig {
			t.Errorf("explain and the module disagree on %q\nmodule headers %q, source.address %q\nexplain %+v\nmodule  %+v (lane header %q)",
				args, q.list(), q.address, ex, mod, modLane)
		}
	}
	d.tally(q, &res, mod)
	if mod.setCookie != "" {
		value, _, _ := strings.Cut(mod.setCookie, ";")
		_, value, _ = strings.Cut(value, "=")
		d.issued = append(d.issued, value)
	}
}

// tally counts what the request reached.
func (d *differ) tally(q *corpusRequest, res *explainJSON, mod verdict) {
	seen := d.seen
	from := addressKind(q.sourceIP)
	seen["source="+mod.source]++
	seen["source="+mod.source+" from "+from]++
	seen["route="+or(mod.route, "(none)")]++
	if mod.rule != "" {
		seen["rule="+mod.rule]++
		seen["rule="+mod.rule+" from "+from]++
	}
	if mod.setCookie != "" {
		seen["set-cookie issued"]++
	}
	for _, tag := range q.tags {
		seen["sent: "+tag]++
	}
	if q.method != "GET" && strings.EqualFold(q.method, "GET") && strings.HasPrefix(q.path, "/m/") && mod.source == "default" {
		seen["method get on /m/: get-only did not hold"]++
	}
	if mod.source == "cookie" && res.Cookie != nil {
		seen["cookie decided: "+q.kinds[res.Cookie.Value]]++
		if mod.setCookie != "" {
			seen["cookie renewed"]++
		}
		for _, tag := range q.tags {
			switch tag {
			case "stale values before a valid one":
				seen["cookie decided after stale values"]++
			case "valid value at 16":
				seen["cookie decided at the 16th value"]++
			}
		}
	}
	for _, tag := range q.tags {
		if tag == "valid value at 17+" && (mod.source == "rule" || mod.source == "default") {
			seen["valid 17th+ value ignored"]++
		}
	}
}

func addressKind(ip string) string {
	switch {
	case ip == "":
		return "none"
	case strings.HasPrefix(ip, "::ffff:"):
		return "mapped"
	case strings.Contains(ip, ":"):
		return "v6"
	}
	return "v4"
}

// pickAddress returns a downstream address as explain's --source-ip and as
// Envoy's source.address.
func pickAddress(r *rand.Rand) (ip, address string) {
	v4 := []string{"10.8.3.4", "10.9.0.1", "10.1.2.3", "192.0.2.44", "192.0.2.9", "203.0.113.5", "198.51.100.7", "172.20.1.1", "8.8.8.8"}
	v6 := []string{"fd00:8::1", "fd00:8:0:1::2", "fd00:1::5", "fd12::1", "2001:db8::7", "::1", "fe80::1", "2a00:1450::200e"}
	port := strconv.Itoa(1024 + r.IntN(60000))
	switch n := r.IntN(10); {
	case n < 4:
		ip = pick(r, v4...)
		return ip, ip + ":" + port
	case n < 7:
		ip = pick(r, v6...)
	default:
		ip = "::ffff:" + pick(r, v4...)
	}
	return ip, "[" + ip + "]:" + port
}

// cookieNow is the time a signed Set-Cookie was issued at: its expiry
// (<lane>.<exp>.<sig>) less its Max-Age.
func cookieNow(t *testing.T, setCookie string) int64 {
	t.Helper()
	value, attrs, _ := strings.Cut(setCookie, ";")
	parts := strings.Split(value, ".")
	_, maxAge, _ := strings.Cut(attrs, "Max-Age=")
	maxAge, _, _ = strings.Cut(maxAge, ";")
	if len(parts) < 3 {
		t.Fatalf("cannot read the issue time of %q", setCookie)
	}
	exp, err1 := strconv.ParseInt(parts[len(parts)-2], 10, 64)
	age, err2 := strconv.ParseInt(maxAge, 10, 64)
	if err1 != nil || err2 != nil {
		t.Fatalf("cannot read the issue time of %q", setCookie)
	}
	return exp - age
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// wasmPath is the module under test, the gateway's; LANEDYE_GATEWAY_WASM
// overrides it.
func wasmPath() string {
	if p := os.Getenv("LANEDYE_GATEWAY_WASM"); p != "" {
		return p
	}
	return repo("build/lanedye-gateway.wasm")
}

func pick(r *rand.Rand, vs ...string) string { return vs[r.IntN(len(vs))] }

// Methods as clients send them: Envoy hands :method over unchanged, so
// lower-case and unusual ones reach the module as they are.
var methods = []string{"GET", "GET", "GET", "POST", "HEAD", "get", "Get", "post", "head", "PURGE", "purge", "OPTIONS", "DELETE", "PATCH", "M-SEARCH", "PROPFIND"}

// request generates a request for dc at the module's now; issued are
// values the module issued earlier.
func (dc *diffConfig) request(r *rand.Rand, now int64, issued []string) corpusRequest {
	q := corpusRequest{host: pick(r, dc.hosts...), path: pick(r, dc.paths...), method: pick(r, methods...),
		titleCase: r.IntN(100) < 30, kinds: map[string]string{}}
	for _, s := range dc.headers {
		if r.IntN(100) < s.p {
			q.headers = append(q.headers, [2]string{s.name, pick(r, s.values...)})
		}
	}
	// The lane header a client made up: a lane, the default one, a lane in
	// another case, no lane; now and then twice.
	spoof := append([]string{"Gray", "purple"}, dc.lanes...)
	if r.IntN(100) < 30 {
		q.headers = append(q.headers, [2]string{dc.laneHeader, pick(r, spoof...)})
		q.tags = append(q.tags, "lane header")
		if r.IntN(100) < 15 {
			q.headers = append(q.headers, [2]string{dc.laneHeader, pick(r, dc.lanes...)})
			q.tags = append(q.tags, "lane header twice")
		}
	}
	if r.IntN(100) < 15 {
		q.headers = append(q.headers, [2]string{dc.routeHeader, pick(r, append([]string{"nope"}, dc.lanes...)...)})
		q.tags = append(q.tags, "route header")
	}
	for range r.IntN(3) * r.IntN(2) {
		q.headers = append(q.headers, [2]string{"baggage", pick(r,
			"lane="+pick(r, dc.lanes...), "other=1", "a=1,lane=gray;p=1,b=2", "lane=%67ray", "k=v;prop, lane=canary", "lane", ",,", "lane=purple")})
		q.tags = append(q.tags, "baggage")
	}
	r.Shuffle(len(q.headers), func(i, j int) { q.headers[i], q.headers[j] = q.headers[j], q.headers[i] })
	// The sticky values in their order, other cookies anywhere among them.
	var cookies []string
	for _, v := range dc.stickyValues(r, now, issued, &q) {
		cookies = append(cookies, dc.stickyName+"="+v)
	}
	for _, s := range dc.cookies {
		if r.IntN(100) < s.p {
			at := r.IntN(len(cookies) + 1)
			cookies = slices.Insert(cookies, at, s.name+"="+pick(r, s.values...))
		}
	}
	// HTTP/2 splits cookies into several headers: all but the last group
	// go as -H 'cookie: ...', the last as --cookie flags.
	for len(cookies) > 1 && r.IntN(100) < 25 {
		n := 1 + r.IntN(len(cookies)-1)
		q.headers = append(q.headers, [2]string{"cookie", strings.Join(cookies[:n], "; ")})
		cookies = cookies[n:]
		q.tags = append(q.tags, "split cookie header")
	}
	q.cookies = cookies
	return q
}

// stickyValues returns the values of the sticky cookie a request sends:
// none, one of any kind, stale values before a valid one, several of any
// kind, or more than 16 with a valid one at the 16th place or later.
func (dc *diffConfig) stickyValues(r *rand.Rand, now int64, issued []string, q *corpusRequest) []string {
	var vs []string
	add := func(kind string) {
		v := dc.stickyValue(r, now, issued, kind)
		vs = append(vs, v)
		if _, ok := q.kinds[v]; !ok {
			q.kinds[v] = kind
		}
		q.tags = append(q.tags, "sticky value: "+kind)
	}
	valid, invalid := dc.validKinds(), dc.invalidKinds()
	all := append(append([]string(nil), valid...), invalid...)
	switch n := r.IntN(100); {
	case n < 40:
	case n < 65:
		add(pick(r, all...))
	case n < 75:
		q.tags = append(q.tags, "stale values before a valid one")
		for range 1 + r.IntN(4) {
			add(pick(r, invalid...))
		}
		add(pick(r, valid...))
		for range r.IntN(3) {
			add(pick(r, all...))
		}
	case n < 85:
		for range 2 + r.IntN(5) {
			add(pick(r, all...))
		}
	default:
		at := pick16(r) // the valid value's place, 1-based
		if at == 16 {
			q.tags = append(q.tags, "valid value at 16")
		} else {
			q.tags = append(q.tags, "valid value at 17+")
		}
		for range at - 1 {
			add(pick(r, invalid...))
		}
		add(pick(r, valid...))
		for range r.IntN(4) {
			add(pick(r, all...))
		}
	}
	return vs
}

// pick16 is where the valid value goes among many: the 16th place, the
// last looked at, or just past it.
func pick16(r *rand.Rand) int {
	switch n := r.IntN(10); {
	case n < 4:
		return 16
	case n < 8:
		return 17
	}
	return 18 + r.IntN(5)
}

func (dc *diffConfig) validKinds() []string {
	if len(dc.keys) == 0 {
		return []string{"unsigned"}
	}
	k := []string{"current key", "current key", "issued by the module", "current key, renew", "current key, at the slack's end"}
	if len(dc.keys) > 1 {
		k = append(k, "rotated key", "rotated key, renew")
	}
	return k
}

func (dc *diffConfig) invalidKinds() []string {
	k := []string{"unlisted key", "forged signature", "truncated signature", "expired", "expiring now",
		"beyond max_age+3600", "far future", "lane not sticky", "unknown lane", "two-part", "garbage"}
	if len(dc.keys) > 0 {
		k = append(k, "unsigned")
	}
	return k
}

// stickyValue returns a value of the sticky cookie of the given kind at
// now, signed independently of the code under test.
func (dc *diffConfig) stickyValue(r *rand.Rand, now int64, issued []string, kind string) string {
	const unlisted = "a-key-no-configuration-lists"
	keys := dc.keys
	if len(keys) == 0 {
		keys = []string{unlisted}
	}
	current, rotated := keys[0], keys[len(keys)-1]
	lane := pick(r, dc.sticky...)
	slack := dc.maxAge + 3600
	valid := now + 1 + r.Int64N(slack) // now < exp <= now + max_age + 3600
	renew := now + 1 + r.Int64N(max(1, dc.maxAge/2-1))
	switch kind {
	case "unsigned":
		return lane
	case "current key":
		return sign(current, lane, valid)
	case "current key, renew":
		return sign(current, lane, renew)
	case "current key, at the slack's end":
		return sign(current, lane, now+slack)
	case "rotated key":
		return sign(rotated, lane, valid)
	case "rotated key, renew":
		return sign(rotated, lane, renew)
	case "issued by the module":
		if len(issued) == 0 {
			return sign(current, lane, valid)
		}
		return issued[r.IntN(len(issued))]
	case "unlisted key":
		return sign(unlisted, lane, valid)
	case "forged signature":
		v := sign(current, lane, valid)
		return v[:len(v)-4] + pick(r, "AAAA", "____", "abcd")
	case "truncated signature":
		v := sign(current, lane, valid)
		return v[:len(v)-1-r.IntN(4)]
	case "expired":
		return sign(current, lane, now-1-r.Int64N(2*dc.maxAge))
	case "expiring now":
		return sign(current, lane, now)
	case "beyond max_age+3600":
		return sign(current, lane, now+slack+1+r.Int64N(3))
	case "far future":
		return sign(current, lane, now+slack+1+r.Int64N(100*dc.maxAge))
	case "lane not sticky":
		return sign(current, pick(r, dc.notSticky()...), valid)
	case "unknown lane":
		return sign(current, pick(r, "purple", "Gray", "gray.", ""), valid)
	case "two-part":
		v := sign(current, lane, valid)
		return lane + "." + v[strings.LastIndexByte(v, '.')+1:]
	case "garbage":
		return pick(r, "", "..", lane+".", lane+"..", lane+".99999999999999.x", lane+".+"+strconv.FormatInt(valid, 10)+".x", "%67ray")
	}
	panic("unknown kind " + kind)
}

// notSticky returns the configured lanes that get no cookie.
func (dc *diffConfig) notSticky() []string {
	var out []string
	for _, l := range dc.lanes {
		sticky := false
		for _, s := range dc.sticky {
			sticky = sticky || s == l
		}
		if !sticky {
			out = append(out, l)
		}
	}
	return out
}

// sign is the contract's signed value (docs/contract.md, Sticky cookie),
// computed without the sticky package.
func sign(key, lane string, exp int64) string {
	payload := lane + "." + strconv.FormatInt(exp, 10)
	m := hmac.New(sha256.New, []byte(key))
	m.Write([]byte(payload))
	return payload + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// shippedConfig is deploy/'s gateway: rules on headers of the seed
// application, trust by source_ip (IPv4 and IPv6), one key, a week's
// max_age.
func shippedConfig() diffConfig {
	return diffConfig{
		name: "shipped gateway", seed: 1, n: 160,
		hosts: []string{"myapp.example.com", "myapp.example.com:443", "MyApp.Example.com", "myapp.example.com.", "other.example.com", "a.myapp.example.com"},
		paths: []string{"/", "/api/orders?page=2", "/api/orders?x-user-id=12340", "/static/app.js"},
		headers: []spec{
			{40, "x-user-id", []string{"12340", "12345", "70001", "99992", "5"}},
			{15, "x-gray-tag", []string{"internal-test", "other", "Internal-Test"}},
			{15, "x-gray-token", []string{"secret-12345", "wrong"}},
			{15, "x-user-region", []string{"beijing", "shanghai", "Beijing"}},
			{15, "x-app-platform", []string{"ios", "android", "iOS"}},
			{15, "x-app-version", []string{"3.2.1", "13.0", "3."}},
			{10, "user-agent", []string{"Mozilla/5.0", "curl/8.5.0"}},
		},
		cookies: []spec{{20, "session-id", []string{"s1", "s42", "s77"}}},
	}
}

// corpusConfig is testdata/explain-corpus.json.
func corpusConfig() diffConfig {
	return diffConfig{
		name: "corpus", seed: 2, n: 200,
		hosts: []string{"shop.example.com", "shop", "SHOP.example.com:8443", "a.dev.example.com", "api.dev.example.com",
			"API.DEV.EXAMPLE.COM:80", "dev.example.com", "payment", "payment.:8080", "other.example.org"},
		paths: []string{"/", "/api/orders", "/api/x?lane=gray", "/?lane=dev-a&x=1", "/web?lane=purple", "/api/v1?lane=canary&force",
			"/?force=1", "/?lane=%67ray", "/?lane=gray&lane=canary", "/?Lane=gray", "/api/#frag?lane=gray"},
		headers: []spec{
			{30, "x-env", []string{"dev-a", "canary", "nope", "Dev-A"}},
			{15, "x-gray-tag", []string{"internal", "x"}},
			{15, "x-gray-token", []string{"t0ken", "guess"}},
			{15, "x-app-platform", []string{"iOS", "ios", "android"}},
			{15, "x-app-version", []string{"3.0", "30.1"}},
			{50, "user-agent", []string{"Mozilla/5.0", "Googlebot/2.1", "my-CRAWLER"}},
			{40, "x-user-id", []string{"7", "12345", "31337", "80008", "424242"}},
			{30, "x-internal-token", []string{"s3cret", "guess"}},
		},
		cookies: []spec{{20, "beta", []string{"1"}}, {20, "uid", []string{"3", "77", "901"}}},
	}
}

// sourcesConfig is testdata/explain-sources.json.
func sourcesConfig() diffConfig {
	return diffConfig{
		name: "sources", seed: 3, n: 300,
		hosts: []string{"shop.example.com", "SHOP.EXAMPLE.COM", "shop.example.com:8443", "a.b.example.com", "example.com",
			"shop.example.com.", "[fd00::1]:8080", "[FD00::1]", "pay", "pay.prod", "pay.prod.svc.cluster.local:80", "api", "other.org"},
		paths: []string{"/", "/", "/cart", "/m/", "/m/orders?x=1", "/m/cart", "/M/orders", "/q?lane=gray", "/q/x?lane=dev.a",
			"/q?lane=dev%2Ea&x", "/query?lane=purple", "/?lane=gray"},
		headers: []spec{
			{20, "x-trust-token", []string{"let-me-in", "guess"}},
			{35, "x-user-group", []string{"beta", "Beta"}},
			{35, "x-app-version", []string{"2.1", "2.", "12.0"}},
			{40, "x-user-id", []string{"1", "2", "33", "404", "5005", "60006"}},
		},
		cookies: []spec{{20, "want-lane", []string{"gray", "dev.a", "canary", "Gray", "base"}}, {20, "uid", []string{"8", "9", "10"}}},
	}
}

// unsignedConfig is testdata/explain-unsigned.json.
func unsignedConfig() diffConfig {
	return diffConfig{
		name: "unsigned", seed: 4, n: 100,
		hosts:   []string{"localhost", "shop:80"},
		paths:   []string{"/", "/a?b=c"},
		cookies: []spec{{25, "beta", []string{"1", ""}}},
	}
}
