package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"

	"github.com/lanedye/lanedye/internal/gateway"
)

// bucket is the percentage formula (docs/contract.md, Percentage), computed
// independently of the plugin.
func bucket(salt, value string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(salt + "\x00" + value))
	return h.Sum64() % 10000
}

// signed is the signed cookie value (docs/contract.md, Sticky cookie),
// computed independently of the plugin.
func signed(secret, lane string, exp int64) string {
	payload := lane + "." + strconv.FormatInt(exp, 10)
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(payload))
	return payload + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// checkIssued checks a Set-Cookie value against the contract — name=<lane>.<exp>.<sig>
// signed with secret, Max-Age between max_age and an hour more (the
// module's clock is its own: wazero's under the SDK's wrapper), then attrs
// — and returns "name=value" and the expiry.
func checkIssued(t *testing.T, setCookie, name, secret, lane string, maxAge int64, attrs string) (string, int64) {
	t.Helper()
	nv, rest, _ := strings.Cut(setCookie, "; Max-Age=")
	value := strings.TrimPrefix(nv, name+"=")
	payload := value[:max(0, strings.LastIndexByte(value, '.'))]
	l, e, _ := strings.Cut(payload, ".")
	exp, err := strconv.ParseInt(e, 10, 64)
	if err != nil || l != lane || signed(secret, lane, exp) != value {
		t.Errorf("Set-Cookie %q: not the contract's value for lane %s", setCookie, lane)
	}
	age, got, _ := strings.Cut(rest, ";")
	if n, _ := strconv.ParseInt(age, 10, 64); n < maxAge || n >= maxAge+3600 {
		t.Errorf("Set-Cookie %q: Max-Age %s, want %d to %d", setCookie, age, maxAge, maxAge+3599)
	}
	if "; "+strings.TrimPrefix(got, " ") != attrs {
		t.Errorf("Set-Cookie %q: attributes %q, want %q", setCookie, ";"+got, attrs)
	}
	return nv, exp
}

const seedSecret = "change-me-to-32-random-bytes!!!!"

