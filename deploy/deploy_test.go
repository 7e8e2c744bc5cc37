// Package deploy holds the Istio manifests; this test validates them offline.
package deploy

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/cel"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/pruning"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/validation"
	kjson "k8s.io/apimachinery/pkg/util/json"
	"k8s.io/apimachinery/pkg/util/validation/field"
	celconfig "k8s.io/apiserver/pkg/apis/cel"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"

	// Keeps istio.io/api, whose CRDs the test reads, in go.mod.
	_ "istio.io/api/extensions/v1alpha1"

	"github.com/lanedye/lanedye/internal/config"
)

// schema is one CRD version's schema, ready to validate against.
type schema struct {
	validator  validation.SchemaCreateValidator
	structural *structuralschema.Structural
	cel        *cel.Validator
}

// loadCRDs reads the CRDs shipped in the istio.io/api module, keyed by
// "group/version, Kind".
func loadCRDs(t *testing.T) map[string]schema {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "istio.io/api").Output()
	if err != nil {
		t.Fatalf("locating istio.io/api: %v", err)
	}
	path := filepath.Join(strings.TrimSpace(string(out)), "kubernetes", "customresourcedefinitions.gen.yaml")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	crds := map[string]schema{}
	for _, doc := range splitYAML(data) {
		var crd apiextensionsv1.CustomResourceDefinition
		if err := yaml.Unmarshal(doc, &crd); err != nil || crd.Kind != "CustomResourceDefinition" {
			continue
		}
		for _, v := range crd.Spec.Versions {
			if v.Schema == nil || v.Schema.OpenAPIV3Schema == nil {
				continue
			}
			var internal apiextensions.JSONSchemaProps
			if err := apiextensionsv1.Convert_v1_JSONSchemaProps_To_apiextensions_JSONSchemaProps(v.Schema.OpenAPIV3Schema, &internal, nil); err != nil {
				t.Fatalf("%s: %v", crd.Name, err)
			}
			sv, _, err := validation.NewSchemaValidator(&internal)
			if err != nil {
				t.Fatalf("%s: %v", crd.Name, err)
			}
			st, err := structuralschema.NewStructural(&internal)
			if err != nil {
				t.Fatalf("%s %s: not a structural schema: %v", crd.Name, v.Name, err)
			}
			crds[crd.Spec.Group+"/"+v.Name+", "+crd.Spec.Names.Kind] = schema{
				validator: sv, structural: st, cel: cel.NewValidator(st, true, celconfig.PerCallLimit),
			}
		}
	}
	if len(crds) < 10 {
		t.Fatalf("only %d CRD versions in %s", len(crds), path)
	}
	return crds
}

func splitYAML(data []byte) [][]byte {
	var docs [][]byte
	for _, d := range bytes.Split(data, []byte("\n---")) {
		if len(bytes.TrimSpace(d)) > 0 {
			docs = append(docs, d)
		}
	}
	return docs
}

// validate checks one manifest the way the API server would: known kinds are
// decoded strictly; Istio kinds go through their CRD's OpenAPI schema, its
// CEL rules, and pruning, where any unknown field is an error (kubectl's
// strict field validation).
func validate(crds map[string]schema, doc []byte) (kind string, errs []string) {
	var obj map[string]any
	js, err := yaml.YAMLToJSON(doc)
	if err == nil {
		err = kjson.Unmarshal(js, &obj)
	}
	if err != nil {
		return "", []string{err.Error()}
	}
	apiVersion, _ := obj["apiVersion"].(string)
	kind, _ = obj["kind"].(string)
	key := apiVersion + ", " + kind
	switch key {
	case "v1, Namespace":
		return kind, strict(js, &corev1.Namespace{})
	case "v1, Service":
		return kind, strict(js, &corev1.Service{})
	case "apps/v1, Deployment":
		return kind, strict(js, &appsv1.Deployment{})
	}
	s, ok := crds[key]
	if !ok {
		return kind, []string{"no schema for " + key}
	}
	for _, e := range validation.ValidateCustomResource(nil, obj, s.validator) {
		errs = append(errs, e.Error())
	}
	if s.cel != nil {
		celErrs, _ := s.cel.Validate(context.Background(), field.NewPath(""), s.structural, obj, nil, celconfig.RuntimeCELCostBudget)
		for _, e := range celErrs {
			errs = append(errs, e.Error())
		}
	}
	opts := structuralschema.UnknownFieldPathOptions{TrackUnknownFieldPaths: true}
	for _, p := range pruning.PruneWithOptions(obj, s.structural, true, opts) {
		errs = append(errs, "unknown field "+p)
	}
	return kind, errs
}

func strict(js []byte, into any) []string {
	if err := yaml.UnmarshalStrict(js, into); err != nil {
		return []string{err.Error()}
	}
	return nil
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
		for i, doc := range splitYAML(data) {
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
		kind, errs := validate(crds, doc)
		kinds[kind]++
		t.Run(name, func(t *testing.T) {
			for _, e := range errs {
				t.Errorf("%s: %s", kind, e)
			}
		})
	}
	for _, k := range []string{"WasmPlugin", "Gateway", "VirtualService", "DestinationRule", "Deployment", "Service", "Namespace"} {
		if kinds[k] == 0 {
			t.Errorf("no %s under deploy/", k)
		}
	}
	t.Logf("validated: %v", kinds)
}

// The example renders with kustomize and every WasmPlugin in it carries a
// configuration the plugin accepts.
func TestExampleKustomization(t *testing.T) {
	crds := loadCRDs(t)
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	m, err := k.Run(filesys.MakeFsOnDisk(), "example")
	if err != nil {
		t.Fatalf("kustomize: %v", err)
	}
	rendered, err := m.AsYaml()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	plugins := 0
	for _, doc := range splitYAML(rendered) {
		kind, errs := validate(crds, doc)
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
			if _, err := config.Parse(obj.Spec.PluginConfig); err != nil {
				t.Errorf("WasmPlugin %s: pluginConfig rejected by the plugin: %v", obj.Metadata.Name, err)
			}
		}
	}
	sort.Strings(got)
	want := []string{
		"Deployment/checkout-base", "Deployment/frontend-base", "Deployment/frontend-gray", "Deployment/payment-base", "Deployment/payment-gray",
		"DestinationRule/checkout", "DestinationRule/frontend", "DestinationRule/payment", "Gateway/myapp", "Namespace/lanedye-demo",
		"Service/checkout", "Service/frontend", "Service/payment",
		"VirtualService/checkout", "VirtualService/frontend", "VirtualService/payment",
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
		"Deployment typo": `apiVersion: apps/v1
kind: Deployment
metadata: {name: d}
spec: {replica: 1}
`,
	}
	for name, doc := range cases {
		t.Run(name, func(t *testing.T) {
			_, errs := validate(crds, []byte(doc))
			if len(errs) == 0 {
				t.Fatal("invalid manifest passed")
			}
			t.Log(errs[0])
		})
	}
	// A pluginConfig the plugin rejects.
	if _, err := config.Parse([]byte(`{"role":"gateway","rules":[{"name":"r","lane":"gray"}]}`)); err == nil {
		t.Error("config with an unknown lane accepted")
	}
}
