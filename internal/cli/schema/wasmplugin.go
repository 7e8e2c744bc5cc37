package schema

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// WasmPlugin returns a JSON Schema for Istio WasmPlugin manifests that
// checks spec.pluginConfig against the pluginConfig schema and leaves the
// rest of the manifest open (Istio's CRD schema covers it). Editors that
// map schemas to files by name (the YAML language server's yaml.schemas, a
// modeline) can then check pluginConfig inside a WasmPlugin.
func WasmPlugin() ([]byte, error) {
	var pc map[string]any
	if err := json.Unmarshal(JSON(), &pc); err != nil {
		return nil, fmt.Errorf("the embedded schema: %w", err)
	}
	defs, _ := pc["$defs"].(map[string]any)
	delete(pc, "$defs")
	delete(pc, "$schema")
	delete(pc, "$id")
	// The pluginConfig's references (#/$defs/...) resolve at the root of
	// the new document, where its definitions move.
	defs["pluginConfig"] = pc
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	err := enc.Encode(map[string]any{
		"$schema":     "https://json-schema.org/draft/2020-12/schema",
		"$id":         "https://github.com/lanedye/lanedye/schema/wasmplugin.json",
		"title":       "Istio WasmPlugin with a lanedye pluginConfig",
		"description": "Checks spec.pluginConfig of a WasmPlugin that runs lanedye; the rest of the manifest is Istio's (validated by its CRD).",
		"type":        "object",
		"properties": map[string]any{
			"kind": map[string]any{"const": "WasmPlugin"},
			"spec": map[string]any{
				"type":       "object",
				"properties": map[string]any{"pluginConfig": map[string]any{"$ref": "#/$defs/pluginConfig"}},
			},
		},
		"$defs": defs,
	})
	return b.Bytes(), err
}
