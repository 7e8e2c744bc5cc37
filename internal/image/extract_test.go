package image

import (
	"archive/tar"
	"compress/gzip"
	"errors"
	"fmt"
	"io"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// extract returns the module in img the way Istio's fetcher does for the
// Docker-compatible variant, checking every media type on the way.
func extract(img v1.Image) ([]byte, error) {
	mt, err := img.MediaType()
	if err != nil {
		return nil, err
	}
	if mt != types.DockerManifestSchema2 {
		return nil, fmt.Errorf("manifest media type %s, want %s", mt, types.DockerManifestSchema2)
	}
	m, err := img.Manifest()
	if err != nil {
		return nil, err
	}
	if m.Config.MediaType != types.DockerConfigJSON {
		return nil, fmt.Errorf("config media type %s, want %s", m.Config.MediaType, types.DockerConfigJSON)
	}
	layers, err := img.Layers()
	if err != nil {
		return nil, err
	}
	if len(layers) != 1 {
		return nil, fmt.Errorf("%d layers, want exactly 1", len(layers))
	}
	if lt, err := layers[0].MediaType(); err != nil || lt != types.DockerLayer {
		return nil, fmt.Errorf("layer media type %s (%w), want %s", lt, err, types.DockerLayer)
	}
	rc, err := layers[0].Compressed()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	zr, err := gzip.NewReader(rc)
	if err != nil {
		return nil, fmt.Errorf("layer is not gzip: %w", err)
	}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s not in the layer", FileName)
		}
		if err != nil {
			return nil, err
		}
		if h.Name == FileName {
			return io.ReadAll(tr)
		}
	}
}