func TestSeedGrayRouter(t *testing.T) {
	// Ids chosen to land on both sides of the 30 % threshold (checked below,
	// by the formula alone), so the percentage rule is seen both matching
	// and not matching.
	const userIn, userOut, sessIn, sessOut = "12346", "12345", "sess-1", "sess-2"
	for id, in := range map[string]bool{userIn: true, userOut: false, sessIn: true, sessOut: false} {
		if (bucket("percentage-30", id) < 3000) != in {
			t.Fatalf("fixture: %s is not on the expected side of the threshold", id)
		}
	}
	const pctIn, pctOut = "lane=v2; source=rule; rule=percentage-30", "lane=v1; source=default"
	const app = "myapp.example.com"
	cases := []struct {
		name      string
		authority string
		kv        []string
		lane      string
		debug     string
	}{
		{"internal tag and token", app, []string{"x-gray-tag", "internal-test", "x-gray-token", "secret-12345"}, "v2", "lane=v2; source=rule; rule=internal-test"},
		{"tag without token is not the internal rule", app, []string{"x-gray-tag", "internal-test"}, "v1", "lane=v1; source=default"},
		{"token without tag", app, []string{"x-gray-token", "secret-12345"}, "v1", "lane=v1; source=default"},
		{"wrong token", app, []string{"x-gray-tag", "internal-test", "x-gray-token", "guess"}, "v1", "lane=v1; source=default"},
		{"user 12340 tail 0", app, []string{"x-user-id", "12340"}, "v2", "lane=v2; source=rule; rule=user-tail-012"},
		{"user 12341 tail 1", app, []string{"x-user-id", "12341"}, "v2", "lane=v2; source=rule; rule=user-tail-012"},
		{"user 12342 tail 2", app, []string{"x-user-id", "12342"}, "v2", "lane=v2; source=rule; rule=user-tail-012"},
		{"user in the 30 % by hash", app, []string{"x-user-id", userIn}, "v2", pctIn},
		{"user outside the 30 % by hash", app, []string{"x-user-id", userOut}, "v1", pctOut},
		{"session cookie in by hash", app, []string{"cookie", "lang=zh; session-id=" + sessIn}, "v2", pctIn},
		{"session cookie outside by hash", app, []string{"cookie", "lang=zh; session-id=" + sessOut}, "v1", pctOut},
		{"region beijing", app, []string{"x-user-region", "beijing"}, "v2", "lane=v2; source=rule; rule=beijing-region"},
		{"region shanghai", app, []string{"x-user-region", "shanghai"}, "v1", "lane=v1; source=default"},
		{"ios 3.x", app, []string{"x-app-platform", "ios", "x-app-version", "3.2.1"}, "v2", "lane=v2; source=rule; rule=ios-platform"},
		{"ios 2.x", app, []string{"x-app-platform", "ios", "x-app-version", "2.9.0"}, "v1", "lane=v1; source=default"},
		{"ios 13.x is not 3.x (whole-value regex)", app, []string{"x-app-platform", "ios", "x-app-version", "13.0"}, "v1", "lane=v1; source=default"},
		{"android 3.x", app, []string{"x-app-platform", "android", "x-app-version", "3.1"}, "v1", "lane=v1; source=default"},
		{"internal rule wins by priority", app, []string{"x-user-id", userIn, "x-gray-tag", "internal-test", "x-gray-token", "secret-12345"}, "v2", "lane=v2; source=rule; rule=internal-test"},
		{"host with port", app + ":443", []string{"x-user-id", "12340"}, "v2", "lane=v2; source=rule; rule=user-tail-012"},
		{"host in upper case", "MyApp.Example.COM", []string{"x-user-id", "12340"}, "v2", "lane=v2; source=rule; rule=user-tail-012"},
		{"other host", "other.example.com", []string{"x-user-id", "12340"}, "v1", "lane=v1; source=default"},
		{"nothing", app, nil, "v1", "lane=v1; source=default"},
	}
	vmTest(t, func(t *testing.T, vm types.VMContext) {
		h := startPlugin(t, vm, fixture(t, "seed-gray-router.json"))
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				ex := h.Do(req(c.authority, "/api/version", c.kv...))
				if got := one(t, ex.Req, "x-target-version"); got != c.lane {
					t.Errorf("lane %q, want %q", got, c.lane)
				}
				if got := one(t, ex.Resp, "x-lanedye-decision"); got != c.debug {
					t.Errorf("decision %q, want %q", got, c.debug)
				}
				got := one(t, ex.Resp, "set-cookie")
				switch {
				case c.lane == "v2":
					checkIssued(t, got, "x-sticky-version", seedSecret, "v2", 604800, "; Path=/; Secure; HttpOnly; SameSite=Lax")
				case got != "":
					t.Errorf("set-cookie %q for the default lane", got)
				}
			})
		}
		if got := h.Counter("lanedye.rule.percentage-30.matched"); got != 2 {
			t.Errorf("percentage-30 matched %d times, want 2 (the user and the session inside)", got)
		}
	})
}

const (
	stickySecret = "0123456789abcdef-secret"
	stickyCfg    = `{"role":"gateway","lanes":["gray","dev-a"],
	  "rules":[{"name":"beta","lane":"gray","match":[{"headers":{"x-beta":{"present":true}}}]},
	           {"name":"deva","lane":"dev-a","match":[{"headers":{"x-dev":{"present":true}}}]}],
	  "sticky":{"cookie":"x-lane","secret":"` + stickySecret + `"%s}}`
)

// issue returns a cookie ("x-lane=<value>") the plugin issues under cfg for
// a request with kv, and its expiry.
func issue(t *testing.T, vm types.VMContext, cfg, lane string, kv ...string) (string, int64) {
	t.Helper()
	h := startPlugin(t, vm, cfg)
	defer h.Close()
	ex := h.Do(req("shop.example.com", "/", kv...))
	return checkIssued(t, one(t, ex.Resp, "set-cookie"), "x-lane", stickySecret, lane, 86400, "; Path=/; HttpOnly; SameSite=Lax")
}

