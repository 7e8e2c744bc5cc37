package config_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lanedye/lanedye/internal/config"
	"github.com/lanedye/lanedye/internal/config/anyrole"
	"github.com/lanedye/lanedye/internal/config/gatewayconf"
	"github.com/lanedye/lanedye/internal/config/sidecarconf"
	"github.com/lanedye/lanedye/internal/gateway"
	"github.com/lanedye/lanedye/internal/lane"
	"github.com/lanedye/lanedye/internal/request"
)

var parse = anyrole.Parse

func TestDefaults(t *testing.T) {
	c, err := parse([]byte(`{"role":"sidecar","propagation":{}}`))
	if err != nil {
		t.Fatal(err)
	}
	if c.LaneHeader != "x-swimlane" || c.Lanes.Name(lane.Default) != "base" || c.Lanes.Len() != 1 ||
		c.RouteHeader != "x-lane-route" || c.Debug || c.HasFallback() || sidecarconf.Of(c) == nil || gatewayconf.Of(c) != nil {
		t.Errorf("defaults: %+v", c)
	}
}

func TestFullConfiguration(t *testing.T) {
	c, err := parse([]byte(`{
	  "role":"gateway","lane_header":"X-Lane","default_lane":"stable","lanes":["gray","dev-a"],
	  "rules":[{"name":"r","lane":"gray","priority":-3,"hosts":["A.example.com","*.b.example.com","*"],
	            "match":[{"headers":{"X-Up":{"exact":"1"}},"percentage":{"value":12.34,"key":"cookie:uid","salt":"s"}}]}],
	  "trust":{"match":[]},
	  "sticky":{"cookie":"lane","same_site":"strict","lanes":["gray"]},
	  "fallback":{"route_header":"X-Route","services":{"Reviews":["gray"]},"parents":{"dev-a":"gray"}},
	  "debug":true}`))
	if err != nil {
		t.Fatal(err)
	}
	if c.LaneHeader != "x-lane" || c.RouteHeader != "x-route" || c.Lanes.Name(0) != "stable" || !c.Debug || !c.HasFallback() {
		t.Errorf("parsed: %+v", c)
	}
	gw := gatewayconf.Of(c)
	r := gw.Rules.Rules()[0]
	if r.Priority != -3 || r.Match[0].Pct.Threshold != 1234 || r.Match[0].Pct.Salt != "s" {
		t.Errorf("rule: %+v", r)
	}
	decide := func(kv ...string) gateway.Decision {
		hs := [][2]string{{":authority", "reviews.ns.svc"}, {":path", "/"}}
		for i := 0; i+1 < len(kv); i += 2 {
			hs = append(hs, [2]string{kv[i], kv[i+1]})
		}
		var q request.Request
		q.Reset(c.Index, hs)
		return gw.Gateway.Decide(&q, 1_800_000_000, gw.Gateway.NewState())
	}
	// trust.match [] trusts every client; sticky.lanes lists gray only;
	// dev-a falls back to gray on reviews.
	if d := decide("x-lane", "gray"); d.Source != lane.SourceHeader || !strings.HasSuffix(d.SetCookie, "SameSite=Strict") {
		t.Errorf("trusted gray: %+v (same_site not normalised?)", d)
	}
	if d := decide("x-lane", "dev-a"); d.SetCookie != "" || c.Lanes.Name(d.Route) != "gray" {
		t.Errorf("dev-a: %+v: dev-a is not in sticky.lanes, and routes to gray on reviews", d)
	}
}

func TestErrorsCarryPaths(t *testing.T) {
	_, err := parse([]byte(`{"role":"gateway","rules":[{"name":"a","lane":"base"},{"name":"b","lane":"base"},
	  {"name":"c","lane":"base","match":[{"headers":{"x-user-id":{"regex":"(a"}}}]}]}`))
	var ce *config.Error
	if !errors.As(err, &ce) {
		t.Fatalf("error %v is not a *config.Error", err)
	}
	want := "rules[2].match[0].headers.x-user-id.regex: error parsing regexp: missing closing ): `(a`"
	if err.Error() != want {
		t.Errorf("got  %q\nwant %q", err, want)
	}
}

func TestLimits(t *testing.T) {
	deep := `{"role":"gateway","x":` + strings.Repeat(`{"k":`, 40) + `1` + strings.Repeat(`}`, 40) + `}`
	_, err := parse([]byte(deep))
	// The root is level 1 and "x" level 2, so the 33rd level is x and 31 k's.
	if want := "x" + strings.Repeat(".k", 31) + ": nesting deeper than 32 levels"; err == nil || err.Error() != want {
		t.Errorf("deep: %v", err)
	}
	ok := `{"role":"gateway","rules":[{"name":"r","lane":"base","match":[{"headers":{"x":{"exact":["a"]}}}]}]}`
	if _, err := parse([]byte(ok)); err != nil {
		t.Errorf("depth 7 rejected: %v", err)
	}
	// Brackets inside strings do not count.
	str := `{"role":"gateway","lanes":["gray"],"rules":[{"name":"r","lane":"gray","match":[{"headers":{"x":{"exact":"` + strings.Repeat("[{", 100) + `"}}}]}]}`
	if _, err := parse([]byte(str)); err != nil {
		t.Errorf("brackets in strings: %v", err)
	}
	big := make([]byte, config.MaxSize+1)
	if _, err := parse(big); err == nil || !strings.Contains(err.Error(), "limit is 1048576") {
		t.Errorf("size: %v", err)
	}
}

func TestTestdataConfigurationsParse(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("..", "..", "testdata", "*.json"))
	if len(files) == 0 {
		t.Fatal("no configurations in testdata")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := parse(b); err != nil {
				t.Error(err)
			}
		})
	}
}

// A module carries only its own roles: a configuration of another role
// fails with the name of the module that carries it.
func TestRoleNotCarried(t *testing.T) {
	for _, tc := range []struct {
		name    string
		carried config.RoleParser
		cfg     string
		want    string
	}{
		{"gateway configuration in the sidecar module", sidecarconf.Parser, `{"role":"gateway"}`,
			`role: role "gateway" is carried by lanedye-gateway.wasm; this module carries sidecar`},
		{"sidecar configuration in the gateway module", gatewayconf.Parser, `{"role":"sidecar"}`,
			`role: role "sidecar" is carried by lanedye-sidecar.wasm; this module carries gateway`},
		{"its own role", gatewayconf.Parser, `{"role":"gateway"}`, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := config.Parse([]byte(tc.cfg), config.Carry(tc.carried))
			if got := fmt.Sprint(err); tc.want == "" && err != nil || tc.want != "" && got != tc.want {
				t.Errorf("got %v, want %q", err, tc.want)
			}
		})
	}
}
