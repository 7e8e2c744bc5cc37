package main

import (
	"strings"
	"testing"

	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"

	"github.com/lanedye/lanedye/plugin/plugintest"
)

// source sets Envoy's source.address for the next requests.
func (h *host) source(addr string) {
	h.T.Helper()
	if err := h.SetProperty([]string{"source", "address"}, []byte(addr)); err != nil {
		h.T.Fatal(err)
	}
}

// Trust by network: a client lane header is kept only from the office
// network; source_ip reads Envoy's source.address, IPv4-mapped IPv6 as IPv4.
func TestTrustBySourceIP(t *testing.T) {
	cfg := `{"role":"gateway","lanes":["gray"],"debug":true,
	  "trust":{"match":[{"source_ip":["10.20.0.0/16","fd00:1::/32"]}]},
	  "rules":[{"name":"vpn","lane":"gray","match":[{"source_ip":["192.168.7.7"]}]}]}`
	cases := []struct {
		addr, lane, debug string
		header            bool // the client sends x-swimlane: gray
	}{
		{"10.20.3.4:51000", "gray", "lane=gray; source=header", true},
		{"[::ffff:10.20.3.4]:51000", "gray", "lane=gray; source=header", true},
		{"[fd00:1::5]:443", "gray", "lane=gray; source=header", true},
		{"10.21.3.4:51000", "base", "lane=base; source=default", true},
		{"[fd00:2::5]:443", "base", "lane=base; source=default", true},
		{"192.168.7.7:1", "gray", "lane=gray; source=rule; rule=vpn", false},
		{"192.168.7.8:1", "base", "lane=base; source=default", false},
		{"not an address", "base", "lane=base; source=default", true},
	}
	vmTest(t, func(t *testing.T, vm types.VMContext) {
		h := startPlugin(t, vm, cfg)
		for _, c := range cases {
			t.Run(c.addr, func(t *testing.T) {
				h.source(c.addr)
				var kv []string
				if c.header {
					kv = []string{"x-swimlane", "gray"}
				}
				ex := h.Do(req("shop.example.com", "/", kv...))
				if got := one(t, ex.Req, "x-swimlane"); got != c.lane {
					t.Errorf("lane %q, want %q", got, c.lane)
				}
				if got := one(t, ex.Resp, "x-lanedye-decision"); got != c.debug {
					t.Errorf("decision %q, want %q", got, c.debug)
				}
			})
		}
	})
}

// The gateway owns the lane member of W3C baggage: set to the decided lane,
// removed for the default lane, every other member kept. (Several baggage
// headers: TestHeadersSentTwice.)
func TestGatewayOwnsBaggage(t *testing.T) {
	cfg := `{"role":"gateway","lanes":["gray"],"baggage":"lane",
	  "rules":[{"name":"beta","lane":"gray","match":[{"headers":{"x-beta":{"present":true}}}]}]}`
	cases := []struct {
		name string
		kv   []string
		want []string // the baggage headers upstream
	}{
		{"smuggled lane removed", []string{"baggage", "lane=gray"}, nil},
		{"smuggled lane removed, others kept", []string{"baggage", "userId=alice;p=1, lane=gray, theme=dark"}, []string{"userId=alice;p=1,theme=dark"}},
		{"no member, default lane: untouched", []string{"baggage", "k=v"}, []string{"k=v"}},
		{"no baggage, default lane: none added", nil, nil},
		{"dyed: member set", []string{"x-beta", "1"}, []string{"lane=gray"}},
		{"dyed: member replaced, properties of others kept", []string{"x-beta", "1", "baggage", "lane=base;ttl=5,k=v;p"}, []string{"lane=gray,k=v;p"}},
		{"duplicates leave exactly one", []string{"x-beta", "1", "baggage", "lane=x,lane=y"}, []string{"lane=gray"}},
		{"malformed: removed whole", []string{"baggage", "a b=1,lane=gray"}, nil},
		{"malformed, dyed: replaced by the member", []string{"x-beta", "1", "baggage", "a b=1,lane=base"}, []string{"lane=gray"}},
		{"oversized: removed whole", []string{"baggage", "lane=gray," + strings.Repeat("k=v,", 2048) + "z=1"}, nil},
	}
	vmTest(t, func(t *testing.T, vm types.VMContext) {
		h := startPlugin(t, vm, cfg)
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				got := get(h.Do(req("shop.example.com", "/", c.kv...)).Req, "baggage")
				if strings.Join(got, "|") != strings.Join(c.want, "|") {
					t.Errorf("baggage %q, want %q", got, c.want)
				}
			})
		}
		// lanedye cannot vouch for the lane member of a header it cannot
		// read: it goes, counted.
		if got := h.Counter("lanedye.baggage.dropped"); got != 3 {
			t.Errorf("baggage.dropped = %d, want 3", got)
		}
	})
}