func TestStickyCookie(t *testing.T) {
	vmTest(t, func(t *testing.T, vm types.VMContext) {
		h := startPlugin(t, vm, fmt.Sprintf(stickyCfg, ""))
		// Dyed by rule: the response sets the cookie, next to the upstream's own.
		ex := h.Do(req("shop.example.com", "/", "x-beta", "1"), [2]string{"set-cookie", "session=s1; Path=/"})
		if got := one(t, ex.Req, "x-swimlane"); got != "gray" {
			t.Fatalf("lane %q, want gray", got)
		}
		all := get(ex.Resp, "set-cookie")
		// The SDK emulator joins added values of an existing header into one
		// string (Envoy adds a separate header line, as the e2e shows); either
		// way the upstream's cookie must be intact and ours present.
		joined := strings.Join(all, "\n")
		if !strings.HasPrefix(joined, "session=s1; Path=/") {
			t.Fatalf("upstream Set-Cookie was not kept: %q", joined)
		}
		ours := joined[strings.Index(joined, "x-lane="):]
		cookie, _ := checkIssued(t, ours, "x-lane", stickySecret, "gray", 86400, "; Path=/; HttpOnly; SameSite=Lax")

		// The cookie alone keeps the user in the lane, and is not re-issued.
		ex = h.Do(req("shop.example.com", "/next", "cookie", "a=b; "+cookie))
		if got := one(t, ex.Req, "x-swimlane"); got != "gray" {
			t.Errorf("sticky lane %q, want gray", got)
		}
		if got := get(ex.Resp, "set-cookie"); len(got) != 0 {
			t.Errorf("cookie re-issued: %q", got)
		}
		// A valid cookie beats the rules.
		ex = h.Do(req("shop.example.com", "/", "cookie", cookie, "x-dev", "1"))
		if got := one(t, ex.Req, "x-swimlane"); got != "gray" {
			t.Errorf("cookie should beat rules: lane %q", got)
		}
		if n := h.Counter("lanedye.source.cookie.requests"); n != 2 {
			t.Errorf("cookie source counter = %d, want 2", n)
		}
		// HTTP/2 clients may send several cookie headers; a stale cookie of
		// an old Path or Domain before the valid one does not hide it.
		for _, kv := range [][]string{{"cookie", "a=1", "cookie", cookie}, {"cookie", "x-lane=garbage; " + cookie}} {
			if got := one(t, h.Do(req("shop.example.com", "/", kv...)).Req, "x-swimlane"); got != "gray" {
				t.Errorf("%q: lane %q, want gray", kv, got)
			}
		}
		// A client does not choose how many values are verified: a valid
		// one after gateway.MaxStickyValues-1 stale ones counts, one after
		// more does not.
		for stale, want := range map[int]string{gateway.MaxStickyValues - 1: "gray", gateway.MaxStickyValues: "base"} {
			c := strings.Repeat("x-lane=gray.1.AAAA; ", stale) + cookie
			if got := one(t, h.Do(req("shop.example.com", "/", "cookie", c)).Req, "x-swimlane"); got != want {
				t.Errorf("valid cookie after %d stale ones: lane %q, want %s", stale, got, want)
			}
		}
	})
}

// Forged, unsigned, truncated, v1, expired and other-key cookies are
// ignored.
func TestStickyCookieForgeries(t *testing.T) {
	vmTest(t, func(t *testing.T, vm types.VMContext) {
		good, exp := issue(t, vm, fmt.Sprintf(stickyCfg, ""), "gray", "x-beta", "1")
		value := strings.TrimPrefix(good, "x-lane=")
		h := startPlugin(t, vm, fmt.Sprintf(stickyCfg, ""))
		for _, bad := range []string{
			"gray",
			"gray.AAAA",
			value[:len(value)-4] + "AAAA",
			value[:30],
			signed("another-secret-of-16+", "gray", exp),
			signed(stickySecret, "grey", exp),
			signed(stickySecret, "base", exp),
			signed(stickySecret, "gray", 1),                   // long expired
			signed(stickySecret, "gray", exp+86400*365),       // beyond max_age and the hour
			strings.Replace(value, ".", ".0", 1)[:len(value)], // expiry tampered
		} {
			t.Run(bad, func(t *testing.T) {
				ex := h.Do(req("shop.example.com", "/", "cookie", "x-lane="+bad))
				if got := one(t, ex.Req, "x-swimlane"); got != "base" {
					t.Errorf("lane %q, want base", got)
				}
			})
		}
	})
}

