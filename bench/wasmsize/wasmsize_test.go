package wasmsize

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestPackagesOf(t *testing.T) {
	ps := NewPackages([]string{"runtime", "github.com/tidwall/gjson", "sync/atomic", "slices", "main",
		"encoding/json", "gopkg.in/yaml.v3", "github.com/a/b", "syscall"})
	for sym, want := range map[string]string{
		"runtime.mallocgc":                              "runtime",
		"github.com_tidwall_gjson.__Result_.ForEach":    "github.com/tidwall/gjson",
		"github.com_tidwall_gjson.Get":                  "github.com/tidwall/gjson",
		"sync_atomic.__Pointer_github.com_a_b.T__.Load": "sync/atomic",
		"slices.Sort_go.shape.string_":                  "slices",
		"main.__httpContext_.OnHttpRequestHeaders":      "main",
		"gopkg.in_yaml.v3.Marshal":                      "gopkg.in/yaml.v3",
		"syscall.fd_write":                              "syscall",
		"type_.eq._2_interface__":                       "type:",
		"go_buildid":                                    "go:",
		"wasm_pc_f_loop":                                "(no package)",
		"encoding_json.Marshal":                         "encoding/json",
	} {
		if got := ps.Of(sym); got != want {
			t.Errorf("Of(%q) = %q, want %q", sym, got, want)
		}
	}
}

// A real Go module, unstripped: every byte is accounted for once, the
// runtime's code is named, and the stripped build's code is all unnamed.
func TestAnalyzeAGoModule(t *testing.T) {
	dir := t.TempDir()
	build := func(name string, ldflags string) []byte {
		out := filepath.Join(dir, name)
		cmd := exec.Command("go", "build", "-buildmode=c-shared", "-trimpath", "-ldflags="+ldflags, "-o", out, "../../testdata/refplugins/noop")
		cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%v: %s", err, b)
		}
		b, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	for _, tc := range []struct {
		name, ldflags string
		named         bool
	}{{"unstripped", "", true}, {"stripped", "-s -w", false}} {
		t.Run(tc.name, func(t *testing.T) { checkBreakdown(t, build(tc.name+".wasm", tc.ldflags), tc.named) })
	}
	if _, err := Analyze([]byte("\x00asm\x01\x00\x00\x00\x0a\xff"), nil); err == nil {
		t.Error("a truncated section is not an error")
	}
}

// deps lists the reference module's packages as make size does.
func deps(t *testing.T) []string {
	t.Helper()
	cmd := exec.Command("go", "list", "-deps", "../../testdata/refplugins/noop")
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	return append(strings.Fields(string(out)), "main")
}

// checkBreakdown: every byte is accounted for once, and the runtime's code
// is named exactly when the module has a name section.
func checkBreakdown(t *testing.T, wasm []byte, named bool) {
	t.Helper()
	b, err := Analyze(wasm, NewPackages(deps(t)))
	if err != nil {
		t.Fatal(err)
	}
	sum := b.Data + b.Names + b.Other
	for _, n := range b.Code {
		sum += n
	}
	if sum != len(wasm) || b.Total != len(wasm) {
		t.Errorf("accounted %d of %d bytes (total %d)", sum, len(wasm), b.Total)
	}
	if got := b.Code["runtime"] > 100_000 && b.Names > 0; got != named {
		t.Errorf("runtime code %d bytes, name section %d bytes; want named %v", b.Code["runtime"], b.Names, named)
	}
	if !named && b.Code["(unnamed)"] == 0 {
		t.Errorf("stripped: no unnamed code: %v", b.Top(5))
	}
	if named && b.Code["(no package)"] > len(wasm)/100 {
		t.Errorf("%d bytes of code without a package: %v", b.Code["(no package)"], b.Top(8))
	}
	if b.Data == 0 {
		t.Error("no data section")
	}
}
