package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/lanedye/lanedye/bench/wasmsize"
)

// sizeSection breaks each role's module down by Go package. The shipped
// modules are stripped (-s -w), so it builds each once more with its name
// section, under build/size/, and names the code of each function by its
// package; data and names are their own rows.
func sizeSection(r *report) {
	r.Size = map[string]wasmsize.Breakdown{}
	for _, role := range roles {
		out := filepath.Join("build", "size", "lanedye-"+role+".wasm")
		check(os.MkdirAll(filepath.Dir(out), 0o755))
		pkg := "./plugin/" + role
		// As make build builds the modules (plugin/sdkpatch).
		cmd := exec.Command("go", "build", "-modfile="+moduleModfile, "-buildmode=c-shared", "-trimpath", "-o", out, pkg)
		cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
		cmd.Stderr = os.Stderr
		check(cmd.Run())
		list := exec.Command("go", "list", "-modfile="+moduleModfile, "-deps", pkg)
		list.Env = cmd.Env
		deps := must(list.Output())
		b := must(wasmsize.Analyze(must(os.ReadFile(out)), wasmsize.NewPackages(append(strings.Fields(string(deps)), "main"))))
		r.Size[role] = b
		st := must(os.Stat(modulePath(role)))
		r.ModuleBytes[role] = int(st.Size())
	}
}

// moduleModfile is the go.mod make build builds the modules with.
const moduleModfile = "build/modules/go.mod"

// sizeTop is how many packages the size tables list per module.
const sizeTop = 15

func sizeBlock(r report) string {
	if len(r.Size) == 0 {
		return notMeasured
	}
	var t table
	for _, role := range roles {
		b := r.Size[role]
		fmt.Fprintf(&t.b, "`lanedye-%s.wasm`, unstripped: %s bytes (shipped stripped: %s), of which data %s, name section %s:\n\n",
			role, thousands(int64(b.Total)), thousands(int64(r.ModuleBytes[role])), thousands(int64(b.Data)), thousands(int64(b.Names)))
		t.header("package", "code bytes")
		for _, p := range b.Top(sizeTop) {
			t.row("`"+p.Name+"`", thousands(int64(p.Bytes)))
		}
		t.b.WriteString("\n")
	}
	return t.String()
}

func printSize(r report) {
	for _, role := range roles {
		b := r.Size[role]
		fmt.Printf("SIZE lanedye-%s.wasm (unstripped %d bytes: data %d, names %d, other %d)\n", role, b.Total, b.Data, b.Names, b.Other)
		for _, p := range b.Top(sizeTop) {
			fmt.Printf("  %9d  %s\n", p.Bytes, p.Name)
		}
	}
	fmt.Println()
}
