package schema

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/tidwall/sjson"
	"sigs.k8s.io/yaml"

	"github.com/lanedye/lanedye/internal/cli/input"
	"github.com/lanedye/lanedye/internal/config"
	"github.com/lanedye/lanedye/internal/config/anyrole"
)

// root is the repository root, seen from this package.
const root = "../../.."

// compile compiles the schema against the draft 2020-12 metaschema.
func compile(t *testing.T) *jsonschema.Schema {
	t.Helper()
	return compileSchema(t, JSON())
}

func compileSchema(t *testing.T, schema []byte) *jsonschema.Schema {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(schema))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	if err := c.AddResource("lanedye.schema.json", doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile("lanedye.schema.json")
	if err != nil {
		t.Fatalf("the schema does not compile: %v", err)
	}
	return s
}

func validates(t *testing.T, s *jsonschema.Schema, js []byte) error {
	t.Helper()
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(js))
	if err != nil {
		t.Fatalf("not JSON: %v", err)
	}
	return s.Validate(v)
}

// repoConfigs are every configuration in deploy/ and the testdata
// directories, by source.
func repoConfigs(t *testing.T) []input.Config {
	t.Helper()
	found := input.Load(filepath.Join(root, "deploy"), nil)
	dirs, _ := filepath.Glob(filepath.Join(root, "*", "*", "testdata"))
	for _, d := range append(dirs, filepath.Join(root, "testdata")) {
		files, _ := filepath.Glob(filepath.Join(d, "*.json"))
		for _, f := range files {
			fc := input.LoadFile(f)
			found.Configs = append(found.Configs, fc.Configs...)
			found.Problems = append(found.Problems, fc.Problems...)
		}
	}
	for _, p := range found.Problems {
		t.Error(p.Error())
	}
	if len(found.Configs) < 4 {
		t.Fatalf("only %d configurations found", len(found.Configs))
	}
	return found.Configs
}

func TestRepositoryConfigsValidate(t *testing.T) {
	s := compile(t)
	for _, c := range repoConfigs(t) {
		t.Run(strings.TrimPrefix(c.Source, root+"/"), func(t *testing.T) {
			if _, err := anyrole.Parse(c.JSON, config.WithEnv(nil)); err != nil {
				t.Errorf("the parser rejects it: %v", err)
			}
			if err := validates(t, s, c.JSON); err != nil {
				t.Errorf("the parser accepts it, the schema does not: %v", err)
			}
		})
	}
}

// Configurations with every v2 key: the schema must not be stricter than
// the parser.
func TestSchemaAcceptsWhatTheParserAccepts(t *testing.T) {
	s := compile(t)
	for name, js := range map[string]string{
		"minimal gateway": `{"role":"gateway"}`,
		"gateway, every section": `{"role":"gateway","lane_header":"x-lane","default_lane":"v1","lanes":["v2","dev-a"],"baggage":"lane","debug":true,
		  "rules":[{"name":"a","lane":"v2","priority":-3,"hosts":["*.example.com","shop","[::1]"],"match":[
		    {"headers":{"x-a":{"exact":["1","2"],"ignore_case":true},":authority":{"present":true}},"cookies":{"c":{"suffix":"0","invert":true}},
		     "query":{"q p":{"contains":"x"}},"path":{"regex":"/a.*"},"method":{"exact":"GET"},"source_ip":["10.0.0.0/8","192.168.1.1","fd00::/8"],
		     "percentage":{"value":12.34,"key":"header:x-user-id","salt":"s"}}]},
		    {"name":"b","lane_from":"query:lane"}],
		  "trust":{"match":[{"source_ip":["::ffff:10.0.0.0/104"]}]},
		  "sticky":{"cookie":"x-lane","max_age":604800,"path":"/","domain":"example.com","secure":true,"http_only":false,"same_site":"none",
		    "secret":["0123456789abcdef","fedcba9876543210"],"lanes":["v2"]},
		  "fallback":{"route_header":"x-route","services":{"reviews":["v2"],"ratings.prod.svc.cluster.local":["v2","dev-a"]},"parents":{"dev-a":"v2"}}}`,
		"sticky from the environment": `{"role":"gateway","sticky":{"cookie":"c","secret_env":"LANEDYE_STICKY_SECRET"}}`,
		"sidecar, every section": `{"role":"sidecar","lanes":["gray"],"baggage":"lane",
		  "propagation":{"keys":["header:my-request-id","traceparent","b3","x-b3-traceid","uber-trace-id","sw8","x-request-id"],"ttl":30,"slots":1024,"ways":16},
		  "fallback":{"services":{"a":[]}},"workload":{"lane_label":"lanedye.io/lane"}}`,
		"waypoint": `{"role":"waypoint","lanes":["gray"],"baggage":"lane","propagation":{"keys":["x-request-id"]},
		  "fallback":{"services":{"b":["gray"]}},"debug":true}`,
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := anyrole.Parse([]byte(js), config.WithEnv(nil)); err != nil {
				t.Fatalf("fixture: the parser rejects it: %v", err)
			}
			if err := validates(t, s, []byte(js)); err != nil {
				t.Errorf("the schema rejects it: %v", err)
			}
		})
	}
}

