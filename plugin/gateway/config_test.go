package main

import (
	"strings"
	"testing"

	"github.com/lanedye/lanedye/plugin/plugintest"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"
)

// Each bad configuration must fail the plugin start and log, at critical
// level, a message naming the JSON path of the offending field. The
// sidecar module's cases are in plugin/sidecar.
func TestBadConfigurations(t *testing.T) {
	gw := func(rest string) string { return `{"role":"gateway","lanes":["gray","dev-a"]` + rest + `}` }
	rule := func(r string) string { return gw(`,"rules":[{"name":"ok","lane":"gray"},` + r + `]`) }
	cases := []struct {
		name, cfg, path string
	}{
		{"not JSON", `{"role": "gateway",`, "$: invalid JSON"},
		{"empty", ``, "$: configuration is empty"},
		{"not an object", `["gateway"]`, "$: must be an object"},
		{"role missing", `{"lanes":["gray"]}`, "role: required"},
		{"role unknown", `{"role":"edge"}`, "role: must be"},
		{"unknown top-level key", `{"role":"gateway","rule":[]}`, "rule: unknown key"},
		{"duplicate key", `{"role":"gateway","role":"sidecar"}`, "role: duplicate key"},
		{"bad lane header", gw(`,"lane_header":"x swimlane"`), "lane_header:"},
		{"bad lane name", `{"role":"gateway","lanes":["gray","-x"]}`, "lanes[1]:"},
		{"duplicate lane", `{"role":"gateway","lanes":["gray","gray"]}`, "lanes[1]: duplicate lane"},
		{"default lane listed", `{"role":"gateway","lanes":["base"]}`, "lanes[0]:"},
		{"rule without name", rule(`{"lane":"gray"}`), "rules[1].name: required"},
		{"duplicate rule name", rule(`{"name":"ok","lane":"gray"}`), "rules[1].name: duplicate"},
		{"unknown lane in rule", rule(`{"name":"r","lane":"grey"}`), `rules[1].lane: "grey" is not a configured lane`},
		{"lane and lane_from", rule(`{"name":"r","lane":"gray","lane_from":"header:x"}`), "rules[1].lane_from:"},
		{"bad lane_from", rule(`{"name":"r","lane_from":"body:x"}`), "rules[1].lane_from:"},
		{"priority not an integer", rule(`{"name":"r","lane":"gray","priority":1.5}`), "rules[1].priority: must be an integer"},
		{"bad host pattern", rule(`{"name":"r","lane":"gray","hosts":["a.com","shop*.com"]}`), "rules[1].hosts[1]:"},
		{"unknown key in rule", rule(`{"name":"r","lane":"gray","matches":[]}`), "rules[1].matches: unknown key"},
		{"bad regex", rule(`{"name":"r","lane":"gray","match":[{},{"headers":{"x-user-id":{"regex":"(a"}}}]}`),
			"rules[1].match[1].headers.x-user-id.regex: error parsing regexp: missing closing )"},
		{"two operators", rule(`{"name":"r","lane":"gray","match":[{"headers":{"x-a":{"exact":"1","prefix":"2"}}}]}`), "rules[1].match[0].headers.x-a.prefix: only one operator"},
		{"no operator", rule(`{"name":"r","lane":"gray","match":[{"cookies":{"beta":{"invert":true}}}]}`), "rules[1].match[0].cookies.beta: needs one operator"},
		{"unknown operator", rule(`{"name":"r","lane":"gray","match":[{"query":{"q":{"equals":"1"}}}]}`), "rules[1].match[0].query.q.equals: unknown key"},
		{"exact list of numbers", rule(`{"name":"r","lane":"gray","match":[{"method":{"exact":["GET",1]}}]}`), "rules[1].match[0].method.exact[1]: must be a string"},
		{"empty exact list", rule(`{"name":"r","lane":"gray","match":[{"path":{"exact":[]}}]}`), "rules[1].match[0].path.exact: must not be an empty list"},
		{"present not a bool", rule(`{"name":"r","lane":"gray","match":[{"headers":{"x-a":{"present":"yes"}}}]}`), "rules[1].match[0].headers.x-a.present: must be true or false"},
		{"percentage over 100", rule(`{"name":"r","lane":"gray","match":[{"percentage":{"value":101,"key":"header:x-u"}}]}`), "rules[1].match[0].percentage.value:"},
		{"percentage three decimals", rule(`{"name":"r","lane":"gray","match":[{"percentage":{"value":33.333,"key":"header:x-u"}}]}`), "rules[1].match[0].percentage.value: at most two decimals"},
		{"percentage without key", rule(`{"name":"r","lane":"gray","match":[{"percentage":{"value":10}}]}`), "rules[1].match[0].percentage.key: required"},
		{"percentage bad key", rule(`{"name":"r","lane":"gray","match":[{"percentage":{"value":10,"key":["header:x-u","ip"]}}]}`), "rules[1].match[0].percentage.key[1]:"},
		{"trust without match", gw(`,"trust":{}`), "trust.match: required"},
		{"bad trust block", gw(`,"trust":{"match":[{"header":{}}]}`), "trust.match[0].header: unknown key"},
		{"sticky without cookie", gw(`,"sticky":{"max_age":60}`), "sticky.cookie: required"},
		{"sticky short secret", gw(`,"sticky":{"cookie":"x-lane","secret":"short"}`), "sticky.secret: must be at least 16 bytes"},
		{"sticky same_site", gw(`,"sticky":{"cookie":"x-lane","same_site":"Loose"}`), "sticky.same_site:"},
		{"sticky None without secure", gw(`,"sticky":{"cookie":"x-lane","same_site":"None"}`), "sticky.same_site: None requires secure"},
		{"sticky unknown lane", gw(`,"sticky":{"cookie":"x-lane","lanes":["gray","blue"]}`), `sticky.lanes[1]: "blue" is not a configured lane`},
		{"sticky max_age 0", gw(`,"sticky":{"cookie":"x-lane","max_age":0}`), "sticky.max_age:"},
		{"propagation at the gateway", gw(`,"propagation":{}`), `propagation: only valid for roles "sidecar" and "waypoint"`},
		{"a sidecar configuration", `{"role":"sidecar"}`, `role: role "sidecar" is carried by lanedye-sidecar.wasm; this module carries gateway`},
		{"fallback unknown lane", gw(`,"fallback":{"services":{"reviews":["gray","blue"]}}`), `fallback.services.reviews[1]: "blue" is not a configured lane`},
		{"fallback cycle", gw(`,"fallback":{"parents":{"gray":"dev-a","dev-a":"gray"}}`), "fallback.parents.gray: parent chain has a cycle"},
		{"fallback parent of default", gw(`,"fallback":{"parents":{"base":"gray"}}`), "fallback.parents.base:"},
		{"route header equals lane header", gw(`,"fallback":{"route_header":"X-Swimlane"}`), "fallback.route_header: must differ"},
		{"debug not a bool", gw(`,"debug":1`), "debug: must be true or false"},
		{"lane header cookie", gw(`,"lane_header":"Cookie"`), `lane_header: "cookie" is reserved`},
		{"lane header hop-by-hop", gw(`,"lane_header":"connection"`), `lane_header: "connection" is reserved`},
		{"lane header x-request-id", gw(`,"lane_header":"x-request-id"`), `lane_header: "x-request-id" is reserved`},
		{"route header baggage", gw(`,"fallback":{"route_header":"baggage"}`), `fallback.route_header: "baggage" is reserved`},
		{"route header authorization", gw(`,"fallback":{"route_header":"Authorization"}`), `fallback.route_header: "authorization" is reserved`},
		{"lane header the default route header", gw(`,"lane_header":"x-lane-route"`), "lane_header: must differ from the route header"},
		{"rule names differing in case", rule(`{"name":"OK","lane":"gray"}`), `rules[1].name: duplicate rule name "OK" (rule names are unique ignoring case)`},
		{"rule reads the lane header", rule(`{"name":"r","lane":"gray","match":[{"headers":{"X-Swimlane":{"exact":"gray"}}}]}`), "rules[1].match[0].headers.X-Swimlane: reads x-swimlane"},
		{"rule reads the route header", rule(`{"name":"r","lane":"gray","match":[{"headers":{"x-lane-route":{"present":true}}}]}`), "rules[1].match[0].headers.x-lane-route: reads x-lane-route"},
		{"rule reads a configured route header", gw(`,"fallback":{"route_header":"x-r"},"rules":[{"name":"r","lane":"gray","match":[{"headers":{"x-r":{"present":true}}}]}]`), "rules[0].match[0].headers.x-r: reads x-r"},
		{"percentage keyed on the lane header", rule(`{"name":"r","lane":"gray","match":[{"percentage":{"value":5,"key":["cookie:u","header:x-swimlane"]}}]}`), "rules[1].match[0].percentage.key[1]: reads x-swimlane"},
		{"lane_from the lane header", rule(`{"name":"r","lane_from":"header:X-SWIMLANE"}`), "rules[1].lane_from: reads x-swimlane"},
		{"baggage member not a token", gw(`,"baggage":"la ne"`), "baggage: "},
		{"empty secret list", gw(`,"sticky":{"cookie":"x-lane","secret":[]}`), "sticky.secret: must not be an empty list"},
		{"short key in the secret list", gw(`,"sticky":{"cookie":"x-lane","secret":["0123456789abcdef","short"]}`), "sticky.secret[1]: must be at least 16 bytes"},
		{"secret and secret_env", gw(`,"sticky":{"cookie":"x-lane","secret":"0123456789abcdef","secret_env":"LANEDYE_TEST_SECRET"}`), "sticky.secret_env: set either secret or secret_env"},
		{"secret_env not in the environment", gw(`,"sticky":{"cookie":"x-lane","secret_env":"LANEDYE_NO_SUCH_VARIABLE"}`), "sticky.secret_env: the VM environment has no LANEDYE_NO_SUCH_VARIABLE"},
		{"secret_env empty name", gw(`,"sticky":{"cookie":"x-lane","secret_env":""}`), "sticky.secret_env: must name an environment variable"},
		{"source_ip unparseable", gw(`,"rules":[{"name":"r","lane":"gray","match":[{"source_ip":["10.0.0.0/8","10.0.0.300"]}]}]`), "rules[0].match[0].source_ip[1]: \"10.0.0.300\" is not an IP address"},
		{"source_ip bad prefix length", gw(`,"rules":[{"name":"r","lane":"gray","match":[{"source_ip":["fd00::/129"]}]}]`), "rules[0].match[0].source_ip[0]:"},
		{"source_ip empty", gw(`,"trust":{"match":[{"source_ip":[]}]}`), "trust.match[0].source_ip: must not be empty"},
		{"source_ip not a list", gw(`,"trust":{"match":[{"source_ip":"10.0.0.0/8"}]}`), "trust.match[0].source_ip: must be an array"},
		{"host with a port", rule(`{"name":"r","lane":"gray","hosts":["shop.example.com:8080"]}`), "rules[1].hosts[0]: host pattern \"shop.example.com:8080\": a port never matches"},
		{"host with a trailing dot", rule(`{"name":"r","lane":"gray","hosts":["*.example.com."]}`), "rules[1].hosts[0]: host pattern \"*.example.com.\": a trailing dot never matches"},
		{"service key with a port", gw(`,"fallback":{"services":{"reviews:9080":["gray"]}}`), `fallback.services.reviews:9080: service "reviews:9080": a port never matches`},
		{"service key with a trailing dot", gw(`,"fallback":{"services":{"reviews.prod.":["gray"]}}`), `fallback.services.reviews.prod.: service "reviews.prod.": a trailing dot never matches`},
		{"too large", `{"role":"gateway","lanes":["` + strings.Repeat("a", 1<<20) + `"]}`, "$: configuration is 1048"},
		{"too deep", `{"role":"gateway","rules":[{"name":"r","lane":"base","match":` + strings.Repeat("[", 40) + strings.Repeat("]", 40) + `}]}`,
			"rules[0].match[0][0][0]"},
	}
	vmTest(t, func(t *testing.T, vm types.VMContext) {
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) { plugintest.FailsToStart(t, vm, c.cfg, c.path) })
		}
	})
}

// The fixtures users copy must load.
func TestFixturesLoad(t *testing.T) {
	vmTest(t, func(t *testing.T, vm types.VMContext) {
		for _, f := range []string{"seed-gray-router.json", "bench-gateway.json"} {
			t.Run(f, func(t *testing.T) {
				h := startPlugin(t, vm, fixture(t, f))
				defer h.Close()
				if logs := h.GetCriticalLogs(); len(logs) != 0 {
					t.Errorf("critical logs %q", logs)
				}
			})
		}
	})
}
