package main

import (
	"io"
	"log"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/registry"
)

// image build writes a layout and reports the digest and the module's
// sha256; image push sends it to a registry (one served on 127.0.0.1) and
// reports the same digest.
func TestImageBuildAndPush(t *testing.T) {
	dir := t.TempDir()
	wasm := filepath.Join(dir, "plugin.wasm")
	if err := os.WriteFile(wasm, []byte("\x00asm\x01\x00\x00\x00"), 0o644); err != nil {
		t.Fatal(err)
	}
	layout := filepath.Join(dir, "oci")
	out, errs, code := lanedye(t, "", "image", "build", "--wasm", wasm, "--out", layout)
	if code != 0 {
		t.Fatalf("build: exit %d: %s", code, errs)
	}
	// The module's sha256, computed independently: sha256 of 8 bytes.
	const wasmSum = "93a44bbb96c751218e4c00d479e4c14358122a389acca16205b1e4d0dc5f9476"
	_, digest, _ := strings.Cut(out, "image digest: ")
	digest, _, _ = strings.Cut(digest, "\n")
	if !strings.Contains(out, "image layout: "+layout+"\n") || !strings.Contains(out, "wasm sha256:  "+wasmSum) || !strings.HasPrefix(digest, "sha256:") {
		t.Fatalf("build printed:\n%s", out)
	}

	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	u, _ := url.Parse(srv.URL)
	ref := u.Host + "/lanedye/lanedye:test"
	out, errs, code = lanedye(t, "", "image", "push", "--layout", layout, ref)
	if code != 0 || out != "pushed "+ref+"@"+digest+"\n" {
		t.Errorf("push: exit %d\n%s%s\nwant digest %s", code, out, errs, digest)
	}

	if _, _, code := lanedye(t, "", "image", "build", "--wasm", filepath.Join(dir, "oci", "index.json"), "--out", layout); code != 1 {
		t.Errorf("building from a file that is not a module: exit %d", code)
	}
}
