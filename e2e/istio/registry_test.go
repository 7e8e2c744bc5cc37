package istioe2e

import (
	"crypto/rand"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"
)

// roles are lanedye's modules, one image each.
var roles = []string{"gateway", "sidecar"}

// repoRoot is the lanedye repository: this module lives in e2e/istio.
func repoRoot(t testing.TB) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "plugin", "gateway")); err != nil {
		t.Fatalf("not the lanedye repository: %s: %v", root, err)
	}
	return root
}

// module reads a role's built module (make build).
func module(t testing.TB, root, role string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, "build", "lanedye-"+role+".wasm"))
	if err != nil {
		t.Fatalf("the %s module is required (make build image): %v", role, err)
	}
	return b
}

// subnet is a /24 of the loopback range drawn for one test: its hosts are
// the addresses of the registry, istiod, the agent and every workload, so
// that tests running at once on one machine never share a port.
type subnet [3]byte

func newSubnet(t testing.TB) subnet {
	t.Helper()
	for range 50 {
		var b [2]byte
		_, _ = rand.Read(b[:])
		s := subnet{127, 64 + b[0]%64, b[1]}
		// The drawn /24 is free if its .1 has nothing on the port istiod
		// uses; a collision (1 in 16384 per pair of runs) only redraws.
		l, err := net.Listen("tcp", s.ip(1)+":15010")
		if err == nil {
			_ = l.Close()
			return s
		}
	}
	t.Fatal("no free loopback /24 after 50 draws")
	return subnet{}
}

// ip returns the subnet's host n.
func (s subnet) ip(n int) string { return fmt.Sprintf("%d.%d.%d.%d", s[0], s[1], s[2], n) }

// startRegistry serves go-containerregistry's in-memory OCI registry on
// addr (host:port) and returns "host:port".
func startRegistry(t testing.TB, addr string) string {
	t.Helper()
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: registry.New(registry.Logger(log.New(io.Discard, "", 0))), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return l.Addr().String()
}

// pushImages pushes each role's image of `make image` (build/oci/ROLE) to
// the registry with the product's own command (what make push runs) and
// returns the references by role: REGISTRY/lanedye/lanedye-ROLE:e2e.
func pushImages(t testing.TB, root, reg string) map[string]string {
	t.Helper()
	refs := map[string]string{}
	for _, role := range roles {
		layout := filepath.Join(root, "build", "oci", role)
		if _, err := os.Stat(filepath.Join(layout, "index.json")); err != nil {
			t.Fatalf("the %s image is required (make image): %v", role, err)
		}
		ref := reg + "/lanedye/lanedye-" + role + ":e2e"
		out, err := lanedyeCmd(root, "image", "push", "--layout", layout, ref).CombinedOutput()
		if err != nil {
			t.Fatalf("lanedye image push %s: %v\n%s", ref, err, out)
		}
		if !strings.Contains(string(out), "pushed "+ref+"@sha256:") {
			t.Fatalf("lanedye image push %s: %s", ref, out)
		}
		refs[role] = ref
	}
	return refs
}

// lanedyeCmd runs the lanedye command of the repository (go run
// ./cmd/lanedye ARGS) in its root.
func lanedyeCmd(root string, args ...string) *exec.Cmd {
	cmd := exec.Command("go", append([]string{"run", "./cmd/lanedye"}, args...)...)
	cmd.Dir = root
	// The repository's own module, not this one's.
	cmd.Env = append(os.Environ(), "GOWORK=off")
	return cmd
}
