// Command bench is `make bench`: it measures lanedye and writes
// build/bench.json and a table. Run from the repository root after
// make build.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/perf/benchfmt"

	"github.com/lanedye/lanedye/bench"
	"github.com/lanedye/lanedye/bench/inenvoy"
	"github.com/lanedye/lanedye/bench/wasmhost"
	"github.com/lanedye/lanedye/bench/wasmsize"
	"github.com/lanedye/lanedye/e2e/envoy"
	"github.com/lanedye/lanedye/e2e/mesh"
)

type native struct {
	NsPerOp     float64 `json:"ns_per_op"`
	AllocsPerOp int64   `json:"allocs_per_op"`
	BytesPerOp  int64   `json:"bytes_per_op"`
}

type harness struct {
	Lanedye bench.Cost `json:"lanedye"`
	Noop    bench.Cost `json:"reference_noop"`
	Headers bench.Cost `json:"reference_headers"`
	// Ratios of lanedye's per-request cost.
	RatioToHeaders float64 `json:"ratio_to_headers_reference"`
	RatioToNoop    float64 `json:"ratio_to_noop_reference"`
}

type report struct {
	Date         string            `json:"date"`
	GoVersion    string            `json:"go"`
	Native       map[string]native `json:"native"`
	Gateway      harness           `json:"wasm_gateway"`
	Sidecar      harness           `json:"wasm_sidecar_inbound_plus_outbound"`
	ModuleBytes  map[string]int    `json:"module_bytes"` // by role
	RefBytes     map[string]int    `json:"reference_wasm_bytes"`
	InitialPages map[string]uint32 `json:"initial_memory_pages"` // by role
	Pages        map[string]uint32 `json:"linear_memory_pages"`
	SharedKeys   int               `json:"shared_data_keys_after_1M_ids"`
	Slots        int               `json:"slots"`
	// EnvoyResources: Envoy's RSS with and without lanedye over 100 000
	// requests, and the module's start times, per worker count.
	EnvoyResources []inenvoy.Resources `json:"envoy_resources"`
	// Envoy: the five setups of the envoy section (docs/contract.md, bench.json), in real Envoy.
	Envoy *inenvoy.Comparison `json:"envoy,omitempty"`
	// Footprint: what each module adds to an Envoy (RSS, start CPU).
	Footprint *inenvoy.Footprint `json:"footprint,omitempty"`
	// Size: each module's bytes by Go package (make size).
	Size map[string]wasmsize.Breakdown `json:"size,omitempty"`
	// Instructions: the same setups' instructions per request under
	// callgrind (-only instructions; needs valgrind).
	Instructions *inenvoy.Instructions `json:"instructions,omitempty"`
}

// sectionNames are the parts of the report -only can select.
func sectionNames() []string {
	return []string{"size", "footprint", "native", "wasm", "resources", "envoy", "instructions"}
}

// optional are the sections a run without -only leaves out: they need
// tools make bench does not install.
var optional = map[string]bool{"instructions": true}

