package image

import (
	"bytes"
	"io"
	"log"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// artifact reads a built module (the gateway's); the test fails without it.
func artifact(t *testing.T) []byte {
	t.Helper()
	p := filepath.Join("..", "..", "build", "lanedye-gateway.wasm")
	if e := os.Getenv("LANEDYE_GATEWAY_WASM"); e != "" {
		p = e
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("the wasm artifact is required (run make build): %v", err)
	}
	return b
}

// A real registry round trip: build the layout, push it to a registry served
// on 127.0.0.1, pull it back by tag and by digest, and check the module is
// byte for byte the artifact, behind the media types Istio expects.
func TestRegistryRoundTrip(t *testing.T) {
	wasm := artifact(t)
	dir := t.TempDir()
	img, err := Build(wasm)
	if err != nil {
		t.Fatal(err)
	}
	if err := WriteLayout(dir, img, "lanedye:test"); err != nil {
		t.Fatal(err)
	}
	fromLayout, err := ReadLayout(dir)
	if err != nil {
		t.Fatal(err)
	}

	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	u, _ := url.Parse(srv.URL)
	ref := u.Host + "/lanedye/lanedye:v0.0.0-test"
	digest, err := Push(fromLayout, ref)
	if err != nil {
		t.Fatal(err)
	}
	built, _ := img.Digest()
	if digest != built {
		t.Errorf("pushed digest %s, built %s", digest, built)
	}

	tag, _ := name.ParseReference(ref)
	byDigest, _ := name.ParseReference(u.Host + "/lanedye/lanedye@" + digest.String())
	for _, r := range []name.Reference{tag, byDigest} {
		t.Run(r.String(), func(t *testing.T) {
			pulled, err := remote.Image(r)
			if err != nil {
				t.Fatal(err)
			}
			got, err := extract(pulled)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, wasm) {
				t.Errorf("module differs from the artifact (%d vs %d bytes)", len(got), len(wasm))
			}
			if d, _ := pulled.Digest(); d != digest {
				t.Errorf("digest %s, want %s", d, digest)
			}
			if cf, err := pulled.ConfigFile(); err != nil || cf.Config.Labels[LicenseKey] != License {
				t.Errorf("license label: %v %v", cf, err)
			}
		})
	}
	// Reproducible: building again gives the same digest.
	again, _ := Build(wasm)
	if d, _ := again.Digest(); d != built {
		t.Errorf("rebuild digest %s, first %s", d, built)
	}
	t.Logf("image %s, wasm sha256 %s, %d bytes", built, SHA256(wasm), len(wasm))
}

func TestRejectsNonWasm(t *testing.T) {
	if _, err := Build([]byte("#!/bin/sh\n")); err == nil {
		t.Error("a shell script was packaged")
	}
}
