package gateway_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/lanedye/lanedye/internal/config/anyrole"
	"github.com/lanedye/lanedye/internal/config/gatewayconf"
	"github.com/lanedye/lanedye/internal/lane"
	"github.com/lanedye/lanedye/internal/request"
)

const explainConfig = `{"role":"gateway","lanes":["gray"],"rules":[
 {"name":"tag","lane":"gray","priority":2,"match":[{"headers":{"x-gray-tag":{"exact":"t"}}}]},
 {"name":"beta","lane":"gray","priority":1,"match":[{"cookies":{"beta":{"present":true}}}]}],
 "trust":{"match":[{"headers":{"x-internal-token":{"exact":"s3cret"}}},{"source_ip":["10.0.0.0/8"]}]},
 "sticky":{"cookie":"x-lane"}}`

// Explain keeps Decide's decision and says what became of the client's
// lane header and cookie, and which rules ran.
func TestExplain(t *testing.T) {
	cfg, err := anyrole.Parse([]byte(explainConfig))
	if err != nil {
		t.Fatal(err)
	}
	const now = 1_800_000_000
	for _, tc := range []struct {
		name       string
		kv         []string
		source     lane.Source
		headerWhy  string // "" when no header was sent or it was kept
		cookieSent bool
		cookie     string // the value shown: the one that decided, else the first
		rules      int    // traces
	}{
		{"nothing sent: every rule runs", nil, lane.SourceDefault, "", false, "", 2},
		{"an untrusted header", []string{"x-swimlane", "gray", "x-gray-tag", "t"}, lane.SourceRule,
			`trust.match[0]: headers.x-internal-token: exact "s3cret": absent; trust.match[1]: source_ip: no source address, need one in "10.0.0.0/8"`, false, "", 1},
		{"an unknown lane in the header", []string{"x-swimlane", "purple", "x-internal-token", "s3cret"}, lane.SourceDefault,
			`"purple" is not a configured lane`, false, "", 2},
		{"a trusted header skips cookie and rules", []string{"x-swimlane", "gray", "x-internal-token", "s3cret", "cookie", "x-lane=base"}, lane.SourceHeader,
			"", true, "base", 0},
		{"a valid unsigned cookie skips the rules", []string{"cookie", "x-lane=gray; beta=1"}, lane.SourceCookie, "", true, "gray", 0},
		{"a stale cookie before a valid one", []string{"cookie", "x-lane=purple; x-lane=gray"}, lane.SourceCookie, "", true, "gray", 0},
		{"an invalid cookie", []string{"cookie", "x-lane=purple; beta=1"}, lane.SourceRule, "", true, "purple", 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hs := [][2]string{{":authority", "shop"}, {":path", "/"}, {":method", "GET"}}
			for i := 0; i+1 < len(tc.kv); i += 2 {
				hs = append(hs, [2]string{tc.kv[i], tc.kv[i+1]})
			}
			var r request.Request
			r.Reset(cfg.Index, hs)
			x := gatewayconf.Of(cfg).Gateway.Explain(&r, now, gatewayconf.Of(cfg).Gateway.NewState())
			if d := gatewayconf.Of(cfg).Gateway.Decide(&r, now, gatewayconf.Of(cfg).Gateway.NewState()); !reflect.DeepEqual(d, x.Decision) {
				t.Errorf("decision %+v, Decide says %+v", x.Decision, d)
			}
			if x.Source != tc.source {
				t.Errorf("source %v, want %v", x.Source, tc.source)
			}
			if got := strings.Join(x.HeaderWhy, "; "); got != tc.headerWhy {
				t.Errorf("header: %q\nwant    %q", got, tc.headerWhy)
			}
			if x.CookieSent != tc.cookieSent || (x.CookieSent && x.CookieName != "x-lane") {
				t.Errorf("cookie %q sent %v", x.CookieName, x.CookieSent)
			}
			if x.Cookie != tc.cookie {
				t.Errorf("cookie value %q, want %q", x.Cookie, tc.cookie)
			}
			if len(x.Rules) != tc.rules {
				t.Errorf("%d rule traces, want %d: %+v", len(x.Rules), tc.rules, x.Rules)
			}
		})
	}
}
