// Command report is `make bench`: it measures lanedye and writes
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
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"golang.org/x/perf/benchfmt"

	"github.com/lanedye/lanedye/e2e/envoy"
	"github.com/lanedye/lanedye/e2e/mesh"
	"github.com/lanedye/lanedye/internal/perf"
	"github.com/lanedye/lanedye/internal/perf/inenvoy"
	"github.com/lanedye/lanedye/internal/wasmhost"
)

type native struct {
	NsPerOp     float64 `json:"ns_per_op"`
	AllocsPerOp int64   `json:"allocs_per_op"`
	BytesPerOp  int64   `json:"bytes_per_op"`
}

type harness struct {
	Lanedye perf.Cost `json:"lanedye"`
	Noop    perf.Cost `json:"reference_noop"`
	Headers perf.Cost `json:"reference_headers"`
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
	WasmBytes    int               `json:"wasm_bytes"`
	RefBytes     map[string]int    `json:"reference_wasm_bytes"`
	InitialPages uint32            `json:"initial_memory_pages"`
	Pages        map[string]uint32 `json:"linear_memory_pages"`
	SharedKeys   int               `json:"shared_data_keys_after_1M_ids"`
	Slots        int               `json:"slots"`
	// EnvoyResources: Envoy's RSS with and without lanedye over 100 000
	// requests, and the module's start times, per worker count.
	EnvoyResources []inenvoy.Resources `json:"envoy_resources"`
	// Envoy: the five setups of SPEC's envoy section, in real Envoy.
	Envoy *inenvoy.Comparison `json:"envoy,omitempty"`
}

// sectionNames are the parts of the report -only can select.
func sectionNames() []string { return []string{"native", "wasm", "resources", "envoy"} }

