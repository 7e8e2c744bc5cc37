// Package istiocrd validates Kubernetes manifests offline, the way the API
// server would: Istio resources against the CRD schemas shipped in the
// istio.io/api module (structural schema, CEL rules, unknown fields),
// Deployments, Services, Namespaces and Secrets by strict decoding, and the
// meshConfig of an IstioOperator overlay against Istio's MeshConfig API.
// CRDs of other releases (an older istio.io/api, the Gateway API's) load
// from the modules that ship them, fetched by the go command.
//
// It is a test helper: it finds istio.io/api through the go command, so it
// works only where the module's source is at hand. Production code does not
// import it.
package istiocrd

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

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
	"sigs.k8s.io/yaml"

	// Keeps istio.io/api, whose CRDs are read from its source, in go.mod.
	_ "istio.io/api/extensions/v1alpha1"
)

// schema is one CRD version's schema, ready to validate against.
type schema struct {
	validator  validation.SchemaCreateValidator
	structural *structuralschema.Structural
	cel        *cel.Validator
}

// Schemas are the CRD schemas of istio.io/api, keyed by
// "group/version, Kind".
type Schemas struct{ crds map[string]schema }

// istioCRDs is where an istio.io/api module ships its CRDs.
const istioCRDs = "kubernetes/customresourcedefinitions.gen.yaml"

// Load reads the CRDs shipped in the istio.io/api module of this build.
func Load() (*Schemas, error) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "istio.io/api").Output()
	if err != nil {
		return nil, fmt.Errorf("locating istio.io/api: %w", err)
	}
	return loadIstio(filepath.Join(strings.TrimSpace(string(out)), istioCRDs))
}

// LoadIstio reads the CRDs of the istio.io/api module at version, another
// Istio release than this build's: the go command fetches it into the
// module cache (through GOPROXY) when it is not there yet. go.mod does not
// change.
func LoadIstio(version string) (*Schemas, error) {
	dir, err := ModuleDir("istio.io/api", version)
	if err != nil {
		return nil, err
	}
	return loadIstio(filepath.Join(dir, istioCRDs))
}

func loadIstio(path string) (*Schemas, error) {
	s, err := LoadFiles(path)
	if err != nil {
		return nil, err
	}
	if len(s.crds) < 10 {
		return nil, fmt.Errorf("only %d CRD versions in %s", len(s.crds), path)
	}
	return s, nil
}

// LoadGatewayAPI reads the standard-channel CRDs of the Kubernetes Gateway
// API (sigs.k8s.io/gateway-api) at version, fetched like LoadIstio's.
func LoadGatewayAPI(version string) (*Schemas, error) {
	dir, err := ModuleDir("sigs.k8s.io/gateway-api", version)
	if err != nil {
		return nil, err
	}
	files, _ := filepath.Glob(filepath.Join(dir, "config", "crd", "standard", "*.yaml")) // the pattern is well formed
	if len(files) == 0 {
		return nil, fmt.Errorf("no CRDs under %s/config/crd/standard", dir)
	}
	return LoadFiles(files...)
}

// ModuleDir returns the directory of module path at version in the module
// cache, downloading it (go mod download) when it is missing.
func ModuleDir(path, version string) (string, error) {
	mv := path + "@" + version
	out, err := exec.Command("go", "mod", "download", "-json", mv).Output()
	var mod struct{ Dir, Error string }
	_ = json.Unmarshal(out, &mod) // on failure too, the go command says why in Error
	switch {
	case mod.Error != "":
		return "", fmt.Errorf("go mod download %s: %s (it needs the module cache or GOPROXY)", mv, mod.Error)
	case err != nil:
		return "", fmt.Errorf("go mod download %s (it needs the module cache or GOPROXY): %w", mv, err)
	case mod.Dir == "":
		return "", fmt.Errorf("go mod download %s: no directory in %q", mv, out)
	}
	return mod.Dir, nil
}

