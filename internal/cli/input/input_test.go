package input

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const wasmPlugin = `apiVersion: extensions.istio.io/v1alpha1
kind: WasmPlugin
metadata: {name: %s, namespace: ns}
spec:
  url: oci://r/lanedye:1
  pluginConfig: {role: gateway, lanes: [gray]}
`

func plugin(name string) string { return strings.Replace(wasmPlugin, "%s", name, 1) }

// summary writes what Read found, one line per configuration ("SOURCE
// NAME JSON") and per problem ("SOURCE: PATH: MSG").
func summary(f Found) string {
	var out []string
	for _, c := range f.Configs {
		out = append(out, c.Source+" "+c.Name+" "+string(c.JSON))
	}
	for _, p := range f.Problems {
		out = append(out, p.Error())
	}
	return strings.Join(out, "\n")
}

func TestRead(t *testing.T) {
	for _, tc := range []struct {
		name, data, want string
	}{
		{"bare JSON, byte for byte", ` {"role": "gateway",  "debug":true} `, `f  {"role": "gateway",  "debug":true}`},
		{"bare YAML", "role: sidecar\nlanes: [gray]\n", `f  {"lanes":["gray"],"role":"sidecar"}`},
		{"a WasmPlugin", plugin("a"), `f a {"lanes":["gray"],"role":"gateway"}`},
		{"several documents, other kinds skipped, comments ignored", "# hi\n---\napiVersion: v1\nkind: Service\nmetadata: {name: s}\n---\n" + plugin("a") + "---\n" + plugin("b") + "---\n",
			"f#2 a {\"lanes\":[\"gray\"],\"role\":\"gateway\"}\nf#3 b {\"lanes\":[\"gray\"],\"role\":\"gateway\"}"},
		{"a List", "apiVersion: v1\nkind: List\nitems:\n- " + strings.ReplaceAll(plugin("a"), "\n", "\n  "),
			`f#items[0] a {"lanes":["gray"],"role":"gateway"}`},
		{"a WasmPlugin List in JSON", `{"apiVersion":"v1","kind":"WasmPluginList","items":[{"kind":"WasmPlugin","metadata":{"name":"j"},"spec":{"pluginConfig":{"role":"sidecar"}}}]}`,
			`f#items[0] j {"role":"sidecar"}`},
		{"a TrafficExtension", "apiVersion: extensions.istio.io/v1alpha1\nkind: TrafficExtension\nmetadata: {name: t, namespace: ns}\nspec:\n  wasm:\n    url: oci://r/lanedye-sidecar:1\n    pluginConfig: {role: sidecar}\n",
			`f t {"role":"sidecar"}`},
		{"a Lua TrafficExtension is not lanedye's", "apiVersion: extensions.istio.io/v1alpha1\nkind: TrafficExtension\nmetadata: {name: l}\nspec:\n  lua: {inlineCode: x}\n", ""},
		{"a TrafficExtension without pluginConfig", "kind: TrafficExtension\nmetadata: {name: x}\nspec: {wasm: {url: oci://r/x}}\n",
			"f: spec.wasm.pluginConfig: missing: the plugin would start without a configuration, which it rejects"},
		{"no pluginConfig", "kind: WasmPlugin\nmetadata: {name: x}\nspec: {url: oci://r/x}\n",
			"f: spec.pluginConfig: missing: the plugin would start without a configuration, which it rejects"},
		{"not YAML", "role: [gateway\n", "f: $: not valid YAML: yaml: line 1: did not find expected ',' or ']'"},
		{"duplicate keys", "role: gateway\nrole: sidecar\n", `f: $: not valid YAML: yaml: unmarshal errors: line 2: key "role" already set in map`},
		{"a list, not a mapping", "- role: gateway\n", "f: $: not a pluginConfig or a manifest: a list, not a mapping"},
		{"a scalar", "gateway\n", "f: $: not a pluginConfig or a manifest: a string, not a mapping"},
		{"one bad document of two", plugin("a") + "---\n: :\n  - [\n", "f#1 a {\"lanes\":[\"gray\"],\"role\":\"gateway\"}\nf#2: $: not valid YAML: yaml: did not find expected key"},
		{"too deep JSON", strings.Repeat("{\"a\":", MaxDepth+1) + strings.Repeat("}", MaxDepth+1), "f: $: nesting deeper than 10000 levels"},
		{"too large", strings.Repeat(" ", MaxFileSize+1), "f: $: larger than 32 MiB"},
		{"empty", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := summary(Read("f", []byte(tc.data))); got != tc.want {
				t.Errorf("got\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	write := func(name, data string) string {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	gw := write("tree/plugins/gw.yaml", plugin("gw"))
	svc := write("tree/example/svc.yaml", "apiVersion: v1\nkind: Service\nmetadata: {name: s}\n")
	write("tree/kustomization.yaml", "resources: [plugins/gw.yaml]\n")
	write("tree/notes.txt", "role: nonsense")
	write("empty/x.yaml", "kind: Namespace\n")
	for _, tc := range []struct {
		name, arg, stdin, want string
	}{
		{"a file", gw, "", gw + " gw {\"lanes\":[\"gray\"],\"role\":\"gateway\"}"},
		{"a file named directly must hold a configuration", svc, "", svc + ": $: no lanedye configuration (a pluginConfig, WasmPlugin or TrafficExtension manifests or a List of them); found Service"},
		{"a directory: configurations only, kustomization and other files skipped", filepath.Join(dir, "tree"), "", gw + " gw {\"lanes\":[\"gray\"],\"role\":\"gateway\"}"},
		{"a directory without any", filepath.Join(dir, "empty"), "", filepath.Join(dir, "empty") + ": $: no lanedye configuration in any *.yaml, *.yml or *.json file under it"},
		{"stdin", "-", `{"role":"sidecar"}`, `<stdin>  {"role":"sidecar"}`},
		{"empty stdin", "-", "", "<stdin>: $: no lanedye configuration: the file is empty"},
		{"a missing file", filepath.Join(dir, "nope.yaml"), "", filepath.Join(dir, "nope.yaml") + ": $: cannot read: no such file or directory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := summary(Load(tc.arg, strings.NewReader(tc.stdin))); got != tc.want {
				t.Errorf("got\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
}