// Unknown keys and wrong types: the parser and the schema both reject them.
func TestRejectedByParserAndSchema(t *testing.T) {
	s := compile(t)
	const gw = `{"role":"gateway","lanes":["gray"],`
	for name, js := range map[string]string{
		"unknown top-level key":       `{"role":"gateway","rule":[]}`,
		"unknown rule key":            gw + `"rules":[{"name":"r","lane":"gray","prio":1}]}`,
		"unknown match block key":     gw + `"rules":[{"name":"r","lane":"gray","match":[{"header":{}}]}]}`,
		"unknown matcher key":         gw + `"rules":[{"name":"r","lane":"gray","match":[{"path":{"exact":"/","regexp":"x"}}]}]}`,
		"unknown percentage key":      gw + `"rules":[{"name":"r","lane":"gray","match":[{"percentage":{"value":1,"key":"header:x","seed":"a"}}]}]}`,
		"unknown trust key":           gw + `"trust":{"match":[],"when":1}}`,
		"unknown sticky key":          gw + `"sticky":{"cookie":"c","maxage":1}}`,
		"unknown propagation key":     `{"role":"sidecar","propagation":{"ttl":1,"slot":2}}`,
		"propagation.baggage (v1)":    `{"role":"sidecar","propagation":{"baggage":"lane"}}`,
		"unknown fallback key":        `{"role":"sidecar","fallback":{"service":{}}}`,
		"role not a string":           `{"role":1}`,
		"unknown role":                `{"role":"ingress"}`,
		"no role":                     `{"lanes":["gray"]}`,
		"lanes a string":              `{"role":"gateway","lanes":"gray"}`,
		"rules an object":             `{"role":"gateway","rules":{}}`,
		"debug a string":              `{"role":"gateway","debug":"true"}`,
		"priority a string":           gw + `"rules":[{"name":"r","lane":"gray","priority":"1"}]}`,
		"hosts a string":              gw + `"rules":[{"name":"r","lane":"gray","hosts":"x"}]}`,
		"match an object":             gw + `"rules":[{"name":"r","lane":"gray","match":{}}]}`,
		"matcher value a number":      gw + `"rules":[{"name":"r","lane":"gray","match":[{"headers":{"x":{"exact":5}}}]}]}`,
		"two operators":               gw + `"rules":[{"name":"r","lane":"gray","match":[{"path":{"exact":"/","prefix":"/"}}]}]}`,
		"percentage value a string":   gw + `"rules":[{"name":"r","lane":"gray","match":[{"percentage":{"value":"30","key":"header:x"}}]}]}`,
		"source_ip a string":          gw + `"rules":[{"name":"r","lane":"gray","match":[{"source_ip":"10.0.0.0/8"}]}]}`,
		"lane and lane_from":          gw + `"rules":[{"name":"r","lane":"gray","lane_from":"header:x"}]}`,
		"sticky.secure a string":      gw + `"sticky":{"cookie":"c","secure":"yes"}}`,
		"sticky.secret a number":      gw + `"sticky":{"cookie":"c","secret":5}}`,
		"secret and secret_env":       gw + `"sticky":{"cookie":"c","secret":"0123456789abcdef","secret_env":"K"}}`,
		"ttl not an integer":          `{"role":"sidecar","propagation":{"ttl":1.5}}`,
		"ways a string":               `{"role":"sidecar","propagation":{"ways":"4"}}`,
		"services lanes a string":     `{"role":"sidecar","lanes":["gray"],"fallback":{"services":{"a":"gray"}}}`,
		"parent a number":             `{"role":"sidecar","lanes":["gray"],"fallback":{"parents":{"gray":1}}}`,
		"lane_header a number":        `{"role":"sidecar","lane_header":5}`,
		"baggage a number":            `{"role":"sidecar","baggage":1}`,
		"rules on a sidecar":          `{"role":"sidecar","rules":[]}`,
		"propagation on a gateway":    `{"role":"gateway","propagation":{}}`,
		"a host pattern with a port":  gw + `"rules":[{"name":"r","lane":"gray","hosts":["shop:8080"]}]}`,
		"a lane name with a slash":    `{"role":"gateway","lanes":["a/b"]}`,
		"same_site None, not secure":  gw + `"sticky":{"cookie":"c","same_site":"None"}}`,
		"present with ignore_case":    gw + `"rules":[{"name":"r","lane":"gray","match":[{"path":{"present":true,"ignore_case":true}}]}]}`,
		"an empty propagation key":    `{"role":"sidecar","propagation":{"keys":[]}}`,
		"an unknown correlation id":   `{"role":"sidecar","propagation":{"keys":["x-trace"]}}`,
		"nine correlation keys":       `{"role":"sidecar","propagation":{"keys":["traceparent","x-request-id","b3","x-b3-traceid","uber-trace-id","sw8","header:a","header:b","header:c"]}}`,
		"lane_header cookie":          `{"role":"sidecar","lane_header":"cookie"}`,
		"rules at a waypoint":         `{"role":"waypoint","rules":[]}`,
		"workload at a waypoint":      `{"role":"waypoint","workload":{"lane_label":"l"}}`,
		"workload at a gateway":       `{"role":"gateway","workload":{"lane_label":"l"}}`,
		"workload label not a key":    `{"role":"sidecar","workload":{"lane_label":"a b"}}`,
		"route_header baggage":        `{"role":"sidecar","fallback":{"route_header":"baggage"}}`,
		"a percentage over 100":       gw + `"rules":[{"name":"r","lane":"gray","match":[{"percentage":{"value":101,"key":"header:x"}}]}]}`,
		"a percentage with 3 decimal": gw + `"rules":[{"name":"r","lane":"gray","match":[{"percentage":{"value":1.234,"key":"header:x"}}]}]}`,
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := anyrole.Parse([]byte(js), config.WithEnv(nil)); err == nil {
				t.Error("the parser accepts it")
			}
			if err := validates(t, s, []byte(js)); err == nil {
				t.Error("the schema accepts it")
			}
		})
	}
}

// The WasmPlugin schema checks pluginConfig inside the shipped manifests,
// and rejects a manifest whose pluginConfig has an unknown key.
func TestWasmPluginSchema(t *testing.T) {
	ws, err := WasmPlugin()
	if err != nil {
		t.Fatal(err)
	}
	s := compileSchema(t, ws)
	files, _ := filepath.Glob(filepath.Join(root, "deploy", "plugins", "wasmplugin-*.yaml"))
	if len(files) != 2 {
		t.Fatalf("%d WasmPlugins", len(files))
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			js, err := yaml.YAMLToJSON(data)
			if err != nil {
				t.Fatal(err)
			}
			if err := validates(t, s, js); err != nil {
				t.Errorf("the shipped manifest does not validate: %v", err)
			}
			bad, _ := sjson.SetBytes(js, "spec.pluginConfig.lane", "gray")
			if err := validates(t, s, bad); err == nil {
				t.Error("an unknown key in pluginConfig passed")
			}
		})
	}
}