// LoadFiles reads the CRDs in the files given; documents of other kinds are
// skipped.
func LoadFiles(paths ...string) (*Schemas, error) {
	s := &Schemas{crds: map[string]schema{}}
	for _, path := range paths {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		for _, doc := range SplitYAML(data) {
			if err := s.add(doc); err != nil {
				return nil, fmt.Errorf("%s: %w", path, err)
			}
		}
	}
	return s, nil
}

// With returns the schemas of s and of others; a kind in several comes
// from the last that has it.
func (s *Schemas) With(others ...*Schemas) *Schemas {
	out := &Schemas{crds: map[string]schema{}}
	for _, x := range append([]*Schemas{s}, others...) {
		for k, v := range x.crds {
			out.crds[k] = v
		}
	}
	return out
}

// add compiles the versions of one CRD; documents of other kinds are skipped.
func (s *Schemas) add(doc []byte) error {
	var crd apiextensionsv1.CustomResourceDefinition
	if err := yaml.Unmarshal(doc, &crd); err != nil || crd.Kind != "CustomResourceDefinition" {
		return nil
	}
	for _, v := range crd.Spec.Versions {
		if v.Schema == nil || v.Schema.OpenAPIV3Schema == nil {
			continue
		}
		var internal apiextensions.JSONSchemaProps
		if err := apiextensionsv1.Convert_v1_JSONSchemaProps_To_apiextensions_JSONSchemaProps(v.Schema.OpenAPIV3Schema, &internal, nil); err != nil {
			return fmt.Errorf("%s: %w", crd.Name, err)
		}
		sv, _, err := validation.NewSchemaValidator(&internal)
		if err != nil {
			return fmt.Errorf("%s: %w", crd.Name, err)
		}
		st, err := structuralschema.NewStructural(&internal)
		if err != nil {
			return fmt.Errorf("%s %s: not a structural schema: %w", crd.Name, v.Name, err)
		}
		s.crds[crd.Spec.Group+"/"+v.Name+", "+crd.Spec.Names.Kind] = schema{
			validator: sv, structural: st, cel: cel.NewValidator(st, true, celconfig.PerCallLimit),
		}
	}
	return nil
}

// SplitYAML returns the non-empty documents of a multi-document YAML file.
func SplitYAML(data []byte) [][]byte {
	var docs [][]byte
	for _, d := range bytes.Split(data, []byte("\n---")) {
		if len(bytes.TrimSpace(d)) > 0 {
			docs = append(docs, d)
		}
	}
	return docs
}

// Validate checks one manifest the way the API server would: known kinds are
// decoded strictly; Istio kinds go through their CRD's OpenAPI schema, its
// CEL rules, and pruning, where any unknown field is an error (kubectl's
// strict field validation). It returns the manifest's kind and its errors.
func (s *Schemas) Validate(doc []byte) (kind string, errs []string) {
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
	case "v1, Secret":
		return kind, strict(js, &corev1.Secret{})
	case "v1, Service":
		return kind, strict(js, &corev1.Service{})
	case "apps/v1, Deployment":
		return kind, strict(js, &appsv1.Deployment{})
	case "install.istio.io/v1alpha1, IstioOperator":
		return kind, meshConfigOverlay(obj)
	}
	c, ok := s.crds[key]
	if !ok {
		return kind, []string{"no schema for " + key}
	}
	for _, e := range validation.ValidateCustomResource(nil, obj, c.validator) {
		errs = append(errs, e.Error())
	}
	if c.cel != nil {
		celErrs, _ := c.cel.Validate(context.Background(), field.NewPath(""), c.structural, obj, nil, celconfig.RuntimeCELCostBudget)
		for _, e := range celErrs {
			errs = append(errs, e.Error())
		}
	}
	opts := structuralschema.UnknownFieldPathOptions{TrackUnknownFieldPaths: true}
	for _, p := range pruning.PruneWithOptions(obj, c.structural, true, opts) {
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
