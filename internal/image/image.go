// Package image packages the plugin as an OCI image in Istio's
// Docker-compatible Wasm variant: a Docker schema 2 manifest with exactly one
// gzipped tar layer holding plugin.wasm at its root. Istio's image fetcher
// accepts that variant from any registry, and it needs no Docker engine to
// build.
package image

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// FileName is where Istio looks for the module inside the layer.
const FileName = "plugin.wasm"

// License is the module's license, as an SPDX identifier. Docker schema 2
// manifests carry no annotations, so it is a label of the image config
// (and an annotation in the OCI layout's index).
const License = "Apache-2.0"

// LicenseKey is the OCI annotation (and label) key for License.
const LicenseKey = "org.opencontainers.image.licenses"

// Build returns the image for a wasm module. The result is reproducible: the
// same module always gives the same digest (no timestamps, fixed ownership).
func Build(wasm []byte) (v1.Image, error) {
	if len(wasm) < 8 || !bytes.Equal(wasm[:4], []byte("\x00asm")) {
		return nil, errors.New("not a wasm module")
	}
	var tarBuf bytes.Buffer
	tw := tar.NewWriter(&tarBuf)
	if err := tw.WriteHeader(&tar.Header{Name: FileName, Mode: 0o444, Size: int64(len(wasm)), Typeflag: tar.TypeReg, Format: tar.FormatPAX}); err != nil {
		return nil, err
	}
	if _, err := tw.Write(wasm); err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	var gz bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	if _, err := zw.Write(tarBuf.Bytes()); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	compressed := gz.Bytes()
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(compressed)), nil
	}, tarball.WithMediaType(types.DockerLayer))
	if err != nil {
		return nil, err
	}
	img := mutate.MediaType(empty.Image, types.DockerManifestSchema2)
	img = mutate.ConfigMediaType(img, types.DockerConfigJSON)
	img, err = mutate.Append(img, mutate.Addendum{Layer: layer, MediaType: types.DockerLayer,
		History: v1.History{CreatedBy: "lanedye-image: " + FileName}})
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "wasip1", "wasm"
	cf.Config.Labels = map[string]string{LicenseKey: License}
	return mutate.ConfigFile(img, cf)
}

// WriteLayout writes img as an OCI image layout at dir, replacing what is
// there, with ref as its org.opencontainers.image.ref.name annotation.
func WriteLayout(dir string, img v1.Image, ref string) error {
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		return err
	}
	return p.AppendImage(img, layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": ref, LicenseKey: License}))
}

// ReadLayout returns the single image of a layout written by WriteLayout.
func ReadLayout(dir string) (v1.Image, error) {
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		return nil, err
	}
	m, err := idx.IndexManifest()
	if err != nil {
		return nil, err
	}
	if len(m.Manifests) != 1 {
		return nil, fmt.Errorf("%s holds %d images, want 1", dir, len(m.Manifests))
	}
	return idx.Image(m.Manifests[0].Digest)
}

// Push uploads img to ref with credentials from the Docker config file
// ($DOCKER_CONFIG/config.json or ~/.docker/config.json) and returns the
// pushed digest. Registries on localhost or 127.0.0.1 are reached over HTTP.
func Push(img v1.Image, ref string) (v1.Hash, error) {
	r, err := name.ParseReference(ref)
	if err != nil {
		return v1.Hash{}, err
	}
	if err := remote.Write(r, img, remote.WithAuthFromKeychain(authn.DefaultKeychain)); err != nil {
		return v1.Hash{}, err
	}
	return img.Digest()
}

// SHA256 returns the hex sha256 of b, the form WasmPlugin.spec.sha256 takes.
func SHA256(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}
