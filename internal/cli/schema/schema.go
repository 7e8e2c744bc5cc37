// Package schema holds the JSON Schema (draft 2020-12) of the lanedye
// pluginConfig that `lanedye schema` prints, for editors. The plugin's
// parser (internal/config) stays the authority: the schema describes the
// same keys and types, and the tests hold the two together.
package schema

import _ "embed" // the schema is a file of this package

// schema is a string, so the embedded bytes cannot be changed.
//
//go:embed pluginconfig.schema.json
var schema string

// JSON returns the schema.
func JSON() []byte { return []byte(schema) }
