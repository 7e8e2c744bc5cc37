package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzValidate: whatever bytes arrive on stdin, validate answers with exit
// status 0 or 1 and one line per finding, each naming <stdin>; it never
// panics. The seed corpus (testdata/fuzz/FuzzValidate, the repository's
// configurations) runs with every go test.
func FuzzValidate(f *testing.F) {
	for _, pattern := range []string{"deploy/plugins/*.yaml", "deploy/example/*.yaml", "deploy/ambient/*.yaml", "deploy/ambient/*/*.yaml", "testdata/*.json"} {
		files, _ := filepath.Glob(repo(pattern))
		for _, name := range files {
			if b, err := os.ReadFile(name); err == nil {
				f.Add(b)
			}
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		out, errs, code := lanedye(t, string(data), "validate", "-")
		if code != 0 && code != 1 {
			t.Fatalf("exit %d\n%s%s", code, out, errs)
		}
		if errs != "" {
			t.Fatalf("stderr: %q", errs)
		}
		lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
		for _, l := range lines {
			if !strings.HasPrefix(l, "<stdin>") || !strings.Contains(l, ": ") {
				t.Fatalf("line %q of\n%s", l, out)
			}
		}
		if code == 1 && out == "" {
			t.Fatal("failed without saying why")
		}
	})
}