func main() {
	only := flag.String("only", "", "comma-separated sections to run, of "+strings.Join(sectionNames(), ", ")+
		"; the others keep their figures from build/bench.json (default: all)")
	var eo inenvoy.Options
	flag.IntVar(&eo.Rounds, "rounds", 12, "envoy: interleaved rounds")
	flag.IntVar(&eo.Window, "window", 1500, "envoy: requests per setup and round")
	flag.IntVar(&eo.Warmup, "warmup", 1000, "envoy: warm-up requests per setup")
	flag.Float64Var(&eo.Rate, "rate", 500, "envoy: requests per second (open loop)")
	flag.IntVar(&eo.Conns, "conns", 16, "envoy: client connections per setup")
	irRequests := flag.Int("ir-requests", 1000, "instructions: counted requests per setup")
	fpRuns := flag.Int("footprint-runs", 3, "footprint: starts per setup")
	fpRequests := flag.Int("footprint-requests", 20000, "footprint: requests before RSS is read")
	docsOnly := flag.Bool("docs", false, "measure nothing: rewrite the figures of "+docsPage+" from build/bench.json")
	flag.Parse()
	if *docsOnly {
		var r report
		check(json.Unmarshal(must(os.ReadFile("build/bench.json")), &r))
		check(writeDocs(r))
		fmt.Println("written: " + docsPage)
		return
	}
	run := must(sections(*only))
	start := time.Now()
	ctx := context.Background()
	r := report{Native: map[string]native{}, Pages: map[string]uint32{}, RefBytes: map[string]int{}, Slots: 8192,
		ModuleBytes: map[string]int{}, InitialPages: map[string]uint32{}}
	// Keep the sections not run now (a run without -only skips the
	// optional ones, which would otherwise vanish from the page).
	if b, err := os.ReadFile("build/bench.json"); err == nil {
		check(json.Unmarshal(b, &r))
	}
	r.Date = time.Now().UTC().Format(time.RFC3339)
	if v, err := exec.Command("go", "env", "GOVERSION").Output(); err == nil {
		r.GoVersion = strings.TrimSpace(string(v))
	}
	// The reference plugins, built now with the same toolchain and flags:
	// the wasm section compares with both, the envoy section loads noop.
	refs := map[string][]byte{}
	for _, name := range []string{"noop", "headers"} {
		out := filepath.Join("build", "ref-"+name+".wasm")
		cmd := exec.Command("go", "build", "-buildmode=c-shared", "-trimpath", "-ldflags=-s -w", "-o", out, "./testdata/refplugins/"+name)
		cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
		cmd.Stderr = os.Stderr
		check(cmd.Run())
		refs[name] = must(os.ReadFile(out))
		r.RefBytes[name] = len(refs[name])
	}
	if run["size"] {
		fmt.Fprintln(os.Stderr, "size by package…")
		sizeSection(&r)
	}
	if run["native"] {
		fmt.Fprintln(os.Stderr, "native benchmarks…")
		r.Native = must(nativeBenchmarks())
	}
	if run["wasm"] {
		wasmSection(ctx, &r, refs)
	}
	if run["footprint"] {
		fmt.Fprintf(os.Stderr, "Envoy footprint: %d starts per setup, RSS after %d requests…\n", *fpRuns, *fpRequests)
		dir := must(os.MkdirTemp("", "lanedye-footprint-"))
		f := must(inenvoy.MeasureFootprint(ctx, must(envoy.Binary(".")), dir, ".", *fpRuns, *fpRequests, os.Stderr))
		os.RemoveAll(dir)
		r.Footprint = &f
	}
	if run["resources"] || run["envoy"] {
		envoySections(ctx, &r, run, eo)
	}
	if run["instructions"] {
		fmt.Fprintf(os.Stderr, "Envoy under callgrind: instructions of %d requests per setup…\n", *irRequests)
		dir := must(os.MkdirTemp("", "lanedye-callgrind-"))
		c := must(inenvoy.CountInstructions(ctx, must(envoy.Binary(".")), dir, ".", 300, *irRequests, os.Stderr))
		os.RemoveAll(dir)
		r.Instructions = &c
	}
	js := must(json.MarshalIndent(r, "", "  "))
	check(os.WriteFile("build/bench.json", append(js, '\n'), 0o644))
	check(writeDocs(r))
	printReport(r, run)
	fmt.Printf("written: build/bench.json and %s (report: %.0f s)\n", docsPage, time.Since(start).Seconds())
}

// sections parses -only.
func sections(only string) (map[string]bool, error) {
	run := map[string]bool{}
	for _, s := range sectionNames() {
		run[s] = only == "" && !optional[s]
	}
	if only == "" {
		return run, nil
	}
	for _, s := range strings.Split(only, ",") {
		s = strings.TrimSpace(s)
		if _, ok := run[s]; !ok {
			return nil, fmt.Errorf("-only: unknown section %q (want some of %s)", s, strings.Join(sectionNames(), ", "))
		}
		run[s] = true
	}
	return run, nil
}

// wasmSection measures the module in the wazero host: size, per-request
// cost beside the references, and linear memory over a long soak.
func wasmSection(ctx context.Context, r *report, refs map[string][]byte) {
	modules := map[string][]byte{}
	for _, role := range roles {
		modules[role] = must(os.ReadFile(modulePath(role)))
		r.ModuleBytes[role] = len(modules[role])
		r.InitialPages[role] = must(bench.InitialPages(ctx, modules[role]))
	}

	fmt.Fprintln(os.Stderr, "wasm harness…")
	seed := must(bench.ShippedGatewayConfig("."))
	r.Gateway = compare(ctx, modules["gateway"], refs, seed, bench.GatewayStreams)
	r.Sidecar = compare(ctx, modules["sidecar"], refs, []byte(bench.SidecarConfig), bench.SidecarStreams)

	fmt.Fprintln(os.Stderr, "soak: 1M gateway requests and 1M sidecar ids…")
	m, gw := instance(ctx, modules["gateway"], seed)
	pages := must(bench.Soak(gw, bench.GatewayStreams, 1_000_000, 100_000, 1_000_000))
	r.Pages["gateway_after_100k"], r.Pages["gateway_after_1M"] = pages[100_000], pages[1_000_000]
	m.Close(ctx)
	m, sc := instance(ctx, modules["sidecar"], []byte(bench.SidecarConfig))
	in := func(i int) []bench.Stream { return bench.SidecarStreams(i)[:1] }
	pages = must(bench.Soak(sc, in, 1_000_000, 100_000, 1_000_000))
	r.Pages["sidecar_after_100k"], r.Pages["sidecar_after_1M"] = pages[100_000], pages[1_000_000]
	r.SharedKeys = sc.SharedKeys()
	m.Close(ctx)
}

// roles are the modules make build writes.
var roles = []string{"gateway", "sidecar"}

// modulePath is a role's module, built by make build.
func modulePath(role string) string { return filepath.Join("build", "lanedye-"+role+".wasm") }

