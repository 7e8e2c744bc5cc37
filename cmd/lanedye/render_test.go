package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/tidwall/gjson"
	"sigs.k8s.io/yaml"

	"github.com/lanedye/lanedye/internal/cli/input"
	"github.com/lanedye/lanedye/internal/istiocrd"
)

// objects returns the manifests of YAML text by "Kind/name", as generic
// values (comments and formatting gone).
func objects(t *testing.T, data []byte) map[string]any {
	t.Helper()
	out := map[string]any{}
	for _, doc := range istiocrd.SplitYAML(data) {
		var obj map[string]any
		if err := yaml.Unmarshal(doc, &obj); err != nil {
			t.Fatal(err)
		}
		meta, _ := obj["metadata"].(map[string]any)
		kind, _ := obj["kind"].(string)
		name, _ := meta["name"].(string)
		if kind != "" && name != "" {
			out[kind+"/"+name] = obj
		}
	}
	return out
}

func keys(m map[string]any) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// render of the shipped sidecar configuration gives the routing of
// deploy/example: the DestinationRules of all three services and the
// VirtualServices of the two that sidecars route on the route header
// (frontend is routed at the gateway, on the lane header). Everything it
// writes validates against Istio's CRD schemas.
func TestRenderRegeneratesTheExample(t *testing.T) {
	out, errs, code := lanedye(t, "", "render", "-f", repo("deploy/plugins/wasmplugin-sidecar.yaml"))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	crds, err := istiocrd.Load()
	if err != nil {
		t.Fatal(err)
	}
	for _, doc := range istiocrd.SplitYAML([]byte(out)) {
		if kind, errs := crds.Validate(doc); len(errs) > 0 {
			t.Errorf("rendered %s does not validate: %v", kind, errs)
		}
	}
	rendered := objects(t, []byte(out))
	example := map[string]any{}
	files, _ := filepath.Glob(repo("deploy/example/*.yaml"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range objects(t, b) {
			example[k] = v
		}
	}
	want := []string{"DestinationRule/checkout", "DestinationRule/frontend", "DestinationRule/payment",
		"VirtualService/checkout", "VirtualService/frontend", "VirtualService/payment"}
	if got := keys(rendered); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("rendered %v, want %v", got, want)
	}
	for _, k := range []string{"DestinationRule/checkout", "DestinationRule/frontend", "DestinationRule/payment", "VirtualService/checkout", "VirtualService/payment"} {
		t.Run(k, func(t *testing.T) {
			if !reflect.DeepEqual(rendered[k], example[k]) {
				g, _ := json.Marshal(rendered[k])
				w, _ := json.Marshal(example[k])
				t.Errorf("rendered\n%s\ndeploy/example\n%s", g, w)
			}
		})
	}
}

// render fallback of deploy/example's Deployments gives the shipped
// sidecar's fallback.services.
func TestRenderFallbackMatchesTheShippedTable(t *testing.T) {
	files, _ := filepath.Glob(repo("deploy/example/*.yaml"))
	sc := repo("deploy/plugins/wasmplugin-sidecar.yaml")
	out, errs, code := lanedye(t, "", append([]string{"render", "fallback", "-f", sc}, files...)...)
	if code != 0 || errs != "" {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var got struct{ Services map[string][]string }
	if err := yaml.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	found := input.LoadFile(sc)
	var want map[string][]string
	if err := json.Unmarshal([]byte(gjson.GetBytes(found.Configs[0].JSON, "fallback.services").Raw), &want); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Services, want) {
		t.Errorf("render fallback: %v\nshipped: %v", got.Services, want)
	}
}

// render reads the sidecar TrafficExtension (Istio >= 1.30) as it reads
// the WasmPlugin: the same resources, the namespace taken from its
// metadata.
func TestRenderReadsTheTrafficExtension(t *testing.T) {
	wp, errs, code := lanedye(t, "", "render", "-f", repo("deploy/plugins/wasmplugin-sidecar.yaml"))
	if code != 0 {
		t.Fatalf("WasmPlugin: exit %d: %s", code, errs)
	}
	te, errs, code := lanedye(t, "", "render", "-f", repo("deploy/plugins/trafficextension/trafficextension-sidecar.yaml"))
	if code != 0 {
		t.Fatalf("TrafficExtension: exit %d: %s", code, errs)
	}
	body := func(s string) string { _, rest, _ := strings.Cut(s, "\n"); return rest } // after the "# Rendered ... from FILE" line
	if !strings.Contains(te, "namespace: lanedye-demo") || body(te) != body(wp) {
		t.Errorf("render of the TrafficExtension:\n%s\nof the WasmPlugin:\n%s", te, wp)
	}
}

// render --health-fallback of the shipped sidecar: the example's routing
// with named lane routes, and an EnvoyFilter for each service deployed in
// gray (frontend, payment; checkout is base only), all valid against
// Istio's CRD schemas (EnvoyFilter included). --port needs the flag.
func TestRenderHealthFallbackOfTheExample(t *testing.T) {
	sc := repo("deploy/plugins/wasmplugin-sidecar.yaml")
	out, errs, code := lanedye(t, "", "render", "-f", sc, "--health-fallback", "--port", "8000")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	crds, err := istiocrd.Load()
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]int{}
	for _, doc := range istiocrd.SplitYAML([]byte(out)) {
		kind, errs := crds.Validate(doc)
		kinds[kind]++
		if len(errs) > 0 {
			t.Errorf("rendered %s does not validate: %v", kind, errs)
		}
	}
	rendered := objects(t, []byte(out))
	if kinds["EnvoyFilter"] != 2 || rendered["EnvoyFilter/frontend-lane-fallback"] == nil || rendered["EnvoyFilter/payment-lane-fallback"] == nil {
		t.Errorf("EnvoyFilters %v in\n%s", kinds, out)
	}
	if !strings.Contains(out, "name: lanedye.gray.payment.lanedye-demo") ||
		!strings.Contains(out, "- outbound|8000|gray|payment.lanedye-demo.svc.cluster.local\n") ||
		!strings.Contains(out, "cluster: lanedye-fallback|8000|gray|payment.lanedye-demo.svc.cluster.local\n") {
		t.Errorf("no named gray route or aggregate for payment in\n%s", out)
	}
	if _, errs, code := lanedye(t, "", "render", "-f", sc, "--port", "8000"); code != 2 || !strings.Contains(errs, "--health-fallback") {
		t.Errorf("--port alone: exit %d: %s", code, errs)
	}
	if _, errs, code := lanedye(t, "", "render", "-f", sc, "--envoyfilter-namespace", "istio-system"); code != 2 || !strings.Contains(errs, "--health-fallback") {
		t.Errorf("--envoyfilter-namespace alone: exit %d: %s", code, errs)
	}
	if _, errs, code := lanedye(t, "", "render", "-f", sc, "--health-fallback", "--port", "x"); code != 2 {
		t.Errorf("--port x: exit %d: %s", code, errs)
	}
}
