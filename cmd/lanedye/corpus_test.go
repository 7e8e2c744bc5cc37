package main

import (
	"encoding/json"
	"fmt"
	"github.com/lanedye/lanedye/internal/testfixture"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/proxytest"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"
	"github.com/tidwall/sjson"
)

// corpusRequest is one generated request, as explain's flags and as the
// header list Envoy would hand the module.
type corpusRequest struct {
	host, path, method, sourceIP string
	headers                      [][2]string
	cookies                      []string
}

func (c *corpusRequest) args(file string, now int64) []string {
	a := []string{"explain", "-f", file, "--json", "--now", strconv.FormatInt(now, 10),
		"--host", c.host, "--path", c.path, "--method", c.method}
	if c.sourceIP != "" {
		a = append(a, "--source-ip", c.sourceIP)
	}
	for _, h := range c.headers {
		a = append(a, "-H", h[0]+": "+h[1])
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

// verdict is what both sides must agree on.
type verdict struct{ lane, source, rule, route string }

// corpusConfig is a configuration under test and how to generate requests
// for it.
type corpusConfig struct {
	name    string
	json    []byte
	sources []string // downstream addresses; one module start each
	n       int      // requests per address
	gen     func(r *rand.Rand, cookies []string) corpusRequest
}

// The decision explain prints is the built module's: at least 200
// generated requests go through `lanedye explain --json` and through
// build/lanedye-gateway.wasm in the SDK's host emulator (debug header and request
// headers), and lane, source, rule and route lane must be the same.
func TestExplainAgreesWithTheModule(t *testing.T) {
	wasm, err := os.ReadFile(wasmPath())
	if err != nil {
		t.Fatalf("the wasm artifact is required (run make build): %v", err)
	}
	vm, err := proxytest.NewWasmVMContext(wasm)
	if err != nil {
		t.Fatal(err)
	}
	// The shipped gateway with its sticky key inline: the emulator gives the
	// module no environment for secret_env.
	shipped, err := testfixture.ShippedGatewayConfig(repo("."))
	if err != nil {
		t.Fatal(err)
	}
	withDebug, err := sjson.SetBytes(shipped, "debug", true)
	if err != nil {
		t.Fatal(err)
	}
	corpus, err := os.ReadFile(filepath.Join("testdata", "explain-corpus.json"))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	total := 0
	for _, cc := range []corpusConfig{
		{name: "shipped gateway", json: withDebug, sources: []string{""}, n: 120, gen: shippedRequest},
		{name: "corpus", json: corpus, sources: []string{"", "10.1.2.3", "192.0.2.7"}, n: 60, gen: corpusGen},
	} {
		t.Run(cc.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "config.json")
			if err := os.WriteFile(file, cc.json, 0o644); err != nil {
				t.Fatal(err)
			}
			for _, src := range cc.sources {
				total += compareCorpus(t, vm, file, cc, src, seen)
			}
		})
	}
	t.Logf("%d requests; decisions seen: %v", total, seen)
	if total < 200 {
		t.Errorf("only %d requests", total)
	}
	for _, k := range []string{"source=header", "source=cookie", "source=rule", "source=default", "route=gray", "route=dev-a", "route=base"} {
		if seen[k] < 3 {
			t.Errorf("the corpus exercised %s only %d times", k, seen[k])
		}
	}
}

// compareCorpus starts the module with cc's configuration and downstream
// address src, and compares explain with it on cc.n requests; it returns
// how many it compared.
func compareCorpus(t *testing.T, vm types.VMContext, file string, cc corpusConfig, src string, seen map[string]int) int {
	t.Helper()
	opt := proxytest.NewEmulatorOption().WithVMContext(vm).WithPluginConfiguration(cc.json)
	if src != "" {
		opt = opt.WithProperty([]string{"source", "address"}, []byte(src+":40123"))
	}
	host, reset := proxytest.NewHostEmulator(opt)
	defer reset()
	if host.StartVM() != types.OnVMStartStatusOK || host.StartPlugin() != types.OnPluginStartStatusOK {
		t.Fatalf("the module did not start: %q", host.GetCriticalLogs())
	}
	laneHeader, routeHeader := "x-swimlane", "x-lane-route"
	var now int64 // the module's clock, learned from its first Set-Cookie
	var cookies []string
	rnd := rand.New(rand.NewPCG(uint64(len(cc.name)), uint64(len(src))))
	compared := 0
	for i := 0; compared < cc.n; i++ {
		q := cc.gen(rnd, cookies)
		q.sourceIP = src
		mod, setCookie := moduleVerdict(t, host, q.list(), laneHeader, routeHeader)
		if now == 0 && setCookie != "" {
			now = cookieNow(t, setCookie)
		}
		if now == 0 {
			if i > 100 {
				t.Fatal("the module issued no cookie: its clock is unknown")
			}
			continue // not compared until the module's clock is known
		}
		compared++
		out, errs, code := lanedye(t, "", q.args(file, now)...)
		if code != 0 {
			t.Fatalf("request %d: explain exit %d: %s", i, code, errs)
		}
		var res struct{ Lane, Source, Rule, Route, SetCookie *string }
		if err := json.Unmarshal([]byte(strings.ReplaceAll(out, `"set_cookie"`, `"setcookie"`)), &res); err != nil {
			t.Fatalf("request %d: %v\n%s", i, err, out)
		}
		ex := verdict{deref(res.Lane), deref(res.Source), deref(res.Rule), deref(res.Route)}
		if ex != mod || (res.SetCookie != nil) != (setCookie != "") {
			t.Errorf("request %d %v:\nexplain %+v set-cookie %v\nmodule  %+v set-cookie %q", i, q.args(file, now), ex, res.SetCookie != nil, mod, setCookie)
		}
		seen["source="+mod.source]++
		seen["route="+mod.route]++
		seen["rule="+mod.rule]++
		if setCookie != "" {
			cookies = append(cookies, strings.SplitN(setCookie, ";", 2)[0])
		}
	}
	return compared
}

