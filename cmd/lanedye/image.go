package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/lanedye/lanedye/internal/image"
)

func newImage() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "image build|push",
		Short: "Build and push the plugin's OCI image, without Docker",
		Long: `image builds the plugin's OCI image in Istio's Docker-compatible Wasm variant
(a schema 2 manifest with one gzipped tar layer holding plugin.wasm) as an
OCI image layout, and pushes it with the credentials docker login wrote
(~/.docker/config.json or $DOCKER_CONFIG). The build is reproducible: the
same module gives the same digest.`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			return usagef("image needs a command: build or push")
		},
	}
	cmd.AddCommand(newImageBuild(), newImagePush())
	return cmd
}

func newImageBuild() *cobra.Command {
	var wasmPath, out, ref string
	cmd := &cobra.Command{
		Use:     "build --wasm FILE [--out DIR] [--ref NAME]",
		Short:   "Write the image as an OCI image layout",
		Long:    "build writes the image of one module (one per role) as an OCI image layout\nand prints the image digest (pin WasmPlugin url by it) and the module's\nsha256 (the WasmPlugin's sha256 field).",
		Example: "  make build && lanedye image build --wasm build/lanedye-gateway.wasm --out build/oci/gateway\n  lanedye image build --wasm build/lanedye-sidecar.wasm --out build/oci/sidecar",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			wasm, err := os.ReadFile(wasmPath)
			if err != nil {
				return failed(err)
			}
			img, err := image.Build(wasm)
			if err != nil {
				return failed(fmt.Errorf("%s: %w", wasmPath, err))
			}
			if err := image.WriteLayout(out, img, ref); err != nil {
				return failed(err)
			}
			d, err := img.Digest()
			if err != nil {
				return failed(err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "image layout: %s\nimage digest: %s\nwasm sha256:  %s\n", out, d, image.SHA256(wasm))
			return nil
		},
	}
	cmd.Flags().StringVar(&wasmPath, "wasm", "", "the module (build/lanedye-gateway.wasm or build/lanedye-sidecar.wasm)")
	cmd.Flags().StringVar(&out, "out", "build/oci", "the OCI image layout to write")
	_ = cmd.MarkFlagRequired("wasm")
	cmd.Flags().StringVar(&ref, "ref", "lanedye:dev", "the ref.name annotation of the image in the layout")
	return cmd
}

func newImagePush() *cobra.Command {
	var layout string
	cmd := &cobra.Command{
		Use:     "push [--layout DIR] IMAGE",
		Short:   "Push the image of a layout to a registry",
		Long:    "push sends the image of an OCI image layout (image build's) to a registry as\nIMAGE (registry/repository:tag) and prints its digest.",
		Example: "  lanedye image push --layout build/oci/gateway registry.example.com/lanedye/lanedye-gateway:v0.1.0",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			img, err := image.ReadLayout(layout)
			if err != nil {
				return failed(err)
			}
			d, err := image.Push(img, args[0])
			if err != nil {
				return failed(err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "pushed %s@%s\n", args[0], d)
			return nil
		},
	}
	cmd.Flags().StringVar(&layout, "layout", "build/oci", "the OCI image layout to push")
	return cmd
}
