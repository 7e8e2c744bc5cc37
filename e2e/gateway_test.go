package e2e

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lanedye/lanedye/e2e/envoy"
	"github.com/lanedye/lanedye/e2e/mesh"
)

// signedBy reports whether a Set-Cookie (or cookie) value "name=<lane>.<exp>.<sig>;..."
// carries the sticky cookie signature (docs/contract.md, Sticky cookie) under key.
func signedBy(setCookie, key string) bool {
	nv, _, _ := strings.Cut(setCookie, ";")
	_, v, _ := strings.Cut(nv, "=")
	i := strings.LastIndexByte(v, '.')
	if i < 0 {
		return false
	}
	m := hmac.New(sha256.New, []byte(key))
	m.Write([]byte(v[:i]))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)) == v[i+1:]
}

// What only real Envoy can show at the gateway: the sticky key
// from the VM's environment (vm_config.environment_variables, as Istio's
// vmConfig.env), source.address from real connections behind a trusted
// proxy (for a trusted lane header and for a rule), and expiry and renewal
// on the real clock.
func TestGatewayInEnvoy(t *testing.T) {
	const key = "0123456789abcdef-from-the-env"
	cfg := `{"role":"gateway","lanes":["gray"],"baggage":"lane",
	  "trust":{"match":[{"source_ip":["10.8.0.0/16"]}]},
	  "rules":[{"name":"tail","lane":"gray","match":[{"headers":{"x-user-id":{"suffix":"0"}}}]},
	           {"name":"office","lane":"gray","match":[{"source_ip":["10.9.0.0/16","fd00:9::/48"]}]}],
	  "sticky":{"cookie":"x-lane","max_age":10,"secret_env":"LANEDYE_TEST_KEY"}}`
	g := startGateway(t, cfg, map[string]string{"LANEDYE_TEST_KEY": key})

	t.Run("secret_env from the VM environment", func(t *testing.T) {
		_, cookies := g.send(t, http.StatusOK, "x-user-id", "10")
		if len(cookies) != 1 || !signedBy(cookies[0], key) {
			t.Errorf("Set-Cookie %q, want one signed with the environment's key", cookies)
		}
	})
	t.Run("source.address behind a trusted proxy", func(t *testing.T) {
		for _, c := range []struct{ xff, lane string }{
			{"10.8.1.1", "gray"}, {"203.0.113.9, 10.8.200.3", "gray"}, {"192.0.2.1", "base"}, {"", "base"},
		} {
			var kv []string
			if c.xff != "" {
				kv = []string{"x-forwarded-for", c.xff}
			}
			if lane, _ := g.send(t, http.StatusOK, append(kv, "x-swimlane", "gray")...); lane != c.lane {
				t.Errorf("X-Forwarded-For %q: lane %q, want %s", c.xff, lane, c.lane)
			}
		}
	})
	t.Run("a rule's source_ip", func(t *testing.T) {
		for _, c := range []struct{ xff, lane string }{
			{"10.9.4.4", "gray"}, {"fd00:9::7", "gray"}, {"203.0.113.9, 10.9.0.1", "gray"},
			{"10.8.1.1", "base"}, {"fd00:8::7", "base"}, {"", "base"},
		} {
			var kv []string
			if c.xff != "" {
				kv = []string{"x-forwarded-for", c.xff}
			}
			if lane, _ := g.send(t, http.StatusOK, kv...); lane != c.lane {
				t.Errorf("X-Forwarded-For %q: lane %q, want %s", c.xff, lane, c.lane)
			}
		}
	})
	t.Run("a smuggled baggage lane is removed", func(t *testing.T) {
		if got := g.baggage(t, "baggage", "lane=gray,k=v"); got != "k=v" {
			t.Errorf("baggage upstream %q", got)
		}
	})
	// max_age is 10 s, so exp is issue time + 10 s (rounded up to the
	// second): the plugin's clock is whole seconds, so a cookie counts
	// without renewal for its first 5 s, is renewed from exp-4 s on
	// (2*(exp-now) < max_age), and counts no more from exp. Each check runs
	// inside a window of seconds, wide for a loaded machine.
	t.Run("expiry and renewal on the real clock", func(t *testing.T) {
		_, cookies := g.send(t, http.StatusOK, "x-user-id", "20")
		cookie, _, _ := strings.Cut(cookies[0], ";")
		exp := expiry(t, cookie)
		if lane, again := g.send(t, http.StatusOK, "cookie", cookie); lane != "gray" || len(again) != 0 {
			t.Errorf("fresh cookie: lane %q, Set-Cookie %q", lane, again)
		}
		// Less than half of max_age left, 4 s to 3.5 s before exp: renewed.
		time.Sleep(time.Until(time.Unix(exp-4, 0)))
		lane, renewed := g.send(t, http.StatusOK, "cookie", cookie)
		if lane != "gray" || len(renewed) != 1 || expiry(t, renewed[0]) <= exp {
			t.Errorf("aging cookie: lane %q, Set-Cookie %q", lane, renewed)
		}
		time.Sleep(time.Until(time.Unix(exp+1, 0)))
		if lane, _ := g.send(t, http.StatusOK, "cookie", cookie); lane != "base" {
			t.Errorf("expired cookie: lane %q", lane)
		}
	})
}

// expiry reads <exp> from "name=<lane>.<exp>.<sig>[; ...]".
func expiry(t *testing.T, cookie string) int64 {
	t.Helper()
	nv, _, _ := strings.Cut(cookie, ";")
	parts := strings.Split(nv, ".")
	if len(parts) < 3 {
		t.Fatalf("cookie %q", cookie)
	}
	exp, err := strconv.ParseInt(parts[len(parts)-2], 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return exp
}

// startGateway starts a gateway Envoy behind one trusted proxy hop, loading
// the module inline with cfg and a VM environment, in front of an
// application that reports the headers it sees.
func startGateway(t *testing.T, cfg string, env map[string]string) *gatewayUnderXDS {
	t.Helper()
	bin := envoyBinary(t)
	wasm, err := mesh.Module(root, "gateway")
	if err != nil {
		t.Fatal(err)
	}
	appPort, gwPort := serveApp(t, "x-swimlane"), freePort(t)
	b := mesh.Bootstrap{
		Listeners: []mesh.Listener{{Name: "gateway", Port: gwPort, XFFTrustedHops: 1,
			Hosts: []mesh.VirtualHost{{Name: "all", Domains: []string{"*"}, Default: "app"}}}},
		Clusters: []mesh.Cluster{{Name: "app", Port: appPort}},
		Plugin:   mesh.Plugin{Wasm: wasm, Config: cfg, Env: env},
	}
	data, err := b.Render()
	if err != nil {
		t.Fatal(err)
	}
	p, err := envoy.Start(bin, envoy.Options{Name: "gateway", Dir: t.TempDir(), Bootstrap: data, Concurrency: 2, Module: wasm})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Stop)
	return &gatewayUnderXDS{envoy: p, url: fmt.Sprintf("http://127.0.0.1:%d", gwPort)}
}