// Keys rotate: the first key signs, any key verifies; a cookie signed by a
// key that left the list stops counting.
func TestStickyKeyRotation(t *testing.T) {
	const oldKey, newKey = stickySecret, "fedcba9876543210-new"
	sticky := func(keys string) string {
		return `{"role":"gateway","lanes":["gray"],"rules":[{"name":"beta","lane":"gray","match":[{"headers":{"x-beta":{"present":true}}}]}],
		  "sticky":{"cookie":"x-lane","secret":` + keys + `}}`
	}
	vmTest(t, func(t *testing.T, vm types.VMContext) {
		old, _ := issue(t, vm, sticky(`"`+oldKey+`"`), "gray", "x-beta", "1")
		h := startPlugin(t, vm, sticky(`["`+newKey+`","`+oldKey+`"]`))
		if got := one(t, h.Do(req("shop.example.com", "/", "cookie", old)).Req, "x-swimlane"); got != "gray" {
			t.Errorf("old key's cookie during rotation: lane %q", got)
		}
		issued := one(t, h.Do(req("shop.example.com", "/", "x-beta", "1")).Resp, "set-cookie")
		newCookie, _ := checkIssued(t, issued, "x-lane", newKey, "gray", 86400, "; Path=/; HttpOnly; SameSite=Lax")
		h.Close()
		h = startPlugin(t, vm, sticky(`["`+newKey+`"]`))
		for cookie, want := range map[string]string{old: "base", newCookie: "gray"} {
			if got := one(t, h.Do(req("shop.example.com", "/", "cookie", cookie)).Req, "x-swimlane"); got != want {
				t.Errorf("after rotation, %.30s…: lane %q, want %s", cookie, got, want)
			}
		}
	})
}

// secret_env reads the keys from the VM's environment. Natively that is the
// test process's; the built module's is Envoy's vm_config (see e2e/).
func TestStickySecretFromEnvironment(t *testing.T) {
	t.Setenv("LANEDYE_TEST_KEYS", " fedcba9876543210-new , "+stickySecret)
	h := startPlugin(t, mod.Native(plugintest.RealNow), `{"role":"gateway","lanes":["gray"],
	  "rules":[{"name":"all","lane":"gray"}],"sticky":{"cookie":"x-lane","secret_env":"LANEDYE_TEST_KEYS"}}`)
	checkIssued(t, one(t, h.Do(req("shop.example.com", "/")).Resp, "set-cookie"), "x-lane", "fedcba9876543210-new", "gray", 86400, "; Path=/; HttpOnly; SameSite=Lax")
	h.Close()
	t.Setenv("LANEDYE_TEST_KEYS", "short")
	_, status := tryStart(t, mod.Native(plugintest.RealNow), `{"role":"gateway","lanes":["gray"],"sticky":{"cookie":"x-lane","secret_env":"LANEDYE_TEST_KEYS"}}`)
	if status != types.OnPluginStartStatusFailed {
		t.Error("a short key from the environment was accepted")
	}
}