func TestStickyRollback(t *testing.T) {
	t.Run("gray leaves sticky.lanes", func(t *testing.T) {
		vmTest(t, func(t *testing.T, vm types.VMContext) {
			cookie, _ := issue(t, vm, fmt.Sprintf(stickyCfg, ""), "gray", "x-beta", "1")
			// gray leaves sticky.lanes: its cookies stop counting at once.
			h := startPlugin(t, vm, fmt.Sprintf(stickyCfg, `,"lanes":["dev-a"]`))
			ex := h.Do(req("shop.example.com", "/", "cookie", cookie))
			if got := one(t, ex.Req, "x-swimlane"); got != "base" {
				t.Errorf("lane %q after gray left sticky.lanes, want base", got)
			}
			// Dyed into gray by a rule, but gray is no longer sticky: no cookie.
			ex = h.Do(req("shop.example.com", "/", "x-beta", "1"))
			if got := get(ex.Resp, "set-cookie"); one(t, ex.Req, "x-swimlane") != "gray" || len(got) != 0 {
				t.Errorf("non-sticky lane: lane %q, set-cookie %q", one(t, ex.Req, "x-swimlane"), got)
			}
		})
	})
	t.Run("gray leaves lanes", func(t *testing.T) {
		vmTest(t, func(t *testing.T, vm types.VMContext) {
			gray, _ := issue(t, vm, fmt.Sprintf(stickyCfg, ""), "gray", "x-beta", "1")
			devA, _ := issue(t, vm, fmt.Sprintf(stickyCfg, ""), "dev-a", "x-dev", "1")
			// gray leaves lanes entirely (and the rule that dyed into it).
			h := startPlugin(t, vm, `{"role":"gateway","lanes":["dev-a"],"sticky":{"cookie":"x-lane","secret":"`+stickySecret+`"}}`)
			if got := one(t, h.Do(req("shop.example.com", "/", "cookie", gray)).Req, "x-swimlane"); got != "base" {
				t.Errorf("lane %q after gray left lanes, want base", got)
			}
			if got := one(t, h.Do(req("shop.example.com", "/", "cookie", devA)).Req, "x-swimlane"); got != "dev-a" {
				t.Errorf("dev-a cookie: lane %q", got)
			}
		})
	})
}

// Expiry and renewal follow the clock: natively with a fake one (the real
// clock is checked in Envoy, e2e/).
func TestStickyExpiryAndRenewal(t *testing.T) {
	clockTest(t, func(t *testing.T, vm types.VMContext, c *clock) {
		h := startPlugin(t, vm, fmt.Sprintf(stickyCfg, ""))
		cookie, exp := checkIssued(t, one(t, h.Do(req("shop.example.com", "/", "x-beta", "1")).Resp, "set-cookie"),
			"x-lane", stickySecret, "gray", 86400, "; Path=/; HttpOnly; SameSite=Lax")
		send := func() exchange { return h.Do(req("shop.example.com", "/", "cookie", cookie)) }
		// More than half of max_age left: kept, not renewed.
		c.Advance(time.Duration(exp-c.At.Unix()-43201) * time.Second)
		if ex := send(); one(t, ex.Req, "x-swimlane") != "gray" || len(get(ex.Resp, "set-cookie")) != 0 {
			t.Errorf("half-life: %q %q", one(t, ex.Req, "x-swimlane"), get(ex.Resp, "set-cookie"))
		}
		// Less than half left: renewed for the same lane.
		c.Advance(2 * time.Second)
		ex := send()
		if one(t, ex.Req, "x-swimlane") != "gray" {
			t.Fatalf("lane %q", one(t, ex.Req, "x-swimlane"))
		}
		if _, newExp := checkIssued(t, one(t, ex.Resp, "set-cookie"), "x-lane", stickySecret, "gray", 86400, "; Path=/; HttpOnly; SameSite=Lax"); newExp <= exp {
			t.Errorf("renewed expiry %d, old %d", newExp, exp)
		}
		// Past its expiry the old cookie is ignored.
		c.Advance(time.Duration(exp-c.At.Unix()) * time.Second)
		if got := one(t, send().Req, "x-swimlane"); got != "base" {
			t.Errorf("expired cookie: lane %q, want base", got)
		}
	})
}

