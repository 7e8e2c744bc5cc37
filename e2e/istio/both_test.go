package istioe2e

import (
	"testing"
)

// Why the default kustomizations never apply a WasmPlugin and its
// TrafficExtension together: Istio 1.30 translates each WasmPlugin into a
// TrafficExtension of its own and serves both, so every proxy gets
// lanedye's filter twice and each request runs the plugin twice. With one
// kind alone, each proxy has one lanedye filter (TestImagePath).
func TestBothAPIsRunThePluginTwice(t *testing.T) {
	root := repoRoot(t)
	refs := map[string]string{"gateway": "registry.invalid/lanedye-gateway:1", "sidecar": "registry.invalid/lanedye-sidecar:1"}
	s := newSubnet(t)
	objs := kustomize(t, root, wasmPluginAPI.kustomization())
	var extensions []obj
	for _, x := range kustomize(t, root, trafficExtensionAPI.kustomization()) {
		if x.kind() == string(trafficExtensionAPI) {
			setURL(x, "oci://"+refs[role(x)])
			extensions = append(extensions, x)
		}
	}
	if len(extensions) != 2 {
		t.Fatalf("%d TrafficExtensions in deploy/%s", len(extensions), trafficExtensionAPI.kustomization())
	}
	gw, apps := workloads(objs, s)
	configs := istioConfigs(t, root, meshOptions{API: wasmPluginAPI, Edit: func(o []obj) []obj { return append(o, extensions...) }},
		objs, apps, refs)
	d := startIstiod(t, "", configs, kubeObjects(t, objs, gw, apps, 8080))
	for _, w := range []workload{gw, apps[0]} {
		if names := ecdsNames(t, d, w); len(names) != 2 {
			t.Errorf("%s with both kinds applied: %d lanedye filters %v, want 2 (one per resource)", w.Name, len(names), names)
		} else {
			t.Logf("%s: filters %v", w.Name, names)
		}
	}
}
