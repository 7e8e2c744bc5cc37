// Package deploy holds the Istio manifests; this test validates them offline.
package deploy

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"

	"github.com/lanedye/lanedye/internal/config"
	"github.com/lanedye/lanedye/internal/config/anyrole"
	"github.com/lanedye/lanedye/internal/istiocrd"
)

// loadCRDs reads the CRD schemas shipped in go.mod's istio.io/api module,
// and the Gateway API's (the ambient waypoint is a Gateway API Gateway).
func loadCRDs(t *testing.T) *istiocrd.Schemas {
	t.Helper()
	s, err := istiocrd.Load()
	if err != nil {
		t.Fatal(err)
	}
	return s.With(loadGatewayAPI(t, gatewayAPI))
}

// manifests returns every YAML document under dir except kustomizations.
func manifests(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || filepath.Ext(p) != ".yaml" || filepath.Base(p) == "kustomization.yaml" {
			return err
		}
		data, err := os.ReadFile(p)
		for i, doc := range istiocrd.SplitYAML(data) {
			out[fmt.Sprintf("%s#%d", p, i)] = doc
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestManifestsValidate(t *testing.T) {
	crds := loadCRDs(t)
	kinds := map[string]int{}
	for name, doc := range manifests(t, ".") {
		kind, errs := crds.Validate(doc)
		kinds[kind]++
		t.Run(name, func(t *testing.T) {
			for _, e := range errs {
				t.Errorf("%s: %s", kind, e)
			}
		})
	}
	for _, k := range []string{"WasmPlugin", "TrafficExtension", "Gateway", "VirtualService", "DestinationRule", "Deployment", "Service", "Namespace", "Telemetry", "IstioOperator"} {
		if kinds[k] == 0 {
			t.Errorf("no %s under deploy/", k)
		}
	}
	t.Logf("validated: %v", kinds)
}

// kustomize renders the kustomization in dir.
func kustomize(t *testing.T, dir string) []byte {
	t.Helper()
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	m, err := k.Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		t.Fatalf("kustomize %s: %v", dir, err)
	}
	rendered, err := m.AsYaml()
	if err != nil {
		t.Fatal(err)
	}
	return rendered
}

// The example renders with kustomize and every WasmPlugin in it carries a
// configuration the plugin accepts.
func TestExampleKustomization(t *testing.T) {
	crds := loadCRDs(t)
	rendered := kustomize(t, "example")
	var got []string
	plugins := 0
	secrets := map[string]string{}
	for _, doc := range istiocrd.SplitYAML(rendered) {
		var sec struct {
			Kind       string
			StringData map[string]string `json:"stringData"`
		}
		if yaml.Unmarshal(doc, &sec) == nil && sec.Kind == "Secret" {
			maps.Copy(secrets, sec.StringData)
		}
	}
	for _, doc := range istiocrd.SplitYAML(rendered) {
		kind, errs := crds.Validate(doc)
		for _, e := range errs {
			t.Errorf("rendered %s: %s", kind, e)
		}
		var obj struct {
			Metadata struct{ Name, Namespace string }
			Spec     struct {
				PluginConfig json.RawMessage `json:"pluginConfig"`
			}
		}
		js, _ := yaml.YAMLToJSON(doc)
		_ = json.Unmarshal(js, &obj)
		got = append(got, kind+"/"+obj.Metadata.Name)
		if kind == "WasmPlugin" {
			plugins++
			// The gateway's sticky key comes from the proxy's environment,
			// which the rendered Secret feeds.
			env := func(k string) (string, bool) { v, ok := secrets[k]; return v, ok }
			if _, err := anyrole.Parse(obj.Spec.PluginConfig, config.WithEnv(env)); err != nil {
				t.Errorf("WasmPlugin %s: pluginConfig rejected by the plugin: %v", obj.Metadata.Name, err)
			}
		}
	}
	sort.Strings(got)
	want := []string{
		"Deployment/checkout-base", "Deployment/frontend-base", "Deployment/frontend-gray", "Deployment/payment-base", "Deployment/payment-gray",
		"DestinationRule/checkout", "DestinationRule/frontend", "DestinationRule/payment", "Gateway/myapp", "Namespace/lanedye-demo",
		"Secret/lanedye-sticky", "Service/checkout", "Service/frontend", "Service/payment",
		"VirtualService/checkout", "VirtualService/frontend-gateway", "VirtualService/payment",
		"WasmPlugin/lanedye-gateway", "WasmPlugin/lanedye-sidecar",
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("rendered resources:\n%v\nwant\n%v", got, want)
	}
	if plugins != 2 {
		t.Errorf("%d WasmPlugins", plugins)
	}
}

// Invalid manifests fail: the validation is not a rubber stamp.
func TestInvalidManifestsFail(t *testing.T) {
	crds := loadCRDs(t)
	wp := `apiVersion: extensions.istio.io/v1alpha1
kind: WasmPlugin
metadata: {name: x, namespace: y}
spec:
  url: oci://r/lanedye:1
  %s
`
	cases := map[string]string{
		"enum":          fmt.Sprintf(wp, "failStrategy: FAIL_SOMETIMES"),
		"unknown field": fmt.Sprintf(wp, "failStratgy: FAIL_OPEN"),
		"wrong type":    fmt.Sprintf(wp, "priority: high"),
		"CEL rule":      fmt.Sprintf(wp, "selector: {matchLabels: {app: a}}\n  targetRefs: [{kind: Gateway, group: gateway.networking.k8s.io, name: g}]"),
		"VirtualService": `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: v}
spec:
  hosts: [a]
  http:
  - route: [{destination: {host: a, subset: 5}, weight: "x"}]
`,
		"waypoint Gateway without a class": `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: waypoint}
spec:
  listeners: [{name: mesh, port: 15008, protocol: HBONE}]
`,
		"TrafficExtension with wasm and lua": `apiVersion: extensions.istio.io/v1alpha1
kind: TrafficExtension
metadata: {name: x}
spec:
  targetRefs: [{kind: Gateway, group: gateway.networking.k8s.io, name: waypoint}]
  wasm: {url: oci://r/lanedye-sidecar:1}
  lua: {inlineCode: x}
`,
		"Deployment typo": `apiVersion: apps/v1
kind: Deployment
metadata: {name: d}
spec: {replica: 1}
`,
		"Telemetry metric": `apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: {name: t}
spec:
  metrics:
  - overrides: [{match: {metric: REQUEST_COUNTS}, tagOverrides: {lane: {value: x}}}]
`,
		"Telemetry custom tag": `apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: {name: t}
spec:
  tracing:
  - customTags: {lane: {requestHeader: {name: x-swimlane}}}
`,
		"meshConfig typo": `apiVersion: install.istio.io/v1alpha1
kind: IstioOperator
metadata: {name: m}
spec:
  meshConfig:
    extensionProviders: [{name: a, envoyFileAccessLog: {path: /dev/stdout, logFormt: {text: x}}}]
`,
		"IstioOperator beyond meshConfig": `apiVersion: install.istio.io/v1alpha1
kind: IstioOperator
metadata: {name: m}
spec:
  profile: demo
  meshConfig: {}
`,
	}
	for name, doc := range cases {
		t.Run(name, func(t *testing.T) {
			_, errs := crds.Validate([]byte(doc))
			if len(errs) == 0 {
				t.Fatal("invalid manifest passed")
			}
			t.Log(errs[0])
		})
	}
	// A pluginConfig the plugin rejects.
	if _, err := anyrole.Parse([]byte(`{"role":"gateway","rules":[{"name":"r","lane":"gray"}]}`)); err == nil {
		t.Error("config with an unknown lane accepted")
	}
}

// asTrafficExtension is the TrafficExtension spec equivalent to a
// WasmPlugin spec: targeting, match, phase and priority stay at the top,
// everything about the module moves under wasm.
func asTrafficExtension(wp map[string]any) map[string]any {
	te, wasm := map[string]any{}, map[string]any{}
	for k, v := range wp {
		switch k {
		case "selector", "targetRef", "targetRefs", "phase", "priority", "match":
			te[k] = v
		default:
			wasm[k] = v
		}
	}
	te["wasm"] = wasm
	return te
}

// specs returns the spec of each resource of kind in rendered YAML, by
// namespace/name.
func specs(t *testing.T, rendered []byte, kind string) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	for _, doc := range istiocrd.SplitYAML(rendered) {
		var obj struct {
			Kind     string
			Metadata struct{ Name, Namespace string }
			Spec     map[string]any
		}
		if err := yaml.Unmarshal(doc, &obj); err != nil {
			t.Fatal(err)
		}
		if obj.Kind == kind {
			out[obj.Metadata.Namespace+"/"+obj.Metadata.Name] = obj.Spec
		}
	}
	return out
}

