package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestValidate(t *testing.T) {
	gw, sc := repo("deploy/plugins/wasmplugin-gateway.yaml"), repo("deploy/plugins/wasmplugin-sidecar.yaml")
	both := func() string {
		a, _ := os.ReadFile(gw)
		b, _ := os.ReadFile(sc)
		return string(a) + "---\n" + string(b)
	}()
	dir := t.TempDir()
	file := func(name, data string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	badRegex := file("bad.json", `{"role":"gateway","lanes":["gray"],"rules":[{"name":"r","lane":"gray","match":[{"headers":{"x":{"regex":"(a"}}}]}]}`)
	noBaggage := file("gw.json", `{"role":"gateway","lanes":["gray"],"rules":[{"name":"r","lane":"gray"}]}`)
	readsBaggage := file("sc.json", `{"role":"sidecar","lanes":["gray","dev-a"],"baggage":"lane"}`)
	noConfig := file("wp.yaml", "apiVersion: extensions.istio.io/v1alpha1\nkind: WasmPlugin\nmetadata: {name: x}\nspec: {url: oci://r/x}\n")
	for _, tc := range []struct {
		name  string
		stdin string
		args  []string
		want  string
		code  int
	}{
		{"the shipped configurations, together", "", []string{gw, sc}, gw + ": ok: gateway, lanes base, gray (default first), 5 rules\n" +
			sc + ": ok: sidecar, lanes base, gray (default first), fallback\n", 0},
		{"kustomize-like output on stdin", both, []string{"-", "-q"}, "", 0},
		{"the plugin's message, at its path", "", []string{badRegex},
			badRegex + ": rules[0].match[0].headers.x.regex: error parsing regexp: missing closing ): `(a`\n", 1},
		{"checked together", "", []string{"-q", noBaggage, readsBaggage},
			readsBaggage + `: baggage: reads baggage member "lane", but the gateway ` + noBaggage + ` owns no baggage member: a client could choose its lane through baggage; set "baggage": "lane" there` + "\n" +
				readsBaggage + `: lanes[1]: warning: no gateway produces lane "dev-a" (no rule dyes into it, and no lane_from or trust lets a client choose it)` + "\n", 1},
		{"no ok line for a configuration in error", "", []string{noBaggage, readsBaggage},
			readsBaggage + `: baggage: reads baggage member "lane", but the gateway ` + noBaggage + ` owns no baggage member: a client could choose its lane through baggage; set "baggage": "lane" there` + "\n" +
				readsBaggage + `: lanes[1]: warning: no gateway produces lane "dev-a" (no rule dyes into it, and no lane_from or trust lets a client choose it)` + "\n" +
				noBaggage + ": ok: gateway, lanes base, gray (default first), 1 rule\n", 1},
		{"a WasmPlugin without pluginConfig", "", []string{noConfig},
			noConfig + ": spec.pluginConfig: missing: the plugin would start without a configuration, which it rejects\n", 1},
		{"not YAML", "role: [\n", []string{"-"}, "<stdin>: $: not valid YAML: yaml: line 1: did not find expected node content\n", 1},
		{"a List, with its item named", "apiVersion: v1\nkind: List\nitems:\n- {kind: WasmPlugin, spec: {pluginConfig: {role: gateway, debug: 1}}}\n",
			[]string{"-"}, "<stdin>#items[0]: debug: must be true or false\n", 1},
		{"a directory", "", []string{"-q", repo("deploy")}, "", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, errs, code := lanedye(t, tc.stdin, append([]string{"validate"}, tc.args...)...)
			if out != tc.want || code != tc.code || errs != "" {
				t.Errorf("exit %d, stdout:\n%s\nstderr:\n%s\nwant exit %d, stdout:\n%s", code, out, errs, tc.code, tc.want)
			}
		})
	}
}

// make test runs this on deploy/: every configuration there is valid and
// consistent.
func TestShippedDeployIsValid(t *testing.T) {
	out, errs, code := lanedye(t, "", "validate", repo("deploy"))
	// The gateway and the sidecar, each as a WasmPlugin and as a
	// TrafficExtension, and the ambient waypoint's TrafficExtension and
	// WasmPlugin.
	if code != 0 || strings.Count(out, ": ok: ") != 6 || strings.Count(out, ": ok: waypoint,") != 2 || strings.Contains(out, "warning") {
		t.Errorf("exit %d\n%s%s", code, out, errs)
	}
	for _, f := range []string{"wasmplugin-gateway.yaml: ok: gateway", "wasmplugin-sidecar.yaml: ok: sidecar",
		"trafficextension/trafficextension-gateway.yaml: ok: gateway", "trafficextension/trafficextension-sidecar.yaml: ok: sidecar"} {
		if !strings.Contains(out, "/deploy/plugins/"+f) {
			t.Errorf("no %q in\n%s", f, out)
		}
	}
}
