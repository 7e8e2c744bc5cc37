// Command lanedye-image builds and pushes the lanedye OCI image without a
// Docker engine.
//
//	lanedye-image build [-wasm build/lanedye.wasm] [-out build/oci] [-ref lanedye:dev]
//	lanedye-image push  [-layout build/oci] REGISTRY/REPOSITORY:TAG
//
// Credentials for push come from the Docker config file, as docker login
// writes it.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/lanedye/lanedye/internal/image"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	switch os.Args[1] {
	case "build":
		err = build(os.Args[2:])
	case "push":
		err = push(os.Args[2:])
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "lanedye-image:", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: lanedye-image build [-wasm FILE] [-out DIR] [-ref NAME]\n       lanedye-image push [-layout DIR] IMAGE")
	os.Exit(2)
}

func build(args []string) error {
	fs := flag.NewFlagSet("build", flag.ExitOnError)
	wasmPath := fs.String("wasm", "build/lanedye.wasm", "the plugin module")
	out := fs.String("out", "build/oci", "the OCI image layout to write")
	ref := fs.String("ref", "lanedye:dev", "the ref.name annotation of the image in the layout")
	_ = fs.Parse(args)
	wasm, err := os.ReadFile(*wasmPath)
	if err != nil {
		return err
	}
	img, err := image.Build(wasm)
	if err != nil {
		return err
	}
	if err := image.WriteLayout(*out, img, *ref); err != nil {
		return err
	}
	d, err := img.Digest()
	if err != nil {
		return err
	}
	fmt.Printf("image layout: %s\nimage digest: %s\nwasm sha256:  %s\n", *out, d, image.SHA256(wasm))
	return nil
}

func push(args []string) error {
	fs := flag.NewFlagSet("push", flag.ExitOnError)
	dir := fs.String("layout", "build/oci", "the OCI image layout to push")
	_ = fs.Parse(args)
	if fs.NArg() != 1 {
		return fmt.Errorf("push needs one IMAGE (registry/repository:tag)")
	}
	img, err := image.ReadLayout(*dir)
	if err != nil {
		return err
	}
	d, err := image.Push(img, fs.Arg(0))
	if err != nil {
		return err
	}
	fmt.Printf("pushed %s@%s\n", fs.Arg(0), d)
	return nil
}