// moduleVerdict sends headers through the module and reads its decision:
// the lane and route headers it left on the request, source and rule from
// the debug header.
func moduleVerdict(t *testing.T, host proxytest.HostEmulator, hs [][2]string, laneHeader, routeHeader string) (verdict, string) {
	t.Helper()
	id := host.InitializeHttpContext()
	if a := host.CallOnRequestHeaders(id, hs, false); a != types.ActionContinue {
		t.Fatalf("request headers: action %v", a)
	}
	var v verdict
	for _, h := range host.GetCurrentRequestHeaders(id) {
		switch h[0] {
		case laneHeader:
			v.lane = h[1]
		case routeHeader:
			v.route = h[1]
		}
	}
	host.CallOnResponseHeaders(id, [][2]string{{":status", "200"}}, false)
	var setCookie string
	for _, h := range host.GetCurrentResponseHeaders(id) {
		switch h[0] {
		case "x-lanedye-decision":
			for _, part := range strings.Split(h[1], "; ") {
				k, val, _ := strings.Cut(part, "=")
				switch k {
				case "source":
					v.source = val
				case "rule":
					v.rule = val
				case "lane":
					if val != v.lane {
						t.Fatalf("debug lane %q, lane header %q", val, v.lane)
					}
				}
			}
		case "set-cookie":
			setCookie = h[1]
		}
	}
	host.CompleteHttpContext(id)
	return v, setCookie
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

// wasmPath is the module under test, the gateway's (the corpus is
// gateway requests); LANEDYE_GATEWAY_WASM overrides it.
func wasmPath() string {
	if p := os.Getenv("LANEDYE_GATEWAY_WASM"); p != "" {
		return p
	}
	return repo("build/lanedye-gateway.wasm")
}

func pick(r *rand.Rand, vs ...string) string { return vs[r.IntN(len(vs))] }

// shippedRequest is a request to the seed application of the shipped
// gateway configuration.
func shippedRequest(r *rand.Rand, cookies []string) corpusRequest {
	q := corpusRequest{host: pick(r, "myapp.example.com", "myapp.example.com:443", "MyApp.Example.com", "other.example.com"),
		path: pick(r, "/", "/api/orders?page=2"), method: pick(r, "GET", "POST")}
	add := func(p int, k string, vs ...string) {
		if r.IntN(100) < p {
			q.headers = append(q.headers, [2]string{k, pick(r, vs...)})
		}
	}
	add(40, "x-user-id", strconv.Itoa(10000+r.IntN(90000)), "12340", "12345")
	add(15, "x-gray-tag", "internal-test", "other")
	add(15, "x-gray-token", "secret-12345", "wrong")
	add(15, "x-user-region", "beijing", "shanghai")
	add(15, "x-app-platform", "ios", "android")
	add(15, "x-app-version", "3.2.1", "13.0")
	add(15, "x-swimlane", "gray", "base", "purple")
	if r.IntN(100) < 20 {
		q.cookies = append(q.cookies, "session-id=s"+strconv.Itoa(r.IntN(1000)))
	}
	q.cookies = append(q.cookies, stickyCookie(r, cookies, "x-sticky-version")...)
	return q
}

// corpusGen is a request for testdata/explain-corpus.json.
func corpusGen(r *rand.Rand, cookies []string) corpusRequest {
	q := corpusRequest{host: pick(r, "shop.example.com", "shop", "SHOP.example.com:8443", "a.dev.example.com", "api.dev.example.com", "api.dev.example.com", "payment", "other.example.org"),
		path:   pick(r, "/", "/api/orders", "/api/x?lane=gray", "/?lane=dev-a&x=1", "/web?lane=purple", "/api/v1?lane=canary&force", "/?force=1"),
		method: pick(r, "GET", "POST", "HEAD")}
	add := func(p int, k string, vs ...string) {
		if r.IntN(100) < p {
			q.headers = append(q.headers, [2]string{k, pick(r, vs...)})
		}
	}
	add(30, "x-env", "dev-a", "canary", "nope")
	add(15, "x-gray-tag", "internal", "x")
	add(15, "x-gray-token", "t0ken", "guess")
	add(15, "x-app-platform", "iOS", "ios", "android")
	add(15, "x-app-version", "3.0", "30.1")
	add(50, "user-agent", "Mozilla/5.0", "Googlebot/2.1", "my-CRAWLER")
	add(40, "x-user-id", strconv.Itoa(r.IntN(100000)), "7")
	add(25, "x-swimlane", "gray", "canary", "dev-a", "purple")
	add(30, "x-internal-token", "s3cret", "guess")
	add(10, "x-lane-route", "gray")
	add(10, "baggage", "lane=canary", "other=1")
	for _, c := range []string{"beta=1", "uid=" + strconv.Itoa(r.IntN(1000))} {
		if r.IntN(100) < 20 {
			q.cookies = append(q.cookies, c)
		}
	}
	q.cookies = append(q.cookies, stickyCookie(r, cookies, "x-lane")...)
	return q
}

// stickyCookie returns, now and then, a cookie the module issued earlier,
// a forged one, or none.
func stickyCookie(r *rand.Rand, issued []string, name string) []string {
	switch n := r.IntN(100); {
	case n < 25 && len(issued) > 0:
		return []string{issued[r.IntN(len(issued))]}
	case n < 30:
		return []string{name + "=gray." + fmt.Sprint(2_000_000_000+r.IntN(10)) + ".forged"}
	}
	return nil
}