func main() {
	only := flag.String("only", "", "comma-separated sections to run, of "+strings.Join(sectionNames(), ", ")+
		"; the others keep their figures from build/bench.json (default: all)")
	var eo inenvoy.Options
	flag.IntVar(&eo.Rounds, "rounds", 12, "envoy: interleaved rounds")
	flag.IntVar(&eo.Window, "window", 1500, "envoy: requests per setup and round")
	flag.IntVar(&eo.Warmup, "warmup", 1000, "envoy: warm-up requests per setup")
	flag.Float64Var(&eo.Rate, "rate", 500, "envoy: requests per second (open loop)")
	flag.IntVar(&eo.Conns, "conns", 16, "envoy: client connections per setup")
	flag.Parse()
	run := must(sections(*only))
	start := time.Now()
	ctx := context.Background()
	r := report{Native: map[string]native{}, Pages: map[string]uint32{}, RefBytes: map[string]int{}, Slots: 8192}
	if *only != "" {
		// Keep the sections not run now.
		if b, err := os.ReadFile("build/bench.json"); err == nil {
			check(json.Unmarshal(b, &r))
		}
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
	if run["native"] {
		fmt.Fprintln(os.Stderr, "native benchmarks…")
		r.Native = must(nativeBenchmarks())
	}
	if run["wasm"] {
		wasmSection(ctx, &r, refs)
	}
	if run["resources"] || run["envoy"] {
		envoySections(ctx, &r, run, eo)
	}
	js := must(json.MarshalIndent(r, "", "  "))
	check(os.WriteFile("build/bench.json", append(js, '\n'), 0o644))
	printReport(r, run)
	fmt.Printf("written: build/bench.json (report: %.0f s)\n", time.Since(start).Seconds())
}

// sections parses -only.
func sections(only string) (map[string]bool, error) {
	run := map[string]bool{}
	for _, s := range sectionNames() {
		run[s] = only == ""
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
	wasm := must(os.ReadFile("build/lanedye.wasm"))
	r.WasmBytes = len(wasm)
	r.InitialPages = must(perf.InitialPages(ctx, wasm))

	fmt.Fprintln(os.Stderr, "wasm harness…")
	seed := must(perf.ShippedGatewayConfig("."))
	r.Gateway = compare(ctx, wasm, refs, seed, perf.GatewayStreams)
	r.Sidecar = compare(ctx, wasm, refs, []byte(perf.SidecarConfig), perf.SidecarStreams)

	fmt.Fprintln(os.Stderr, "soak: 1M gateway requests and 1M sidecar ids…")
	m, gw := instance(ctx, wasm, seed)
	pages := must(perf.Soak(gw, perf.GatewayStreams, 1_000_000, 10_000, 1_000_000))
	r.Pages["gateway_after_10k"], r.Pages["gateway_after_1M"] = pages[10_000], pages[1_000_000]
	sc := must(m.NewInstance(ctx, []byte(perf.SidecarConfig)))
	in := func(i int) []perf.Stream { return perf.SidecarStreams(i)[:1] }
	pages = must(perf.Soak(sc, in, 1_000_000, 10_000, 1_000_000))
	r.Pages["sidecar_after_10k"], r.Pages["sidecar_after_1M"] = pages[10_000], pages[1_000_000]
	r.SharedKeys = sc.SharedKeys()
	m.Close(ctx)
}

// envoySections runs the sections in real Envoy: memory over a long run,
// and the five setups compared.
func envoySections(ctx context.Context, r *report, run map[string]bool, eo inenvoy.Options) {
	bin := must(envoy.Binary("."))
	dir := must(os.MkdirTemp("", "lanedye-bench-"))
	defer os.RemoveAll(dir)
	if run["resources"] {
		fmt.Fprintln(os.Stderr, "Envoy: RSS over 100 000 requests with and without lanedye, --concurrency 1 and 4…")
		seed := must(perf.ShippedGatewayConfig("."))
		abs := must(filepath.Abs("build/lanedye.wasm"))
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
func compare(ctx context.Context, wasm []byte, refs map[string][]byte, cfg []byte, gen func(int) []perf.Stream) harness {
	mods := map[string]*wasmhost.Instance{}
	for name, w := range map[string][]byte{"lanedye": wasm, "noop": refs["noop"], "headers": refs["headers"]} {
		m, in := instance(ctx, w, cfg)
		defer m.Close(ctx)
		mods[name] = in
	}
	best := map[string]perf.Cost{}
	for _, name := range []string{"lanedye", "noop", "headers"} {
		must(perf.Measure(mods[name], gen, 5_000, 1))
	}
	for round := 0; round < 9; round++ {
		for _, name := range []string{"lanedye", "noop", "headers"} {
			offset := 10_000 + round*4_000
			c := must(perf.Measure(mods[name], func(i int) []perf.Stream { return gen(offset + i) }, 0, 4_000))
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
	m, in, err := perf.Instance(ctx, wasm, cfg)
	check(err)
	return m, in
}

// nativeBenchmarks runs the native benchmarks of internal/perf with go test
// and reads their results, keyed by sub-benchmark name
// ("gateway/header-rule").
func nativeBenchmarks() (map[string]native, error) {
	cmd := exec.Command("go", "test", "-run", "^$", "-bench", ".", "-benchmem", "./internal/perf")
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

func printReport(r report, run map[string]bool) {
	if run["native"] {
		printNative(r)
	}
	if run["wasm"] {
		printWasm(r)
	}
	if run["resources"] {
		printResources(r)
	}
	if run["envoy"] && r.Envoy != nil {
		printEnvoy(*r.Envoy)
	}
}

func printNative(r report) {
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NATIVE DECISION\tns/op\tallocs/op")
	var names []string
	for n := range r.Native {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(tw, "%s\t%.0f\t%d\n", n, r.Native[n].NsPerOp, r.Native[n].AllocsPerOp)
	}
	tw.Flush()
	fmt.Println()
}

func printWasm(r report) {
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "WASM (wazero, full lifecycle)\tlanedye µs/req\tnoop µs/req\theaders µs/req\t× headers\t× noop")
	for _, row := range []struct {
		name string
		h    harness
	}{{"gateway, seed configuration", r.Gateway}, {"sidecar, inbound + outbound", r.Sidecar}} {
		fmt.Fprintf(tw, "%s\t%.1f\t%.1f\t%.1f\t%.2f\t%.2f\n", row.name, row.h.Lanedye.NsPerRequest/1000,
			row.h.Noop.NsPerRequest/1000, row.h.Headers.NsPerRequest/1000, row.h.RatioToHeaders, row.h.RatioToNoop)
	}
	tw.Flush()
	fmt.Println()
	for _, row := range []struct {
		name string
		c    perf.Cost
	}{{"gateway", r.Gateway.Lanedye}, {"sidecar in+out", r.Sidecar.Lanedye}} {
		var kinds []string
		for k, v := range row.c.HostCalls {
			kinds = append(kinds, fmt.Sprintf("%s %.2f", strings.TrimPrefix(k, "proxy_"), v))
		}
		sort.Strings(kinds)
		fmt.Printf("host calls per request, %s (%.2f return data): %s\n", row.name, row.c.DataCalls, strings.Join(kinds, ", "))
	}
	fmt.Printf("\nwasm %d bytes (references: noop %d, headers %d); initial memory %d pages\n", r.WasmBytes, r.RefBytes["noop"], r.RefBytes["headers"], r.InitialPages)
	fmt.Printf("linear memory pages: gateway %d after 10k, %d after 1M requests; sidecar %d after 10k, %d after 1M ids\n",
		r.Pages["gateway_after_10k"], r.Pages["gateway_after_1M"], r.Pages["sidecar_after_10k"], r.Pages["sidecar_after_1M"])
	fmt.Printf("shared-data keys after 1M distinct ids: %d (slots %d)\n", r.SharedKeys, r.Slots)
	fmt.Println()
}

func printResources(r report) {
	for _, e := range r.EnvoyResources {
		for _, name := range []string{"none", "lanedye_gateway"} {
			run := e.RSSMiB[name]
			var after []string
			for _, n := range inenvoy.Checkpoints {
				after = append(after, fmt.Sprintf("%.1f", run.After[fmt.Sprint(n)]))
			}
			fmt.Printf("Envoy --concurrency %d, %s: RSS idle %.1f MiB, after 20k..100k requests %s MiB\n", e.Concurrency, name, run.Idle, strings.Join(after, " / "))
		}
		fmt.Printf("Envoy --concurrency %d: module load %.0f ms (main thread), worker VM start %v ms\n", e.Concurrency, e.LoadMs, e.WorkerVMMs)
	}
	fmt.Println()
}

func printEnvoy(c inenvoy.Comparison) {
	fmt.Printf("ENVOY %s, --concurrency %d, open loop at %.0f req/s, median of %d interleaved rounds of %d requests (%.0f s)\n",
		c.Version, c.Concurrency, c.RateRPS, c.Rounds, c.RequestsPerRound, c.WallSeconds)
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "setup\tCPU µs/req\t− none, paired\t(quartiles)\tp50 ms\tp99 ms\tRSS MiB\tgray\t")
	for _, n := range inenvoy.Names() {
		q := c.AddedQuartiles[n]
		fmt.Fprintf(tw, "%s\t%.1f\t%+.1f\t(%.0f–%.0f)\t%.2f\t%.2f\t%.1f\t%.0f %%\t\n", n, c.CPUUsPerRequest[n], c.AddedCPUUsPerRequest[n],
			q[0], q[1], c.P50Ms[n], c.P99Ms[n], c.RSSMiB[n], c.GrayShare[n]*100)
	}
	tw.Flush()
	fmt.Printf("(lanedye_gateway − none) / (lua_seed − none)  = %.2f\n", c.Ratios.GatewayToLua)
	fmt.Printf("(lanedye_gateway − none) / (noop_wasm − none) = %.2f\n", c.Ratios.GatewayToNoop)
	fmt.Printf("lanedye_sidecar_hop / lanedye_gateway         = %.2f\n", c.Ratios.HopToGateway)
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