// deploy/example-trafficextension is the example for Istio >= 1.30: the
// same resources with each WasmPlugin replaced by an equivalent
// TrafficExtension (never both: Istio would run the plugin twice), valid
// against the CRDs, with pluginConfigs the plugin accepts. The default
// kustomizations hold no TrafficExtension.
func TestTrafficExtensionKustomization(t *testing.T) {
	crds := loadCRDs(t)
	base := kustomize(t, "example")
	te := kustomize(t, "example-trafficextension")
	for _, dir := range []string{"example", "plugins"} {
		if got := specs(t, kustomize(t, dir), "TrafficExtension"); len(got) != 0 {
			t.Errorf("deploy/%s applies TrafficExtensions %v beside its WasmPlugins", dir, slices.Sorted(maps.Keys(got)))
		}
	}
	if got := specs(t, te, "WasmPlugin"); len(got) != 0 {
		t.Errorf("deploy/example-trafficextension keeps WasmPlugins %v", slices.Sorted(maps.Keys(got)))
	}
	wps, tes := specs(t, base, "WasmPlugin"), specs(t, te, "TrafficExtension")
	if len(wps) != 2 || len(tes) != len(wps) {
		t.Fatalf("%d WasmPlugins in the example, %d TrafficExtensions in its 1.30 variant", len(wps), len(tes))
	}
	for name, wp := range wps {
		want, _ := json.Marshal(asTrafficExtension(wp))
		got, _ := json.Marshal(tes[name])
		if string(got) != string(want) {
			t.Errorf("TrafficExtension %s is not its WasmPlugin's equivalent:\n%s\nwant\n%s", name, got, want)
		}
	}
	// Everything else is the same.
	other := func(rendered []byte) []string {
		var out []string
		for _, doc := range istiocrd.SplitYAML(rendered) {
			if kind, _ := crds.Validate(doc); kind != "WasmPlugin" && kind != "TrafficExtension" {
				js, err := yaml.YAMLToJSON(doc)
				if err != nil {
					t.Fatal(err)
				}
				out = append(out, string(js))
			}
		}
		sort.Strings(out)
		return out
	}
	if !slices.Equal(other(base), other(te)) {
		t.Error("deploy/example-trafficextension differs from deploy/example beyond the plugins")
	}
	for _, doc := range istiocrd.SplitYAML(te) {
		kind, errs := crds.Validate(doc)
		for _, e := range errs {
			t.Errorf("rendered %s: %s", kind, e)
		}
	}
	for name, spec := range tes {
		pc, _ := json.Marshal(spec["wasm"].(map[string]any)["pluginConfig"])
		if _, err := anyrole.Parse(pc, config.WithEnv(func(string) (string, bool) { return "0123456789abcdef0123456789abcdef", true })); err != nil {
			t.Errorf("TrafficExtension %s: pluginConfig rejected by the plugin: %v", name, err)
		}
	}
}