func TestStickyAttributesAndUnsigned(t *testing.T) {
	vmTest(t, func(t *testing.T, vm types.VMContext) {
		h := startPlugin(t, vm, `{"role":"gateway","lanes":["gray"],
			  "rules":[{"name":"all","lane":"gray"}],
			  "sticky":{"cookie":"lane","max_age":600,"path":"/shop","domain":"example.com",
			            "secure":true,"http_only":false,"same_site":"None"}}`)
		ex := h.Do(req("shop.example.com", "/"))
		want := "lane=gray; Max-Age=600; Path=/shop; Domain=example.com; Secure; SameSite=None"
		if got := one(t, ex.Resp, "set-cookie"); got != want {
			t.Errorf("set-cookie %q, want %q", got, want)
		}
		ex = h.Do(req("shop.example.com", "/", "cookie", "lane=gray"))
		if got := one(t, ex.Resp, "x-lanedye-decision"); got != "" {
			t.Errorf("debug header without debug: %q", got)
		}
		if got := get(ex.Resp, "set-cookie"); len(got) != 0 {
			t.Errorf("unsigned cookie was not accepted: set-cookie %q", got)
		}
	})
}

func TestTrust(t *testing.T) {
	cfg := `{"role":"gateway","lanes":["gray","dev-a"],
	  "rules":[{"name":"beta","lane":"gray","match":[{"headers":{"x-beta":{"present":true}}}]}],
	  "trust":{"match":[{"headers":{"x-internal-token":{"exact":"s3cret"}}}]},
	  "fallback":{"services":{"shop":["gray"]},"parents":{"dev-a":"gray"}},
	  "sticky":{"cookie":"x-lane"},
	  "debug":true}`
	vmTest(t, func(t *testing.T, vm types.VMContext) {
		h := startPlugin(t, vm, cfg)
		cases := []struct {
			name        string
			kv          []string
			lane, route string
			debug       string
		}{
			{"spoofed lane header is dropped", []string{"x-swimlane", "gray"}, "base", "base", "lane=base; source=default"},
			{"spoofed header, rules still run", []string{"x-swimlane", "dev-a", "x-beta", "1"}, "gray", "gray", "lane=gray; source=rule; rule=beta"},
			{"trusted header is kept", []string{"x-swimlane", "dev-a", "x-internal-token", "s3cret"}, "dev-a", "gray", "lane=dev-a; source=header"},
			{"trusted header skips rules", []string{"x-swimlane", "dev-a", "x-internal-token", "s3cret", "x-beta", "1"}, "dev-a", "gray", "lane=dev-a; source=header"},
			{"trusted but unknown lane", []string{"x-swimlane", "prod-hack", "x-internal-token", "s3cret"}, "base", "base", "lane=base; source=default"},
			{"wrong token", []string{"x-swimlane", "gray", "x-internal-token", "guess"}, "base", "base", "lane=base; source=default"},
			{"spoofed route header is recomputed", []string{"x-lane-route", "gray"}, "base", "base", "lane=base; source=default"},
			{"trusted lane beats the cookie", []string{"x-swimlane", "dev-a", "x-internal-token", "s3cret", "cookie", "x-lane=gray"}, "dev-a", "gray", "lane=dev-a; source=header"},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				ex := h.Do(req("shop.prod.svc.cluster.local", "/", c.kv...))
				if got := one(t, ex.Req, "x-swimlane"); got != c.lane {
					t.Errorf("lane %q, want %q", got, c.lane)
				}
				if got := one(t, ex.Req, "x-lane-route"); got != c.route {
					t.Errorf("route %q, want %q", got, c.route)
				}
				if got := one(t, ex.Resp, "x-lanedye-decision"); got != c.debug {
					t.Errorf("decision %q, want %q", got, c.debug)
				}
			})
		}
		if got := h.Counter("lanedye.lane_header.rejected"); got != 4 {
			t.Errorf("rejected counter = %d, want 4", got)
		}
	})

	t.Run("no trust section", func(t *testing.T) {
		vmTest(t, func(t *testing.T, vm types.VMContext) {
			h := startPlugin(t, vm, `{"role":"gateway","lanes":["gray"]}`)
			ex := h.Do(req("a", "/", "x-swimlane", "gray", "x-lane-route", "gray"))
			if got := one(t, ex.Req, "x-swimlane"); got != "base" {
				t.Errorf("lane %q, want base", got)
			}
			if got := get(ex.Req, "x-lane-route"); len(got) != 0 {
				t.Errorf("client route header survived without fallback: %q", got)
			}
		})
	})
}

