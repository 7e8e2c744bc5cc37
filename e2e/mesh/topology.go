package mesh

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"

	"sigs.k8s.io/yaml"
)

// Route is a VirtualService's HTTP routes for one host.
type Route struct {
	Rules   []Rule
	Default string // subset
	Service string // destination service
}

// Rule is an exact header match routing to a subset.
type Rule struct{ Header, Exact, Subset string }

// Topology is what the mesh runs.
type Topology struct {
	Gateway, Sidecar []byte              // plugin configurations (JSON)
	GatewayHost      string              // the host the gateway serves
	Routes           map[string]Route    // by host: the gateway host and service names
	Services         map[string][]string // service -> versions deployed
	Next             map[string]string   // service -> the service it calls
	LaneHeader       string              // the gateway's lane_header
	RouteHeader      string              // the sidecars' fallback.route_header
	// GatewayEnv is the gateway VM's environment: the variables its
	// WasmPlugin takes from the proxy (vmConfig.env, valueFrom: HOST), with
	// the values of the Secret of deploy/ that feeds them.
	GatewayEnv map[string]string
	// Labels are each Deployment's pod labels, by "service-version".
	Labels  map[string]map[string]string
	secrets map[string]string
	hostEnv []string
	// plugins counts the WasmPlugins by role; extensions are the
	// pluginConfigs of the TrafficExtensions (Istio >= 1.30) by role, each
	// the equivalent of a WasmPlugin, never applied beside it.
	plugins    map[string]int
	extensions map[string][]json.RawMessage
}

// LoadTopology reads deploy/plugins and deploy/example under dir (the
// repository root).
func LoadTopology(dir string) (*Topology, error) {
	t := &Topology{Routes: map[string]Route{}, Services: map[string][]string{}, Next: map[string]string{},
		Labels: map[string]map[string]string{}, secrets: map[string]string{},
		plugins: map[string]int{}, extensions: map[string][]json.RawMessage{}}
	// Only these two: deploy/ambient runs the same example without sidecars.
	for _, sub := range []string{"plugins", "example"} {
		if err := t.read(filepath.Join(dir, "deploy", sub)); err != nil {
			return nil, err
		}
	}
	t.GatewayEnv = map[string]string{}
	for _, k := range t.hostEnv {
		v, ok := t.secrets[k]
		if !ok {
			return nil, fmt.Errorf("deploy/: no Secret holds %s, which the gateway WasmPlugin takes from the proxy", k)
		}
		t.GatewayEnv[k] = v
	}
	if t.Gateway == nil || t.Sidecar == nil || t.GatewayHost == "" {
		return nil, errors.New("deploy/ lacks the gateway or sidecar WasmPlugin or the gateway VirtualService")
	}
	if err := t.checkPlugins(); err != nil {
		return nil, err
	}
	return t, nil
}

// read adds every manifest of the YAML files under dir.
func (t *Topology) read(dir string) error {
	return filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || filepath.Ext(p) != ".yaml" || filepath.Base(p) == "kustomization.yaml" {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for _, doc := range strings.Split(string(data), "\n---") {
			if err := t.add([]byte(doc)); err != nil {
				return fmt.Errorf("%s: %w", p, err)
			}
		}
		return nil
	})
}

// checkPlugins wants one WasmPlugin per role, and every TrafficExtension of
// a role carrying the WasmPlugin's pluginConfig.
func (t *Topology) checkPlugins() error {
	for role, mine := range map[string][]byte{"gateway": t.Gateway, "sidecar": t.Sidecar} {
		if n := t.plugins[role]; n != 1 {
			return fmt.Errorf("deploy/ has %d %s WasmPlugins, want 1", n, role)
		}
		for _, pc := range t.extensions[role] {
			if !sameJSON(pc, mine) {
				return fmt.Errorf("deploy/: a %s TrafficExtension's pluginConfig differs from the WasmPlugin's", role)
			}
		}
	}
	return nil
}

