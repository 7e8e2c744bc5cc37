package mesh

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// copyDeploy copies the repository's deploy/ into a temporary root, with
// edit applied to each file's text.
func copyDeploy(t *testing.T, edit func(rel, text string) string) string {
	t.Helper()
	root := t.TempDir()
	src := filepath.Join("..", "..", "deploy")
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		dst := filepath.Join(root, "deploy", rel)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		return os.WriteFile(dst, []byte(edit(filepath.ToSlash(rel), string(data))), 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// deploy/ holds each plugin twice, as a WasmPlugin and as a
// TrafficExtension: the mesh runs the WasmPlugins' configurations, one per
// role, and refuses a TrafficExtension that says something else.
func TestLoadTopologyPlugins(t *testing.T) {
	topo, err := LoadTopology(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(topo.Gateway), `"role":"gateway"`) || !strings.Contains(string(topo.Sidecar), `"role":"sidecar"`) {
		t.Errorf("gateway %s\nsidecar %s", topo.Gateway, topo.Sidecar)
	}
	for name, tc := range map[string]struct {
		edit func(rel, text string) string
		want string
	}{
		"a TrafficExtension that differs": {func(rel, text string) string {
			if rel == "plugins/trafficextension/trafficextension-sidecar.yaml" {
				return strings.Replace(text, "ttl: 60", "ttl: 61", 1)
			}
			return text
		}, "a sidecar TrafficExtension's pluginConfig differs from the WasmPlugin's"},
		"two sidecar WasmPlugins": {func(rel, text string) string {
			if rel == "plugins/wasmplugin-sidecar.yaml" {
				return text + "\n---\n" + strings.Replace(text, "name: lanedye-sidecar", "name: other", 1)
			}
			return text
		}, "deploy/ has 2 sidecar WasmPlugins, want 1"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := LoadTopology(copyDeploy(t, tc.edit))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
}
