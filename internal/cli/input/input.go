// Package input finds lanedye configurations in what the lanedye command
// reads: JSON or YAML holding a bare pluginConfig, Istio WasmPlugin or
// TrafficExtension (Istio >= 1.30) manifests (several YAML documents per file, kubectl List output,
// kustomize output), or directories of such files. Each configuration comes
// out as the JSON the plugin would receive, named "FILE" or "FILE#DOC" for
// messages.
package input

import (
	"cmp"
	"strings"

	"github.com/tidwall/gjson"
)

// MaxFileSize is the largest file read, in bytes.
const MaxFileSize = 32 << 20

// MaxDepth is the deepest nesting read, as in the YAML parser.
const MaxDepth = 10000

// Stdin is the name "-" is reported under.
const Stdin = "<stdin>"

// Config is one configuration found.
type Config struct {
	// Source names it in messages: FILE, or FILE#DOC when the file holds
	// several documents (DOC counts from 1; items[N] for List items).
	Source string
	// Name and Namespace are the manifest's metadata; empty for a bare
	// pluginConfig.
	Name, Namespace string
	// JSON is the pluginConfig as the plugin receives it.
	JSON []byte
}

// Problem is input that yields no usable configuration: unreadable, not
// YAML or JSON, a WasmPlugin without pluginConfig, or no configuration at
// all. Path is "$" unless the problem is at a field of a manifest.
type Problem struct {
	Source, Path, Msg string
}

func (p *Problem) Error() string { return p.Source + ": " + p.Path + ": " + p.Msg }

// Found is what one file or stream holds.
type Found struct {
	Configs  []Config
	Problems []Problem
	// Kinds are the kinds of the other manifests seen (skipped).
	Kinds []string
}

// Read finds the configurations in data, read from name. It never panics
// on malformed input: everything wrong with it is a Problem.
func Read(name string, data []byte) Found {
	objs, problems := Objects(name, data)
	f := Found{Problems: problems}
	for _, o := range objs {
		f.add(o)
	}
	return f
}

// add records what one object holds.
func (f *Found) add(o Object) {
	v := o.Value
	if !v.IsObject() {
		f.Problems = append(f.Problems, Problem{o.Source, "$", "not a pluginConfig or a manifest: a " + typeName(v) + ", not a mapping"})
		return
	}
	kind := v.Get("kind")
	switch {
	case !kind.Exists() && !v.Get("apiVersion").Exists():
		f.Configs = append(f.Configs, Config{Source: o.Source, JSON: []byte(v.Raw)})
	case kind.String() == "WasmPlugin":
		f.wasmPlugin(o.Source, v, "spec.pluginConfig")
	case kind.String() == "TrafficExtension" && v.Get("spec.wasm").Exists():
		// Istio >= 1.30: a WasmPlugin's fields under spec.wasm.
		f.wasmPlugin(o.Source, v, "spec.wasm.pluginConfig")
	default:
		f.Kinds = append(f.Kinds, cmp.Or(kind.String(), "(no kind)"))
	}
}

// wasmPlugin takes the pluginConfig at path of a WasmPlugin or
// TrafficExtension.
func (f *Found) wasmPlugin(src string, v gjson.Result, path string) {
	pc := v.Get(path)
	if !pc.Exists() {
		f.Problems = append(f.Problems, Problem{src, path, "missing: the plugin would start without a configuration, which it rejects"})
		return
	}
	f.Configs = append(f.Configs, Config{
		Source: src, Name: v.Get("metadata.name").String(), Namespace: v.Get("metadata.namespace").String(),
		JSON: []byte(pc.Raw),
	})
}

// NoConfig is the problem of a file that holds neither a configuration nor
// a problem.
func (f *Found) NoConfig(name string) *Problem {
	if len(f.Configs) > 0 || len(f.Problems) > 0 {
		return nil
	}
	msg := "no lanedye configuration: the file is empty"
	if len(f.Kinds) > 0 {
		msg = "no lanedye configuration (a pluginConfig, WasmPlugin or TrafficExtension manifests or a List of them); found " + strings.Join(f.Kinds, ", ")
	}
	return &Problem{name, "$", msg}
}

func typeName(v gjson.Result) string {
	switch {
	case v.IsArray():
		return "list"
	case v.Type == gjson.String:
		return "string"
	case v.Type == gjson.Number:
		return "number"
	case v.Type == gjson.True || v.Type == gjson.False:
		return "boolean"
	}
	return "null"
}
