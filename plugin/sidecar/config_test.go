package main

import (
	"strings"
	"testing"

	"github.com/lanedye/lanedye/plugin/plugintest"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"
)

// Each bad configuration must fail the plugin start and log, at critical
// level, a message naming the JSON path of the offending field. The
// gateway module's cases are in plugin/gateway.
func TestBadConfigurations(t *testing.T) {
	sc := func(rest string) string { return `{"role":"sidecar","lanes":["gray","dev-a"]` + rest + `}` }
	cases := []struct {
		name, cfg, path string
	}{
		{"not JSON", `{"role": "sidecar",`, "$: invalid JSON"},
		{"empty", ``, "$: configuration is empty"},
		{"not an object", `["sidecar"]`, "$: must be an object"},
		{"role missing", `{"lanes":["gray"]}`, "role: required"},
		{"role unknown", `{"role":"edge"}`, "role: must be"},
		{"a gateway configuration", `{"role":"gateway"}`, `role: role "gateway" is carried by lanedye-gateway.wasm; this module carries sidecar, waypoint`},
		{"unknown top-level key", `{"role":"sidecar","propagaton":{}}`, "propagaton: unknown key"},
		{"duplicate key", `{"role":"sidecar","role":"sidecar"}`, "role: duplicate key"},
		{"bad lane header", sc(`,"lane_header":"x swimlane"`), "lane_header:"},
		{"bad lane name", `{"role":"sidecar","lanes":["gray","-x"]}`, "lanes[1]:"},
		{"duplicate lane", `{"role":"sidecar","lanes":["gray","gray"]}`, "lanes[1]: duplicate lane"},
		{"rules in a sidecar", `{"role":"sidecar","rules":[]}`, "rules: only valid for role \"gateway\""},
		{"rules at a waypoint", `{"role":"waypoint","rules":[]}`, "rules: only valid for role \"gateway\""},
		{"trust at a waypoint", `{"role":"waypoint","trust":{"match":[]}}`, "trust: only valid for role \"gateway\""},
		{"sticky at a waypoint", `{"role":"waypoint","sticky":{"cookie":"c"}}`, "sticky: only valid for role \"gateway\""},
		{"workload at a waypoint", `{"role":"waypoint","workload":{"lane_label":"lanedye.io/lane"}}`, "workload: only valid for role \"sidecar\""},
		{"workload without lane_label", `{"role":"sidecar","workload":{}}`, "workload.lane_label: required"},
		{"workload label not a label key", `{"role":"sidecar","workload":{"lane_label":"lane dye"}}`, `workload.lane_label: "lane dye" is not a Kubernetes label key`},
		{"workload label with a bad prefix", `{"role":"sidecar","workload":{"lane_label":"Lanedye.IO/lane"}}`, `workload.lane_label: "Lanedye.IO/lane" is not a Kubernetes label key`},
		{"unknown workload key", `{"role":"sidecar","workload":{"lane_label":"l","label":"x"}}`, "workload.label: unknown key"},
		{"sticky in a sidecar", `{"role":"sidecar","sticky":{}}`, "sticky: only valid for role \"gateway\""},
		{"unknown propagation key", `{"role":"sidecar","propagation":{"keys":["traceparent","x-trace"]}}`, "propagation.keys[1]: unknown key"},
		{"lane header as a key", `{"role":"sidecar","propagation":{"keys":["header:X-Swimlane"]}}`, "propagation.keys[0]: the lane header cannot be a correlation id"},
		{"duplicate propagation key", `{"role":"sidecar","propagation":{"keys":["traceparent","traceparent"]}}`, "propagation.keys[1]: duplicate key"},
		{"nine propagation keys", `{"role":"sidecar","propagation":{"keys":["traceparent","x-request-id","b3","x-b3-traceid","uber-trace-id","sw8","header:a","header:b","header:c"]}}`,
			"propagation.keys: at most 8 keys"},
		{"empty propagation keys", `{"role":"sidecar","propagation":{"keys":[]}}`, "propagation.keys: must not be empty"},
		{"zero slots", `{"role":"sidecar","propagation":{"slots":0}}`, "propagation.slots:"},
		{"ttl not a number", `{"role":"sidecar","propagation":{"ttl":"60s"}}`, "propagation.ttl: must be an integer"},
		{"ways over 16", `{"role":"sidecar","propagation":{"ways":17}}`, "propagation.ways: must be between 1 and 16"},
		{"propagation.baggage moved", `{"role":"sidecar","propagation":{"baggage":"lane"}}`, `propagation.baggage: moved to the top-level "baggage"`},
		{"baggage member not a token", sc(`,"baggage":"la ne"`), "baggage: "},
		{"fallback unknown lane", sc(`,"fallback":{"services":{"reviews":["gray","blue"]}}`), `fallback.services.reviews[1]: "blue" is not a configured lane`},
		{"fallback cycle", sc(`,"fallback":{"parents":{"gray":"dev-a","dev-a":"gray"}}`), "fallback.parents.gray: parent chain has a cycle"},
		{"route header equals lane header", sc(`,"fallback":{"route_header":"X-Swimlane"}`), "fallback.route_header: must differ"},
		{"service key with a port", sc(`,"fallback":{"services":{"reviews:9080":["gray"]}}`), `fallback.services.reviews:9080: service "reviews:9080": a port never matches`},
		{"debug not a bool", sc(`,"debug":1`), "debug: must be true or false"},
		{"lane header traceparent", sc(`,"lane_header":"traceparent"`), `lane_header: "traceparent" is reserved`},
		{"route header set-cookie", sc(`,"fallback":{"route_header":"set-cookie"}`), `fallback.route_header: "set-cookie" is reserved`},
		{"route header a correlation key", sc(`,"fallback":{"route_header":"x-corr"},"propagation":{"keys":["header:x-corr"]}`), "propagation.keys[0]: the route header cannot be a correlation id"},
		{"too deep", `{"role":"sidecar","propagation":` + strings.Repeat("[", 40) + strings.Repeat("]", 40) + `}`, "propagation[0][0]"},
	}
	vmTest(t, func(t *testing.T, vm types.VMContext) {
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) { plugintest.FailsToStart(t, vm, c.cfg, c.path) })
		}
	})
}
