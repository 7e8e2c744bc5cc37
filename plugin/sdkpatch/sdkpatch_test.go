package sdkpatch

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const sdkModule = "github.com/proxy-wasm/proxy-wasm-go-sdk"

// sdkDir returns the pinned SDK's directory in the module cache.
func sdkDir(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "mod", "download", "-json", sdkModule).Output()
	if err != nil {
		t.Fatalf("go mod download %s: %v", sdkModule, err)
	}
	var mod struct{ Dir string }
	if err := json.Unmarshal(out, &mod); err != nil || mod.Dir == "" {
		t.Fatalf("go mod download: %v: %s", err, out)
	}
	return mod.Dir
}

func TestUpstreamPlusPatch(t *testing.T) {
	cmd := exec.Command("diff", "-u", "--label", "upstream/proxywasm/hostcall.go", "--label", "plugin/sdkpatch/testdata/hostcall.go",
		filepath.Join(sdkDir(t), "proxywasm", "hostcall.go"), filepath.Join("testdata", "hostcall.go"))
	got, err := cmd.Output()
	var exit *exec.ExitError
	if err != nil && (!errors.As(err, &exit) || exit.ExitCode() != 1) {
		t.Fatalf("diff: %v", err) // 1 only says the files differ
	}
	want, err := os.ReadFile("hostcall.patch")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("testdata/hostcall.go is not the pinned SDK's proxywasm/hostcall.go plus hostcall.patch; the difference is now:\n%s", got)
	}
}

// The patch's point: built as make build builds it (build/modules/go.mod,
// the SDK with testdata/hostcall.go), the sidecar module imports neither
// fmt nor os; with the SDK as it is, it would. (The gateway keeps
// runtime/debug for its collector setting, which imports both.)
func TestSidecarModuleImportsNoFmt(t *testing.T) {
	modfile, err := filepath.Abs(filepath.Join("..", "..", "build", "modules", "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(modfile); err != nil {
		t.Fatalf("%v: run make build first", err)
	}
	for _, patched := range []bool{false, true} {
		args := []string{"list", "-deps"}
		if patched {
			args = append(args, "-modfile="+modfile)
		}
		cmd := exec.Command("go", append(args, "../sidecar")...)
		cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("go %v: %v", args, err)
		}
		deps := map[string]bool{}
		for _, p := range strings.Fields(string(out)) {
			deps[p] = true
		}
		switch {
		case !patched && !deps["fmt"]:
			t.Fatal("with the SDK as it is the sidecar does not import fmt: the patch is no longer needed")
		case patched && (deps["fmt"] || deps["os"]):
			t.Errorf("built as make build does, the sidecar still imports fmt %v, os %v", deps["fmt"], deps["os"])
		}
	}
}
