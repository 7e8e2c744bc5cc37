package deploy

import (
	"cmp"
	"encoding/json"
	"os/exec"
	"reflect"
	"sort"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/lanedye/lanedye/internal/config"
	"github.com/lanedye/lanedye/internal/config/anyrole"
	"github.com/lanedye/lanedye/internal/istiocrd"
)

// The releases deploy/ambient is validated against besides go.mod's
// istio.io/api: their modules, fetched by the go command into the module
// cache as internal/gjson's test fetches gjson (go.mod names none of them,
// and the product keeps one istio.io/api).
const (
	// gatewayAPI validates every Gateway API manifest under deploy/.
	gatewayAPI = "v1.6.3"
	// gatewayAPIOldest is the Gateway API release Istio 1.24 supports.
	gatewayAPIOldest = "v1.2.1"
)

// istioRelease is one Istio release: the CRDs of its istio.io/api module
// and of a Gateway API release it supports.
type istioRelease struct {
	name, istio, gatewayAPI string // istio "": go.mod's istio.io/api
	trafficExtension        bool   // the release has TrafficExtension
}

var istioReleases = []istioRelease{
	// The oldest istio.io/api the module proxy serves (older tags lack
	// the "v" of a Go version): ambient mode's first GA release, whose
	// WasmPlugin already takes targetRefs.
	{"Istio 1.24", "v1.24.2", gatewayAPIOldest, false},
	// The last release without TrafficExtension.
	{"Istio 1.29", "v1.29.8", gatewayAPI, false},
	// The first release with TrafficExtension.
	{"Istio 1.30", "v1.30.8", gatewayAPI, true},
	{"go.mod's istio.io/api", "", gatewayAPI, true},
}

