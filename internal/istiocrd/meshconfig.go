package istiocrd

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"google.golang.org/protobuf/encoding/protojson"
	meshv1alpha1 "istio.io/api/mesh/v1alpha1"
)

// meshConfigOverlay checks an IstioOperator that only overlays meshConfig
// (what `istioctl install -f` merges into an installation; the same block
// is the istiod Helm chart's meshConfig value). The IstioOperator CRD leaves
// its spec open, so the meshConfig is checked against Istio's MeshConfig API
// itself: unknown fields and wrong types are errors.
func meshConfigOverlay(obj map[string]any) []string {
	var errs []string
	for k := range obj {
		if !slices.Contains([]string{"apiVersion", "kind", "metadata", "spec"}, k) {
			errs = append(errs, "unknown field "+k)
		}
	}
	spec, _ := obj["spec"].(map[string]any)
	for k := range spec {
		if k != "meshConfig" {
			errs = append(errs, "spec."+k+": only spec.meshConfig is expected in this overlay")
		}
	}
	mc, ok := spec["meshConfig"]
	if !ok {
		return append(errs, "spec.meshConfig: missing")
	}
	if err := MeshConfig(mc); err != nil {
		errs = append(errs, "spec.meshConfig: "+err.Error())
	}
	return errs
}

// MeshConfig checks a decoded meshConfig value against Istio's MeshConfig
// API (istio.io/api/mesh/v1alpha1).
func MeshConfig(v any) error {
	js, err := json.Marshal(v)
	if err != nil {
		return err
	}
	var mc meshv1alpha1.MeshConfig
	if err := (protojson.UnmarshalOptions{}).Unmarshal(js, &mc); err != nil {
		return fmt.Errorf("not a valid MeshConfig: %s", strings.ReplaceAll(err.Error(), "\u00a0", " "))
	}
	return nil
}
