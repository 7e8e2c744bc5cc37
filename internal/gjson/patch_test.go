package gjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// upstreamModule is the module this directory patches; go.mod pins its
// version (github.com/tidwall/sjson requires it too).
const upstreamModule = "github.com/tidwall/gjson"

// gjson.go is the pinned upstream file with upstream.patch applied, and
// nothing else.
func TestUpstreamPlusPatch(t *testing.T) {
	out, err := exec.Command("go", "mod", "download", "-json", upstreamModule).Output()
	if err != nil {
		t.Fatalf("go mod download %s: %v", upstreamModule, err)
	}
	var mod struct{ Dir, Version string }
	if err := json.Unmarshal(out, &mod); err != nil || mod.Dir == "" {
		t.Fatalf("go mod download: %v: %s", err, out)
	}
	cmd := exec.Command("diff", "-u", "--label", "upstream/gjson.go", "--label", "internal/gjson/gjson.go",
		filepath.Join(mod.Dir, "gjson.go"), "gjson.go")
	got, err := cmd.Output()
	var exit *exec.ExitError
	if err != nil && (!errors.As(err, &exit) || exit.ExitCode() != 1) {
		t.Fatalf("diff: %v", err) // 1 only says the files differ
	}
	want, err := os.ReadFile("upstream.patch")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("gjson.go is not %s@%s plus upstream.patch; the difference to upstream is now:\n%s", upstreamModule, mod.Version, got)
	}
}

// The patch's point: no stock modifier is registered.
func TestNoStockModifiers(t *testing.T) {
	if ModifierExists("pretty", nil) || ModifierExists("this", nil) {
		t.Error("stock modifiers are registered")
	}
	if got := Get(`{"a":{"b":1}}`, "a.b").Int(); got != 1 {
		t.Errorf("a.b = %d", got)
	}
}
