package gateway_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lanedye/lanedye/internal/config"
	"github.com/lanedye/lanedye/internal/config/anyrole"
	"github.com/lanedye/lanedye/internal/config/gatewayconf"
	"github.com/lanedye/lanedye/internal/gateway"
	"github.com/lanedye/lanedye/internal/lane"
	"github.com/lanedye/lanedye/internal/request"
	"github.com/lanedye/lanedye/internal/rules"
	"github.com/lanedye/lanedye/internal/sticky"
	"github.com/lanedye/lanedye/internal/testfixture"
)

func load(t testing.TB, name string) *config.Config {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := anyrole.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// Trusted header > valid sticky cookie > rules > default lane; the benchmarks
// and the zero-allocation budget of the decision live in bench/.
func TestDecisionOrder(t *testing.T) {
	cfg := load(t, "seed-gray-router.json")
	const now = 1_800_000_000
	const key = "change-me-to-32-random-bytes!!!!" // testdata's; max_age 604800
	cookie := "x-sticky-version=" + sticky.Sign([]byte(key), "v2", now+604800)
	aging := "x-sticky-version=" + sticky.Sign([]byte(key), "v2", now+302399)
	for _, tc := range []struct {
		name    string
		headers [][2]string
		check   func(d gateway.Decision) bool
	}{
		{"a valid cookie wins over a rule", testfixture.Browser([2]string{"cookie", cookie}, [2]string{"x-user-region", "beijing"}),
			func(d gateway.Decision) bool {
				return d.Source == lane.SourceCookie && d.Lane == 1 && d.SetCookie == ""
			}},
		{"a cookie with less than half its life left is renewed", testfixture.Browser([2]string{"cookie", aging}),
			func(d gateway.Decision) bool {
				return d.Source == lane.SourceCookie && strings.Contains(d.SetCookie, "Max-Age=604800")
			}},
		{"a stale cookie before a valid one does not hide it", testfixture.Browser([2]string{"cookie", "x-sticky-version=v2.1.x; " + cookie}),
			func(d gateway.Decision) bool { return d.Source == lane.SourceCookie && d.SetCookie == "" }},
		{"a spoofed header is not kept; the rule decides", testfixture.Browser([2]string{"x-user-region", "beijing"}, [2]string{"x-target-version", "v2"}),
			func(d gateway.Decision) bool { return d.Source == lane.SourceRule && d.Spoofed && d.SetCookie != "" }},
		{"nothing: the default lane", testfixture.Browser(),
			func(d gateway.Decision) bool {
				return d.Source == lane.SourceDefault && d.Lane == lane.Default && d.Rule == rules.None && d.SetCookie == "" && d.Route == lane.None
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var r request.Request
			r.Reset(cfg.Index, tc.headers)
			if d := gatewayconf.Of(cfg).Gateway.Decide(&r, now, gatewayconf.Of(cfg).Gateway.NewState()); !tc.check(d) {
				t.Errorf("%+v", d)
			}
		})
	}
}

// The downstream address costs a host call: it is wanted only when the
// decision can depend on it.
func TestNeedsSource(t *testing.T) {
	const trust = `"trust":{"match":[{"source_ip":["10.8.0.0/16"]}]}`
	const rule = `"rules":[{"name":"office","lane":"gray","match":[{"source_ip":["10.8.0.0/16"]}]}]`
	const other = `"rules":[{"name":"tester","lane":"gray","match":[{"headers":{"x-tester":{"exact":"1"}}}]}]`
	laneHeader := [2]string{"x-swimlane", "gray"}
	for _, tc := range []struct {
		name    string
		cfg     string
		headers [][2]string
		want    bool
	}{
		{"source_ip in trust, no lane header", trust, testfixture.Browser(), false},
		{"source_ip in trust, a lane header", trust, testfixture.Browser(laneHeader), true},
		{"source_ip in trust, a lane header naming no lane", trust, testfixture.Browser([2]string{"x-swimlane", "purple"}), false},
		{"source_ip in a rule", rule, testfixture.Browser(), true},
		{"no source_ip, a lane header", other, testfixture.Browser(laneHeader), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := anyrole.Parse([]byte(`{"role":"gateway","lanes":["gray"],` + tc.cfg + `}`))
			if err != nil {
				t.Fatal(err)
			}
			var r request.Request
			r.Reset(cfg.Index, tc.headers)
			if got := gatewayconf.Of(cfg).Gateway.NeedsSource(&r); got != tc.want {
				t.Errorf("NeedsSource = %v, want %v", got, tc.want)
			}
		})
	}
}
