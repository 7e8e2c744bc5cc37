// Package wasmsize says where a Go-built WebAssembly module's bytes go: the
// code of each Go package, by the function names of the module's name
// section, and the module's data. make size and make bench use it on
// unstripped builds of each role's module; a stripped module (-s -w) has no
// name section, so its code is all "(unnamed)".
//
// It reads only what it needs of the binary format (sections, the function
// imports that shift function indexes, code body sizes, the name section's
// function names); wazero's public API exposes none of these.
package wasmsize

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Breakdown is a module's bytes by where they go.
type Breakdown struct {
	Total int `json:"total"`
	// Code is the function bodies' bytes by Go package ("runtime",
	// "github.com/tidwall/gjson"); "type:", "go:" and other linker
	// symbols are their own entries.
	Code map[string]int `json:"code_by_package"`
	// Data is the data section: Go's read-only data, type descriptors and
	// the function tables, which carry no package name.
	Data int `json:"data"`
	// Names is the name section (gone from a stripped module).
	Names int `json:"name_section"`
	// Other is every other byte: headers, types, imports, exports, tables.
	Other int `json:"other"`
}

// Package is one row of a breakdown.
type Package struct {
	Name  string
	Bytes int
}

// Top returns the n largest code entries, largest first (ties by name).
func (b Breakdown) Top(n int) []Package {
	out := make([]Package, 0, len(b.Code))
	for k, v := range b.Code {
		out = append(out, Package{k, v})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Bytes != out[j].Bytes {
			return out[i].Bytes > out[j].Bytes
		}
		return out[i].Name < out[j].Name
	})
	if len(out) > n {
		out = out[:n]
	}
	return out
}

// Section ids of the binary format.
const (
	secCustom = 0
	secImport = 2
	secCode   = 10
	secData   = 11
)

// Analyze reads a module and breaks its bytes down; ps names the packages
// of its code.
func Analyze(wasm []byte, ps Packages) (Breakdown, error) {
	if len(wasm) < 8 || string(wasm[:4]) != "\x00asm" {
		return Breakdown{}, errors.New("not a WebAssembly module")
	}
	b := Breakdown{Total: len(wasm), Code: map[string]int{}, Other: 8} // magic and version
	var bodies []int
	var names map[uint64]string
	imported := uint64(0)
	r := reader{buf: wasm, pos: 8}
	for !r.done() {
		start := r.pos
		id := r.byte()
		size := r.uint()
		if r.err != nil || size > uint64(len(wasm)-r.pos) {
			return Breakdown{}, fmt.Errorf("section at %d: truncated", start)
		}
		body := reader{buf: wasm[r.pos : r.pos+int(size)]}
		r.pos += int(size)
		whole := r.pos - start
		switch id {
		case secImport:
			imported = body.funcImports()
			b.Other += whole
		case secCode:
			bodies = body.codeSizes()
			b.Other += whole // the bodies are moved to Code below
		case secData:
			b.Data += whole
		case secCustom:
			if body.name() == "name" {
				names = body.functionNames()
				b.Names += whole
			} else {
				b.Other += whole
			}
		default:
			b.Other += whole
		}
		if body.err != nil {
			return Breakdown{}, fmt.Errorf("section %d at %d: %w", id, start, body.err)
		}
	}
	for i, n := range bodies {
		pkg := "(unnamed)"
		if name, ok := names[imported+uint64(i)]; ok {
			pkg = ps.Of(name)
		}
		b.Code[pkg] += n
		b.Other -= n
	}
	return b, nil
}

// Packages maps the names Go's linker writes into a module's name section
// back to Go packages. The linker writes a symbol with every byte other
// than letters, digits, '_' and '.' replaced by '_'
// ("github.com/tidwall/gjson.(*Result).ForEach" becomes
// "github.com_tidwall_gjson.__Result_.ForEach"), so the package of a name
// is found among the module's known import paths (go list -deps).
type Packages map[string]string // mangled import path -> import path