func loadGatewayAPI(t *testing.T, version string) *istiocrd.Schemas {
	t.Helper()
	s, err := istiocrd.LoadGatewayAPI(version)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func loadRelease(t *testing.T, r istioRelease) *istiocrd.Schemas {
	t.Helper()
	var s *istiocrd.Schemas
	var err error
	if r.istio == "" {
		s, err = istiocrd.Load()
	} else {
		s, err = istiocrd.LoadIstio(r.istio)
	}
	if err != nil {
		t.Fatal(err)
	}
	return s.With(loadGatewayAPI(t, r.gatewayAPI))
}

// object is what these tests read of a manifest.
type object struct {
	Kind     string
	Metadata struct {
		Name, Namespace string
		Labels          map[string]string
	}
	Spec struct {
		URL          string          `json:"url"`
		PluginConfig json.RawMessage `json:"pluginConfig"`
		TargetRefs   []struct {
			Group, Kind, Name string
		} `json:"targetRefs"`
		Wasm struct {
			URL          string          `json:"url"`
			PluginConfig json.RawMessage `json:"pluginConfig"`
		}
	}
}

func decode(t *testing.T, doc []byte) object {
	t.Helper()
	var o object
	if err := yaml.Unmarshal(doc, &o); err != nil {
		t.Fatal(err)
	}
	return o
}

// The two ambient kustomizations render the example without sidecars:
// its namespace in ambient mode with the waypoint, the waypoint's lanedye
// as a TrafficExtension (deploy/ambient) or a WasmPlugin (Istio < 1.30)
// carrying one configuration, which the plugin takes as a waypoint's.
func TestAmbientKustomizations(t *testing.T) {
	common := []string{
		"Deployment/checkout-base", "Deployment/frontend-base", "Deployment/frontend-gray", "Deployment/payment-base", "Deployment/payment-gray",
		"DestinationRule/checkout", "DestinationRule/frontend", "DestinationRule/payment", "Gateway/myapp", "Gateway/waypoint", "Namespace/lanedye-demo",
		"Secret/lanedye-sticky", "Service/checkout", "Service/frontend", "Service/payment",
		"VirtualService/checkout", "VirtualService/frontend-gateway", "VirtualService/frontend-mesh", "VirtualService/payment",
		"WasmPlugin/lanedye-gateway",
	}
	configs := map[string]json.RawMessage{}
	for dir, extension := range map[string]string{"ambient": "TrafficExtension/lanedye-waypoint", "ambient/istio-before-1.30": "WasmPlugin/lanedye-waypoint"} {
		t.Run(dir, func(t *testing.T) {
			var got []string
			for _, doc := range istiocrd.SplitYAML(kustomize(t, dir)) {
				o := decode(t, doc)
				got = append(got, o.Kind+"/"+o.Metadata.Name)
				if cfg := checkAmbientObject(t, o); cfg != nil {
					configs[dir] = cfg
				}
			}
			want := append([]string{extension}, common...)
			sort.Strings(got)
			sort.Strings(want)
			if strings.Join(got, " ") != strings.Join(want, " ") {
				t.Errorf("rendered resources:\n%v\nwant\n%v", got, want)
			}
		})
	}
	var a, b any
	_ = json.Unmarshal(configs["ambient"], &a)
	_ = json.Unmarshal(configs["ambient/istio-before-1.30"], &b)
	if a == nil || !reflect.DeepEqual(a, b) {
		t.Errorf("the TrafficExtension and the WasmPlugin configure the waypoint differently:\n%s\n%s", configs["ambient"], configs["ambient/istio-before-1.30"])
	}
}

// checkAmbientObject checks the namespace and the waypoint's extension of
// an ambient kustomization, and returns the extension's pluginConfig.
func checkAmbientObject(t *testing.T, o object) json.RawMessage {
	t.Helper()
	switch {
	case o.Kind == "Namespace":
		l := o.Metadata.Labels
		if l["istio.io/dataplane-mode"] != "ambient" || l["istio.io/use-waypoint"] != "waypoint" || l["istio.io/ingress-use-waypoint"] != "true" {
			t.Errorf("namespace labels %v: want ambient mode and the waypoint for every request, the ingress gateway's included", l)
		}
		if _, ok := l["istio-injection"]; ok {
			t.Errorf("namespace labels %v: sidecar injection still on", l)
		}
	case o.Metadata.Name == "lanedye-waypoint":
		cfg, url := o.Spec.PluginConfig, o.Spec.URL
		if o.Kind == "TrafficExtension" {
			cfg, url = o.Spec.Wasm.PluginConfig, o.Spec.Wasm.URL
		}
		c, err := anyrole.Parse(cfg)
		if err != nil {
			t.Fatalf("%s: pluginConfig rejected by the plugin: %v", o.Kind, err)
		}
		if c.Role != config.Waypoint || !strings.Contains(url, strings.TrimSuffix(c.Role.Module(), ".wasm")) {
			t.Errorf("%s: role %s from %s, want the waypoint role from an image of %s", o.Kind, c.Role, url, config.Waypoint.Module())
		}
		if len(o.Spec.TargetRefs) != 1 || o.Spec.TargetRefs[0] != (struct{ Group, Kind, Name string }{"gateway.networking.k8s.io", "Gateway", "waypoint"}) {
			t.Errorf("%s: targetRefs %+v, want the waypoint Gateway", o.Kind, o.Spec.TargetRefs)
		}
		return cfg
	}
	return nil
}

// validateAll validates rendered manifests and returns their errors, each
// after the kind and name of its manifest.
func validateAll(t *testing.T, crds *istiocrd.Schemas, docs [][]byte) []string {
	t.Helper()
	var errs []string
	for _, doc := range docs {
		kind, es := crds.Validate(doc)
		for _, e := range es {
			errs = append(errs, kind+" "+decode(t, doc).Metadata.Name+": "+e)
		}
	}
	return errs
}

// Each ambient kustomization validates against the CRDs of the Istio
// releases it is for, and deploy/ambient's TrafficExtension has no schema
// in the releases before 1.30: the check tells the releases apart.
func TestAmbientAcrossIstioReleases(t *testing.T) {
	rendered := map[string][][]byte{"ambient": istiocrd.SplitYAML(kustomize(t, "ambient")), "ambient/istio-before-1.30": istiocrd.SplitYAML(kustomize(t, "ambient/istio-before-1.30"))}
	if v, err := exec.Command("go", "list", "-m", "-f", "{{.Version}}", "istio.io/api").Output(); err == nil {
		t.Logf("go.mod's istio.io/api: %s", strings.TrimSpace(string(v)))
	}
	for _, r := range istioReleases {
		t.Run(r.name, func(t *testing.T) {
			crds := loadRelease(t, r)
			for dir, docs := range rendered {
				errs := validateAll(t, crds, docs)
				if dir == "ambient" && !r.trafficExtension {
					const noSchema = "TrafficExtension lanedye-waypoint: no schema for extensions.istio.io/v1alpha1, TrafficExtension"
					if len(errs) != 1 || errs[0] != noSchema {
						t.Errorf("%s: %q, want only %q", dir, errs, noSchema)
					} else {
						t.Logf("%s: not for istio.io/api %s, as expected: %s", dir, r.istio, noSchema)
					}
					continue
				}
				for _, e := range errs {
					t.Errorf("%s: %s", dir, e)
				}
				if len(errs) == 0 {
					t.Logf("%s: %d manifests valid (istio.io/api %s, Gateway API %s)", dir, len(docs), cmp.Or(r.istio, "of go.mod"), r.gatewayAPI)
				}
			}
		})
	}
}
