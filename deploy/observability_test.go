package deploy

import (
	"cmp"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"

	"github.com/lanedye/lanedye/internal/istiocrd"
)

// telemetry is the part of deploy/observability/telemetry.yaml checked here.
type telemetry struct {
	Spec struct {
		Metrics []struct {
			Overrides []struct {
				Match        struct{ Metric string }
				TagOverrides map[string]struct{ Value string } `json:"tagOverrides"`
			}
		}
		Tracing []struct {
			CustomTags map[string]struct {
				Header struct {
					Name         string
					DefaultValue string `json:"defaultValue"`
				}
			} `json:"customTags"`
		}
		AccessLogging []struct {
			Providers []struct{ Name string }
		} `json:"accessLogging"`
	}
}

// accessLogProviders are the extension providers of mesh-access-log.yaml.
type accessLogProviders struct {
	Spec struct {
		MeshConfig struct {
			ExtensionProviders []struct {
				Name               string
				EnvoyFileAccessLog struct {
					LogFormat struct{ Labels map[string]string }
				} `json:"envoyFileAccessLog"`
			} `json:"extensionProviders"`
		} `json:"meshConfig"`
	}
}

// pluginHeaders reads lane_header, default_lane, lanes and
// fallback.route_header of a WasmPlugin under plugins/.
func pluginHeaders(t *testing.T, file string) (laneHeader, routeHeader, def string, lanes []string) {
	t.Helper()
	var wp struct {
		Spec struct {
			PluginConfig struct {
				LaneHeader  string `json:"lane_header"`
				DefaultLane string `json:"default_lane"`
				Lanes       []string
				Fallback    struct {
					RouteHeader string `json:"route_header"`
				}
			} `json:"pluginConfig"`
		}
	}
	unmarshalFile(t, "plugins/"+file, &wp)
	c := wp.Spec.PluginConfig
	return cmp.Or(c.LaneHeader, "x-swimlane"), cmp.Or(c.Fallback.RouteHeader, "x-lane-route"), cmp.Or(c.DefaultLane, "base"), c.Lanes
}

func unmarshalFile(t *testing.T, name string, into any) {
	t.Helper()
	b, err := os.ReadFile(name)
	if err == nil {
		err = yaml.Unmarshal(b, into)
	}
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

// The observability resources build with kustomize, validate, and name the
// headers, lanes and providers the plugins and the mesh configuration use.
func TestObservabilityMatchesPlugins(t *testing.T) {
	crds := loadCRDs(t)
	m, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(filesys.MakeFsOnDisk(), "observability")
	if err != nil {
		t.Fatalf("kustomize: %v", err)
	}
	rendered, _ := m.AsYaml()
	for _, doc := range istiocrd.SplitYAML(rendered) {
		if kind, errs := crds.Validate(doc); len(errs) > 0 || kind != "Telemetry" {
			t.Errorf("rendered %s: %v", kind, errs)
		}
	}
	laneHeader, _, def, lanes := pluginHeaders(t, "wasmplugin-gateway.yaml")
	_, routeHeader, _, _ := pluginHeaders(t, "wasmplugin-sidecar.yaml")
	var tel telemetry
	unmarshalFile(t, "observability/telemetry.yaml", &tel)
	var mesh accessLogProviders
	unmarshalFile(t, "observability/mesh-access-log.yaml", &mesh)

	t.Run("metrics", func(t *testing.T) { checkLaneTag(t, &tel, laneHeader, def, lanes) })
	t.Run("tracing", func(t *testing.T) {
		if len(tel.Spec.Tracing) != 1 {
			t.Fatalf("%d tracing blocks", len(tel.Spec.Tracing))
		}
		tags := tel.Spec.Tracing[0].CustomTags
		if tags["lane"].Header.Name != laneHeader || tags["lane"].Header.DefaultValue != def || tags["lane_route"].Header.Name != routeHeader {
			t.Errorf("custom tags %+v", tags)
		}
	})
	t.Run("access log", func(t *testing.T) { checkAccessLog(t, &tel, &mesh, laneHeader, routeHeader) })
}

// checkLaneTag: the lane tag of both metrics reads the gateway's lane
// header and lets only its lanes through, everything else counting as the
// default lane.
func checkLaneTag(t *testing.T, tel *telemetry, laneHeader, def string, lanes []string) {
	lanesJSON, _ := json.Marshal(lanes)
	wantExpr := "'" + laneHeader + "' in request.headers && request.headers['" + laneHeader + "'] in " +
		strings.ReplaceAll(string(lanesJSON), `"`, "'") + " ? request.headers['" + laneHeader + "'] : '" + def + "'"
	seen := map[string]bool{}
	for _, mt := range tel.Spec.Metrics {
		for _, o := range mt.Overrides {
			seen[o.Match.Metric] = true
			if got := o.TagOverrides["lane"].Value; got != wantExpr {
				t.Errorf("%s lane tag %q, want %q", o.Match.Metric, got, wantExpr)
			}
		}
	}
	if !seen["REQUEST_COUNT"] || !seen["REQUEST_DURATION"] {
		t.Errorf("lane tag on %v, want REQUEST_COUNT and REQUEST_DURATION", seen)
	}
}

// checkAccessLog: every access-log provider the Telemetry names is defined
// by the mesh overlay, with the lane and route lane headers in its format.
func checkAccessLog(t *testing.T, tel *telemetry, mesh *accessLogProviders, laneHeader, routeHeader string) {
	providers := map[string]map[string]string{}
	for _, p := range mesh.Spec.MeshConfig.ExtensionProviders {
		providers[p.Name] = p.EnvoyFileAccessLog.LogFormat.Labels
	}
	n := 0
	for _, al := range tel.Spec.AccessLogging {
		for _, p := range al.Providers {
			n++
			labels, ok := providers[p.Name]
			if !ok {
				t.Errorf("access log provider %q is not defined in mesh-access-log.yaml", p.Name)
				continue
			}
			if labels["lane"] != "%REQ("+strings.ToUpper(laneHeader)+")%" || labels["route_lane"] != "%REQ("+strings.ToUpper(routeHeader)+")%" {
				t.Errorf("provider %s: lane %q, route_lane %q", p.Name, labels["lane"], labels["route_lane"])
			}
		}
	}
	if n == 0 {
		t.Error("no access log provider")
	}
}