// envoySections runs the sections in real Envoy: memory over a long run,
// and the five setups compared.
func envoySections(ctx context.Context, r *report, run map[string]bool, eo inenvoy.Options) {
	bin := must(envoy.Binary("."))
	dir := must(os.MkdirTemp("", "lanedye-bench-"))
	defer os.RemoveAll(dir)
	if run["resources"] {
		fmt.Fprintln(os.Stderr, "Envoy: RSS over 100 000 requests with and without lanedye, --concurrency 1 and 4…")
		seed := must(bench.ShippedGatewayConfig("."))
		abs := must(filepath.Abs(modulePath("gateway")))
		gwSetup := inenvoy.Setup{Name: "lanedye_gateway", RouteHeader: "x-swimlane", Lane: "gray", Plugin: mesh.Plugin{Wasm: abs, Config: string(seed)}}
		r.EnvoyResources = nil
		for _, c := range []int{1, 4} {
			r.EnvoyResources = append(r.EnvoyResources, must(inenvoy.MeasureResources(ctx, bin, dir, gwSetup, c)))
		}
	}
	if run["envoy"] {
		fmt.Fprintf(os.Stderr, "Envoy: five setups, %d interleaved rounds of %d requests each at %.0f req/s…\n", eo.Rounds, eo.Window, eo.Rate)
		eo.Log = os.Stderr
		c := must(inenvoy.Compare(ctx, bin, dir, ".", eo))
		r.Envoy = &c
	}
}

// compare measures lanedye and both references on the same streams: a
// warm-up, then nine short interleaved rounds, keeping each one's fastest.
// Short interleaved rounds keep machine noise (which shifts single long runs
// by 30 %) out of the ratios.
func compare(ctx context.Context, wasm []byte, refs map[string][]byte, cfg []byte, gen func(int) []bench.Stream) harness {
	mods := map[string]*wasmhost.Instance{}
	for name, w := range map[string][]byte{"lanedye": wasm, "noop": refs["noop"], "headers": refs["headers"]} {
		m, in := instance(ctx, w, cfg)
		defer m.Close(ctx)
		mods[name] = in
	}
	best := map[string]bench.Cost{}
	for _, name := range []string{"lanedye", "noop", "headers"} {
		must(bench.Measure(mods[name], gen, 5_000, 1))
	}
	for round := 0; round < 9; round++ {
		for _, name := range []string{"lanedye", "noop", "headers"} {
			offset := 10_000 + round*4_000
			c := must(bench.Measure(mods[name], func(i int) []bench.Stream { return gen(offset + i) }, 0, 4_000))
			if b, ok := best[name]; !ok || c.NsPerRequest < b.NsPerRequest {
				best[name] = c
			}
		}
	}
	h := harness{Lanedye: best["lanedye"], Noop: best["noop"], Headers: best["headers"]}
	h.RatioToHeaders = h.Lanedye.NsPerRequest / h.Headers.NsPerRequest
	h.RatioToNoop = h.Lanedye.NsPerRequest / h.Noop.NsPerRequest
	return h
}

func instance(ctx context.Context, wasm, cfg []byte) (*wasmhost.Module, *wasmhost.Instance) {
	m, in, err := bench.Instance(ctx, wasm, cfg)
	check(err)
	return m, in
}

// nativeBenchmarks runs the native benchmarks of bench/ with go test
// and reads their results, keyed by sub-benchmark name
// ("gateway/header-rule").
func nativeBenchmarks() (map[string]native, error) {
	cmd := exec.Command("go", "test", "-run", "^$", "-bench", ".", "-benchmem", "./bench")
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go test -bench: %w", err)
	}
	res := map[string]native{}
	rd := benchfmt.NewReader(bytes.NewReader(out), "go test -bench")
	for rd.Scan() {
		b, ok := rd.Result().(*benchfmt.Result)
		if !ok {
			continue
		}
		name := benchName(b.Name)
		var n native
		n.NsPerOp, _ = b.Value("sec/op")
		n.NsPerOp *= 1e9
		if v, ok := b.Value("allocs/op"); ok {
			n.AllocsPerOp = int64(v)
		}
		if v, ok := b.Value("B/op"); ok {
			n.BytesPerOp = int64(v)
		}
		res[name] = n
	}
	return res, rd.Err()
}

// benchName is a benchmark's key in the report: Decide's cases name their
// kind ("gateway/header-rule"), other benchmarks' sub-benchmarks get the
// benchmark's name ("sidecar/inbound"). The GOMAXPROCS suffix ("-2") is
// dropped, so keys do not change with the machine.
func benchName(n benchfmt.Name) string {
	base, parts := n.Parts()
	var sub string
	for _, p := range parts {
		if p[0] != '-' {
			sub += string(p)
		}
	}
	if kind := strings.ToLower(strings.TrimPrefix(string(base), "Benchmark")); kind != "decide" {
		return kind + sub
	}
	return strings.TrimPrefix(sub, "/")
}

func must[T any](v T, err error) T {
	check(err)
	return v
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}