func TestRuleSemantics(t *testing.T) {
	cfg := `{"role":"gateway","lanes":["gray","dev-a","dev-b","canary"],"debug":true,
	"rules":[
	  {"name":"low","priority":1,"lane":"dev-b","match":[{"headers":{"x-tie":{"present":true}}}]},
	  {"name":"tie-first","priority":5,"lane":"dev-a","match":[{"headers":{"x-tie":{"present":true}}}]},
	  {"name":"tie-second","priority":5,"lane":"gray","match":[{"headers":{"x-tie":{"present":true}}}]},
	  {"name":"from-header","priority":50,"lane_from":"header:x-mspider-laneid"},
	  {"name":"from-query","priority":49,"lane_from":"query:lane"},
	  {"name":"wild","priority":40,"lane":"canary","hosts":["*.canary.example.com"]},
	  {"name":"or-and","priority":30,"lane":"gray","match":[
	     {"path":{"prefix":"/api/"},"method":{"exact":["GET","HEAD"]},"cookies":{"beta":{"present":true}}},
	     {"query":{"preview":{"exact":"on"}}}
	  ]},
	  {"name":"ops","priority":20,"lane":"dev-a","match":[
	     {"headers":{"x-agent":{"contains":["bot","crawler"],"ignore_case":true,"invert":true},
	                 "x-plan":{"prefix":"ent","ignore_case":true}}}
	  ]},
	  {"name":"regex-ci","priority":19,"lane":"dev-b","match":[{"headers":{"x-team":{"regex":"team-[a-z]+","ignore_case":true}}}]},
	  {"name":"suffix-list","priority":18,"lane":"gray","match":[{"headers":{"x-user-id":{"suffix":["7","8"]}}}]},
	  {"name":"absent","priority":17,"lane":"canary","match":[{"headers":{"x-canary-optout":{"present":false},"x-canary":{"exact":"yes"}}}]},
	  {"name":"exact-ci","priority":16,"lane":"gray","match":[{"headers":{"x-env":{"exact":["Staging","QA"],"ignore_case":true}}}]}
	]}`
	cases := []struct {
		name      string
		authority string
		method    string
		path      string
		kv        []string
		debug     string
	}{
		{"ties keep array order", "a.com", "GET", "/", []string{"x-tie", "1"}, "lane=dev-a; source=rule; rule=tie-first"},
		{"lane_from header", "a.com", "GET", "/", []string{"x-mspider-laneid", "dev-b", "x-tie", "1"}, "lane=dev-b; source=rule; rule=from-header"},
		{"lane_from unknown lane falls through", "a.com", "GET", "/", []string{"x-mspider-laneid", "nope", "x-tie", "1"}, "lane=dev-a; source=rule; rule=tie-first"},
		{"lane_from query", "a.com", "GET", "/x?a=1&lane=canary", nil, "lane=canary; source=rule; rule=from-query"},
		{"lane_from query percent-encoded", "a.com", "GET", "/x?lane=dev%2Da", nil, "lane=dev-a; source=rule; rule=from-query"},
		{"wildcard host", "shop.canary.example.com:8443", "GET", "/", nil, "lane=canary; source=rule; rule=wild"},
		{"wildcard does not match the bare domain", "canary.example.com", "GET", "/", nil, "lane=base; source=default"},
		{"AND block holds", "a.com", "HEAD", "/api/v1?x=1", []string{"cookie", "beta=1"}, "lane=gray; source=rule; rule=or-and"},
		{"AND block: wrong method", "a.com", "POST", "/api/v1", []string{"cookie", "beta=1"}, "lane=base; source=default"},
		{"AND block: path outside prefix", "a.com", "GET", "/web/api/", []string{"cookie", "beta=1"}, "lane=base; source=default"},
		{"AND block: query is not the path", "a.com", "GET", "/x?/api/", []string{"cookie", "beta=1"}, "lane=base; source=default"},
		{"OR: second block", "a.com", "POST", "/x?preview=on", nil, "lane=gray; source=rule; rule=or-and"},
		{"invert contains ignore_case + prefix ignore_case", "a.com", "GET", "/", []string{"x-agent", "Mozilla", "x-plan", "ENTERPRISE"}, "lane=dev-a; source=rule; rule=ops"},
		{"invert excludes bots", "a.com", "GET", "/", []string{"x-agent", "GoogleBOT/2.1", "x-plan", "enterprise"}, "lane=base; source=default"},
		{"invert never matches an absent header", "a.com", "GET", "/", []string{"x-plan", "enterprise"}, "lane=base; source=default"},
		{"regex ignore_case whole value", "a.com", "GET", "/", []string{"x-team", "TEAM-Core"}, "lane=dev-b; source=rule; rule=regex-ci"},
		{"regex must match the whole value", "a.com", "GET", "/", []string{"x-team", "my-team-core"}, "lane=base; source=default"},
		{"suffix list", "a.com", "GET", "/", []string{"x-user-id", "98"}, "lane=gray; source=rule; rule=suffix-list"},
		{"present false holds when absent", "a.com", "GET", "/", []string{"x-canary", "yes"}, "lane=canary; source=rule; rule=absent"},
		{"present false fails when present", "a.com", "GET", "/", []string{"x-canary", "yes", "x-canary-optout", ""}, "lane=base; source=default"},
		{"exact list ignore_case", "a.com", "GET", "/", []string{"x-env", "qa"}, "lane=gray; source=rule; rule=exact-ci"},
		{"exact is case-sensitive by default", "a.com", "GET", "/", []string{"x-user-id", "x", "x-canary", "YES"}, "lane=base; source=default"},
	}
	vmTest(t, func(t *testing.T, vm types.VMContext) {
		h := startPlugin(t, vm, cfg)
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				hs := [][2]string{{":method", c.method}, {":authority", c.authority}, {":path", c.path}}
				for i := 0; i+1 < len(c.kv); i += 2 {
					hs = append(hs, [2]string{c.kv[i], c.kv[i+1]})
				}
				if got := one(t, h.Do(hs).Resp, "x-lanedye-decision"); got != c.debug {
					t.Errorf("%q, want %q", got, c.debug)
				}
			})
		}
	})
}