type manifest struct {
	Kind       string
	Metadata   struct{ Name string }
	StringData map[string]string `json:"stringData"`
	Spec       struct {
		PluginConfig json.RawMessage `json:"pluginConfig"`
		Wasm         struct {
			PluginConfig json.RawMessage `json:"pluginConfig"`
		}
		VMConfig struct {
			Env []struct{ Name, ValueFrom string }
		} `json:"vmConfig"`
		Hosts    []string
		Gateways []string
		HTTP     []struct {
			Match []struct {
				Headers map[string]struct{ Exact string }
			}
			Route []struct {
				Destination struct{ Host, Subset string }
			}
		} `json:"http"`
		Template struct {
			Metadata struct{ Labels map[string]string }
			Spec     struct {
				Containers []struct {
					Env []struct{ Name, Value string }
				}
			}
		}
	}
}

func (t *Topology) add(doc []byte) error {
	var m manifest
	if err := yaml.Unmarshal(doc, &m); err != nil {
		return err
	}
	switch m.Kind {
	case "WasmPlugin":
		t.addPlugin(&m)
	case "TrafficExtension":
		if m.Spec.Wasm.PluginConfig != nil {
			role := roleOf(m.Spec.Wasm.PluginConfig)
			t.extensions[role] = append(t.extensions[role], m.Spec.Wasm.PluginConfig)
		}
	case "VirtualService":
		t.addRoutes(&m)
	case "Deployment":
		t.addDeployment(&m)
	case "Secret":
		for k, v := range m.StringData {
			t.secrets[k] = v
		}
	}
	return nil
}

func (t *Topology) addPlugin(m *manifest) {
	var cfg struct {
		Role       string
		LaneHeader string `json:"lane_header"`
		Fallback   struct {
			RouteHeader string `json:"route_header"`
		}
	}
	_ = json.Unmarshal(m.Spec.PluginConfig, &cfg)
	switch cfg.Role {
	case "sidecar":
		t.plugins[cfg.Role]++
		t.Sidecar = m.Spec.PluginConfig
		t.RouteHeader = cmp.Or(cfg.Fallback.RouteHeader, "x-lane-route")
	case "gateway":
		t.plugins[cfg.Role]++
		t.Gateway = m.Spec.PluginConfig
		t.LaneHeader = cmp.Or(cfg.LaneHeader, "x-swimlane")
		for _, e := range m.Spec.VMConfig.Env {
			if e.ValueFrom == "HOST" {
				t.hostEnv = append(t.hostEnv, e.Name)
			}
		}
	}
	// Other roles (the waypoint of deploy/ambient) are not part of this
	// mesh.
}

func (t *Topology) addRoutes(m *manifest) {
	var r Route
	for _, h := range m.Spec.HTTP {
		if len(h.Route) == 0 {
			continue
		}
		dst := h.Route[0].Destination
		r.Service = strings.SplitN(dst.Host, ".", 2)[0]
		if len(h.Match) == 0 {
			r.Default = dst.Subset
			continue
		}
		for name, v := range h.Match[0].Headers {
			r.Rules = append(r.Rules, Rule{Header: name, Exact: v.Exact, Subset: dst.Subset})
		}
	}
	for _, host := range m.Spec.Hosts {
		t.Routes[host] = r
		if len(m.Spec.Gateways) > 0 {
			t.GatewayHost = host
		}
	}
}

func (t *Topology) addDeployment(m *manifest) {
	labels := m.Spec.Template.Metadata.Labels
	svc, ver := labels["app"], labels["version"]
	if svc == "" {
		return // not an application of the example (the gateway's env patch)
	}
	t.Services[svc] = append(t.Services[svc], ver)
	t.Labels[svc+"-"+ver] = labels
	for _, c := range m.Spec.Template.Spec.Containers {
		for _, e := range c.Env {
			if e.Name == "upstream_url" {
				u := strings.TrimPrefix(e.Value, "http://")
				t.Next[svc] = strings.SplitN(strings.SplitN(u, ":", 2)[0], "/", 2)[0]
			}
		}
	}
}

// roleOf is a pluginConfig's "role".
func roleOf(pc json.RawMessage) string {
	var cfg struct{ Role string }
	_ = json.Unmarshal(pc, &cfg)
	return cfg.Role
}

// sameJSON reports whether two JSON documents hold the same value.
func sameJSON(a, b json.RawMessage) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}
