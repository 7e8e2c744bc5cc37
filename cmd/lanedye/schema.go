package main

import (
	"github.com/spf13/cobra"

	"github.com/lanedye/lanedye/internal/cli/schema"
)

func newSchema() *cobra.Command {
	var wasmPlugin bool
	cmd := &cobra.Command{
		Use:   "schema [--wasmplugin]",
		Short: "Print the JSON Schema of the pluginConfig",
		Long: `schema prints a JSON Schema (draft 2020-12) of the lanedye pluginConfig, with
descriptions, for editors: completion, hover help and checks while writing a
configuration. It knows keys, types and value ranges; lanedye validate checks
the rest (lanes named but not configured, regular expressions, parent cycles,
...).

--wasmplugin prints a schema for whole Istio WasmPlugin manifests that checks
their spec.pluginConfig with it, for editors that map schemas to files.`,
		Example: `  lanedye schema > lanedye.schema.json
  lanedye schema --wasmplugin > wasmplugin.schema.json
  # then, first line of a WasmPlugin manifest (YAML language server):
  # yaml-language-server: $schema=./wasmplugin.schema.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			out := schema.JSON()
			if wasmPlugin {
				var err error
				if out, err = schema.WasmPlugin(); err != nil {
					return failed(err)
				}
			}
			_, err := cmd.OutOrStdout().Write(out)
			return err
		},
	}
	cmd.Flags().BoolVar(&wasmPlugin, "wasmplugin", false, "a schema for WasmPlugin manifests, checking their pluginConfig")
	return cmd
}