func TestMetrics(t *testing.T) {
	vmTest(t, func(t *testing.T, vm types.VMContext) {
		h := startPlugin(t, vm, fixture(t, "seed-gray-router.json"))
		h.Do(req("myapp.example.com", "/", "x-user-id", "12340"))
		h.Do(req("myapp.example.com", "/", "x-user-id", "12340"))
		h.Do(req("myapp.example.com", "/", "x-user-region", "beijing"))
		h.Do(req("other.example.com", "/"))
		want := map[string]uint64{
			"lanedye.lane.v2.requests":            3,
			"lanedye.lane.v1.requests":            1,
			"lanedye.source.rule.requests":        3,
			"lanedye.source.default.requests":     1,
			"lanedye.source.cookie.requests":      0,
			"lanedye.rule.user-tail-012.matched":  2,
			"lanedye.rule.beijing-region.matched": 1,
			"lanedye.rule.internal-test.matched":  0,
			"lanedye.sticky.issued":               3,
			"lanedye.errors":                      0,
		}
		for name, v := range want {
			t.Run(name, func(t *testing.T) {
				if got := h.Counter(name); got != v {
					t.Errorf("%d, want %d", got, v)
				}
			})
		}
	})
}

func TestGatewayFallback(t *testing.T) {
	cfg := `{"role":"gateway","lanes":["gray","dev-a"],
	  "rules":[{"name":"from","lane_from":"header:x-want"}],
	  "fallback":{"route_header":"x-route","services":{"shop":["gray","dev-a"],"cart.prod.svc.cluster.local":["gray"]},"parents":{"dev-a":"gray"}}}`
	cases := []struct{ host, lane, route string }{
		{"shop", "dev-a", "dev-a"},
		{"shop.prod.svc.cluster.local:80", "dev-a", "dev-a"},
		{"cart.prod.svc.cluster.local", "dev-a", "gray"},
		{"cart.prod.svc.cluster.local", "gray", "gray"},
		{"cart", "gray", "base"}, // the key is the full name; "cart" alone is another host
		{"ratings", "dev-a", "base"},
		{"shop", "base", "base"},
	}
	vmTest(t, func(t *testing.T, vm types.VMContext) {
		h := startPlugin(t, vm, cfg)
		for _, c := range cases {
			t.Run(c.host+" in "+c.lane, func(t *testing.T) {
				ex := h.Do(req(c.host, "/", "x-want", c.lane))
				if got := one(t, ex.Req, "x-swimlane"); got != c.lane {
					t.Errorf("lane header %q changed", got)
				}
				if got := one(t, ex.Req, "x-route"); got != c.route {
					t.Errorf("route %q, want %q", got, c.route)
				}
			})
		}
		if got := h.Counter("lanedye.route.gray.requests"); got != 2 {
			t.Errorf("route counter gray = %d, want 2", got)
		}
	})
}
