package gateway_test

import (
	"strings"
	"testing"

	"github.com/lanedye/lanedye/internal/config/anyrole"
	"github.com/lanedye/lanedye/internal/config/gatewayconf"
	"github.com/lanedye/lanedye/internal/gateway"
	"github.com/lanedye/lanedye/internal/lane"
	"github.com/lanedye/lanedye/internal/request"
	"github.com/lanedye/lanedye/internal/rules"
)

// fuzzConfig exercises every kind of condition, lane_from, trust, sticky and
// fallback at once.
const fuzzConfig = `{"role":"gateway","lanes":["gray","dev-a"],"debug":true,
 "rules":[
  {"name":"from","lane_from":"cookie:want","priority":9},
  {"name":"q","lane_from":"query:lane","priority":8},
  {"name":"h","lane":"gray","hosts":["*.example.com","shop"],"match":[
    {"headers":{"x-a":{"regex":"a+b*","ignore_case":true},"x-b":{"contains":["x","y"],"invert":true}},
     "path":{"prefix":"/api"},"method":{"exact":["GET","POST"],"ignore_case":true}},
    {"cookies":{"beta":{"suffix":"1"}},"query":{"p":{"present":true}},
     "percentage":{"value":50,"key":["header:x-user-id","cookie:uid","query:uid"]}}]}],
 "trust":{"match":[{"headers":{"x-token":{"exact":"t"}}}]},
 "sticky":{"cookie":"x-lane","secret":"0123456789abcdef"},
 "fallback":{"services":{"shop":["gray"]},"parents":{"dev-a":"gray"}}}`

// FuzzDecide: arbitrary headers, cookies, paths and queries never panic and
// always produce a configured lane. Input: authority, path, then
// "name: value" lines.
func FuzzDecide(f *testing.F) {
	cfg, err := anyrole.Parse([]byte(fuzzConfig))
	if err != nil {
		f.Fatal(err)
	}
	ex := gateway.NewExplainer(cfg.Lanes, gatewayconf.Of(cfg).Rules)
	st := gatewayconf.Of(cfg).Gateway.NewState()
	f.Add("shop.example.com:443", "/api/x?lane=gray&p", "x-a: AAB\ncookie: beta=1; uid=9\nx-user-id: 7")
	f.Add("[::1]:80", "?", "cookie: want=dev-a\ncookie: x-lane=gray.abc\nx-swimlane: gray\nx-token: t")
	f.Add("", "", "x-lane-route: gray\n: \ncookie: ;;==;\"")
	f.Add("a.", "/%zz?q=%&lane=%2", "baggage: lane=gray\nx-b: \xff\xfe")
	f.Fuzz(func(t *testing.T, authority, path, lines string) {
		hs := [][2]string{{":authority", authority}, {":path", path}, {":method", "GET"}}
		for _, l := range strings.Split(lines, "\n") {
			k, v, _ := strings.Cut(l, ":")
			hs = append(hs, [2]string{strings.ToLower(strings.TrimSpace(k)), strings.TrimSpace(v)})
		}
		var r request.Request
		r.Reset(cfg.Index, hs)
		d := gatewayconf.Of(cfg).Gateway.Decide(&r, 1_800_000_000, st)
		if int(d.Lane) >= cfg.Lanes.Len() || int(d.Route) >= cfg.Lanes.Len() {
			t.Fatalf("decision out of range: %+v", d)
		}
		if (d.Rule != rules.None) != (d.Source == lane.SourceRule) {
			t.Fatalf("rule %d with source %v", d.Rule, d.Source)
		}
		if d.Source == lane.SourceCookie && d.SetCookie != "" {
			t.Fatal("cookie re-issued")
		}
		if ex.Explain(&d) == "" {
			t.Fatal("empty explanation")
		}
	})
}