// NewPackages knows the given import paths.
func NewPackages(paths []string) Packages {
	ps := Packages{}
	for _, p := range paths {
		ps[mangle(p)] = p
	}
	return ps
}

func mangle(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !kept(c) {
			b[i] = '_'
		}
	}
	return string(b)
}

// kept: the linker writes letters, digits, '_' and '.' as they are.
func kept(c byte) bool {
	return c == '.' || c == '_' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

// Of returns the package of a name-section symbol: the longest known
// import path it starts with, followed by a dot. The linker's own
// symbols are "type:" (type equality and hash functions) and "go:"; the
// runtime's assembly has no package.
func (ps Packages) Of(sym string) string {
	for _, p := range []string{"type:", "go:"} {
		if strings.HasPrefix(sym, mangle(p)) {
			return p
		}
	}
	best := ""
	for i := 0; i < len(sym); i++ {
		if sym[i] != '.' {
			continue
		}
		if p, ok := ps[sym[:i]]; ok && len(p) > len(best) {
			best = p
		}
	}
	if best == "" {
		return "(no package)"
	}
	return best
}

// reader decodes the parts of the binary format Analyze needs; the first
// error sticks and every later read returns zero.
type reader struct {
	buf []byte
	pos int
	err error
}

func (r *reader) done() bool { return r.err != nil || r.pos >= len(r.buf) }

func (r *reader) fail(what string) {
	if r.err == nil {
		r.err = fmt.Errorf("truncated %s at %d", what, r.pos)
	}
}

func (r *reader) byte() byte {
	if r.err != nil || r.pos >= len(r.buf) {
		r.fail("byte")
		return 0
	}
	r.pos++
	return r.buf[r.pos-1]
}

// uint reads an unsigned LEB128 number, which is Go's uvarint encoding.
func (r *reader) uint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.buf[r.pos:])
	if n <= 0 {
		r.fail("number")
		return 0
	}
	r.pos += n
	return v
}

func (r *reader) bytes() []byte {
	n := r.uint()
	if r.err != nil || n > uint64(len(r.buf)-r.pos) {
		r.fail("bytes")
		return nil
	}
	r.pos += int(n)
	return r.buf[r.pos-int(n) : r.pos]
}

func (r *reader) name() string { return string(r.bytes()) }

// limits skips a table's or memory's limits.
func (r *reader) limits() {
	if r.byte()&1 != 0 {
		r.uint()
	}
	r.uint()
}

// funcImports counts the imported functions: they come first in the
// function index space.
func (r *reader) funcImports() uint64 {
	var funcs uint64
	for n := r.uint(); n > 0 && r.err == nil; n-- {
		r.name() // module
		r.name() // field
		switch kind := r.byte(); kind {
		case 0: // function: its type index
			r.uint()
			funcs++
		case 1: // table: element type and limits
			r.byte()
			r.limits()
		case 2: // memory
			r.limits()
		case 3: // global: value type and mutability
			r.byte()
			r.byte()
		default:
			r.err = fmt.Errorf("import kind %d", kind)
		}
	}
	return funcs
}

// codeSizes returns each function body's bytes, its size prefix included.
func (r *reader) codeSizes() []int {
	n := r.uint()
	out := make([]int, 0, min(n, uint64(len(r.buf))))
	for ; n > 0 && r.err == nil; n-- {
		start := r.pos
		r.bytes()
		out = append(out, r.pos-start)
	}
	return out
}

// functionNames reads the function names subsection (id 1) of a name
// section whose name r has already read.
func (r *reader) functionNames() map[uint64]string {
	out := map[uint64]string{}
	for !r.done() {
		id := r.byte()
		sub := reader{buf: r.bytes()}
		if id != 1 {
			continue
		}
		for n := sub.uint(); n > 0 && sub.err == nil; n-- {
			idx := sub.uint()
			out[idx] = sub.name()
		}
		if sub.err != nil {
			r.err = sub.err
		}
	}
	return out
}
