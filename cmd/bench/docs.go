package main

import (
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/lanedye/lanedye/bench"
	"github.com/lanedye/lanedye/bench/inenvoy"
)

// docsPage is the page whose figures make bench writes: every table of
// figures there sits between <!-- bench:NAME --> and <!-- /bench:NAME -->,
// so that the page shows build/bench.json and nothing copied by hand.
const docsPage = "docs/performance.md"

// writeDocs rewrites the figure blocks of docsPage from r.
func writeDocs(r report) error {
	page, err := os.ReadFile(docsPage)
	if err != nil {
		return err
	}
	out, err := replaceBlocks(string(page), renderBlocks(r))
	if err != nil {
		return fmt.Errorf("%s: %w", docsPage, err)
	}
	return os.WriteFile(docsPage, []byte(out), 0o644)
}

// replaceBlocks replaces the text between each block's markers. Every block
// must have its markers, exactly once: a page and a report that drift apart
// are an error, not a page with stale figures.
func replaceBlocks(page string, blocks map[string]string) (string, error) {
	names := make([]string, 0, len(blocks))
	for n := range blocks {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		begin, end := "<!-- bench:"+n+" -->\n", "<!-- /bench:"+n+" -->"
		i := strings.Index(page, begin)
		j := strings.Index(page, end)
		if i < 0 || j < i || strings.Count(page, begin) != 1 || strings.Count(page, end) != 1 {
			return "", fmt.Errorf("want one %q and one %q after it", strings.TrimSpace(begin), end)
		}
		page = page[:i+len(begin)] + strings.TrimRight(blocks[n], "\n") + "\n" + page[j:]
	}
	return page, nil
}

// notMeasured stands in a block whose section build/bench.json lacks.
const notMeasured = "Not measured yet: run `make bench`.\n"

// renderBlocks renders every block from the report.
func renderBlocks(r report) map[string]string {
	return map[string]string{
		"envoy":        envoyBlock(r.Envoy),
		"instructions": instructionsBlock(r.Instructions),
		"memory":       memoryBlock(r.EnvoyResources),
		"native":       nativeBlock(r),
		"wasm":         wasmBlock(r),
		"budgets":      budgetsBlock(r),
		"size":         sizeBlock(r),
		"footprint":    footprintBlock(r.Footprint),
	}
}

// table is a Markdown table under construction.
type table struct{ b strings.Builder }

func (t *table) row(cells ...string) {
	t.b.WriteString("| " + strings.Join(cells, " | ") + " |\n")
}

func (t *table) header(cells ...string) {
	t.row(cells...)
	sep := make([]string, len(cells))
	for i := range sep {
		sep[i] = "---"
	}
	t.row(sep...)
}

func (t *table) String() string { return t.b.String() }

func f1(v float64) string { return fmt.Sprintf("%.1f", v) }
func f2(v float64) string { return fmt.Sprintf("%.2f", v) }

// thousands writes n with comma separators (Go's fmt has no verb for it).
func thousands(n int64) string {
	s := fmt.Sprint(n)
	if n < 0 {
		return "-" + thousands(-n)
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

func signed(n int64) string {
	if n >= 0 {
		return "+" + thousands(n)
	}
	return thousands(n)
}

func envoyBlock(c *inenvoy.Comparison) string {
	if c == nil {
		return notMeasured
	}
	var t table
	fmt.Fprintf(&t.b, "Envoy %s, `--concurrency %d`, open loop at %.0f requests/s, medians of %d interleaved rounds of %d requests:\n\n",
		c.Version, c.Concurrency, c.RateRPS, c.Rounds, c.RequestsPerRound)
	t.header("setup", "Envoy CPU µs/req", "added to `none` (paired, quartiles)", "p50 ms", "p99 ms", "RSS MiB")
	for _, n := range inenvoy.Names() {
		added := "—"
		if n != inenvoy.None {
			q := c.AddedQuartiles[n]
			added = fmt.Sprintf("%+.1f (%.0f–%.0f)", c.AddedCPUUsPerRequest[n], q[0], q[1])
		}
		t.row("`"+n+"`", f1(c.CPUUsPerRequest[n]), added, f2(c.P50Ms[n]), f2(c.P99Ms[n]), f1(c.RSSMiB[n]))
	}
	t.b.WriteString("\n")
	ratios(&t, c.Ratios, "CPU")
	return t.String()
}

func ratios(t *table, r inenvoy.Ratios, what string) {
	t.header("ratio ("+what+")", "measured")
	t.row("gateway's added / Lua's added", f2(r.GatewayToLua))
	t.row("gateway's added / no-op module's added", f2(r.GatewayToNoop))
	t.row("sidecar hop / gateway request", f2(r.HopToGateway))
}

func instructionsBlock(c *inenvoy.Instructions) string {
	if c == nil {
		return "Not measured yet: run `make bench-instructions`.\n"
	}
	var t table
	fmt.Fprintf(&t.b, "%s, %d requests per setup:\n\n", c.Tool, c.Requests)
	t.header("setup", "instructions per request", "added to `none`")
	for _, n := range inenvoy.Names() {
		added := "—"
		if n != inenvoy.None {
			added = signed(int64(c.Added[n]))
		}
		t.row("`"+n+"`", thousands(int64(c.PerRequest[n])), added)
	}
	t.b.WriteString("\n")
	ratios(&t, c.Ratios, "instructions")
	return t.String()
}

func memoryBlock(rs []inenvoy.Resources) string {
	if len(rs) == 0 {
		return notMeasured
	}
	var t table
	cells := []string{"`--concurrency`", "setup", "idle"}
	for _, n := range inenvoy.Checkpoints {
		cells = append(cells, "after "+thousands(int64(n)))
	}
	t.header(cells...)
	for _, e := range rs {
		for _, name := range []string{"none", "lanedye_gateway"} {
			run := e.RSSMiB[name]
			row := []string{fmt.Sprint(e.Concurrency), "`" + name + "`", f1(run.Idle)}
			for _, n := range inenvoy.Checkpoints {
				row = append(row, f1(run.After[fmt.Sprint(n)]))
			}
			t.row(row...)
		}
	}
	t.b.WriteString("\n")
	t.header("`--concurrency`", "module compilation (main thread) ms", "worker VM start ms")
	for _, e := range rs {
		ws := make([]string, len(e.WorkerVMMs))
		for i, w := range e.WorkerVMMs {
			ws[i] = f1(w)
		}
		t.row(fmt.Sprint(e.Concurrency), fmt.Sprintf("%.0f", e.LoadMs), strings.Join(ws, ", "))
	}
	return t.String()
}

func nativeBlock(r report) string {
	if len(r.Native) == 0 {
		return notMeasured
	}
	names := make([]string, 0, len(r.Native))
	for n := range r.Native {
		names = append(names, n)
	}
	sort.Strings(names)
	var t table
	t.header("native decision", "ns/op", "allocs/op", "B/op")
	for _, n := range names {
		v := r.Native[n]
		t.row("`"+n+"`", fmt.Sprintf("%.0f", v.NsPerOp), fmt.Sprint(v.AllocsPerOp), fmt.Sprint(v.BytesPerOp))
	}
	return t.String()
}

func wasmBlock(r report) string {
	if r.Gateway.Lanedye.NsPerRequest == 0 {
		return notMeasured
	}
	var t table
	t.header("built module in a wazero host, full stream lifecycle", "lanedye µs/req", "no-op plugin", "read headers + write one", "× headers", "× no-op")
	for _, row := range []struct {
		name string
		h    harness
	}{{"gateway, shipped configuration", r.Gateway}, {"sidecar, one hop (inbound + outbound)", r.Sidecar}} {
		t.row(row.name, f1(row.h.Lanedye.NsPerRequest/1000), f1(row.h.Noop.NsPerRequest/1000),
			f1(row.h.Headers.NsPerRequest/1000), f2(row.h.RatioToHeaders), f2(row.h.RatioToNoop))
	}
	t.b.WriteString("\n")
	t.header("host calls per request", "calls")
	for _, row := range []struct {
		name string
		c    bench.Cost
	}{{"gateway", r.Gateway.Lanedye}, {"sidecar, inbound + outbound", r.Sidecar.Lanedye}} {
		kinds := make([]string, 0, len(row.c.HostCalls))
		for k, v := range row.c.HostCalls {
			kinds = append(kinds, fmt.Sprintf("`%s` %.2f", strings.TrimPrefix(k, "proxy_"), v))
		}
		sort.Strings(kinds)
		t.row(fmt.Sprintf("%s (%.2f return data)", row.name, row.c.DataCalls), strings.Join(kinds, ", "))
	}
	return t.String()
}

func budgetsBlock(r report) string {
	if r.Gateway.Lanedye.NsPerRequest == 0 { // the wasm section has not run
		return notMeasured
	}
	var t table
	t.header("budget (asserted by `go test ./bench`)", "measured", "budget")
	t.row("`lanedye-gateway.wasm`", thousands(int64(r.ModuleBytes["gateway"]))+" bytes", "≤ "+thousands(bench.MaxGatewayBytes)+" bytes")
	t.row("`lanedye-sidecar.wasm`", thousands(int64(r.ModuleBytes["sidecar"]))+" bytes", "≤ "+thousands(bench.MaxSidecarBytes)+" bytes")
	t.row("initial linear memory", fmt.Sprintf("gateway %d, sidecar %d pages", r.InitialPages["gateway"], r.InitialPages["sidecar"]), fmt.Sprintf("≤ %d pages", bench.MaxInitialPages))
	t.row("host calls returning data, gateway", f2(r.Gateway.Lanedye.DataCalls)+" per request",
		fmt.Sprintf("≤ %d, + %d for `source_ip`", bench.GatewayDataCalls, bench.SourceDataCalls))
	t.row("host calls returning data, sidecar", f2(r.Sidecar.Lanedye.DataCalls/2)+" per request and direction",
		fmt.Sprintf("≤ %d", bench.SidecarDataCalls))
	t.row("linear memory, gateway", fmt.Sprintf("%d pages after 100k, %d after 1M requests", r.Pages["gateway_after_100k"], r.Pages["gateway_after_1M"]), "no growth")
	t.row("linear memory, sidecar", fmt.Sprintf("%d pages after 100k, %d after 1M ids", r.Pages["sidecar_after_100k"], r.Pages["sidecar_after_1M"]), "no growth")
	t.row("shared-data keys after 1M distinct ids", thousands(int64(r.SharedKeys)), fmt.Sprintf("≤ slots (%s)", thousands(int64(r.Slots))))
	return t.String()
}

// Footprint goals, as multiples of what the no-op Go module costs (the
// floor of any Go Proxy-Wasm module) and module bytes.
const (
	sidecarRSSGoal   = 1.12
	sidecarStartGoal = 1.3
	gatewayRSSGoal   = 1.45
)

func footprintBlock(f *inenvoy.Footprint) string {
	if f == nil {
		return notMeasured
	}
	var t table
	fmt.Fprintf(&t.b, "Envoy %s, `--concurrency %d`; RSS after %s requests, median of %d starts, minus the no-filter Envoy's with the same listeners; start CPU from exec to the first 200 through the filter, least of %d:\n\n",
		f.Version, f.Concurrency, thousands(int64(f.Requests)), f.Runs, f.Runs)
	t.header("setup", "module bytes", "RSS added MiB", "start CPU s")
	for _, row := range []struct{ name, label string }{
		{inenvoy.NoopWasm, "no-op Go module"}, {inenvoy.LuaSeed, "seed Lua router"},
		{inenvoy.FootprintGateway, "`lanedye-gateway.wasm`"}, {inenvoy.FootprintSidecar, "`lanedye-sidecar.wasm`"},
	} {
		bytes, start := "—", "—"
		if n, ok := f.ModuleBytes[row.name]; ok {
			bytes = thousands(int64(n))
		}
		if v, ok := f.StartCPUSeconds[row.name]; ok {
			start = f2(v)
		}
		t.row(row.label, bytes, f1(f.RSSAddedMiB[row.name]), start)
	}
	t.b.WriteString("\n")
	noopRSS, noopStart := f.RSSAddedMiB[inenvoy.NoopWasm], f.StartCPUSeconds[inenvoy.NoopWasm]
	t.header("goal", "measured", "met")
	goal := func(name string, measured, limit float64, format func(float64) string) {
		met := "yes"
		if measured > limit {
			met = "no"
		}
		t.row(name, format(measured), met)
	}
	mb := func(v float64) string { return fmt.Sprintf("%.2f MB", v/1e6) }
	x := func(v float64) string { return f2(v) + "×" }
	goal("sidecar module ≤ 2.8 MB", float64(f.ModuleBytes[inenvoy.FootprintSidecar]), 2.8e6, mb)
	goal(fmt.Sprintf("sidecar RSS added ≤ %.2f× the no-op module's", sidecarRSSGoal), f.RSSAddedMiB[inenvoy.FootprintSidecar]/noopRSS, sidecarRSSGoal, x)
	goal(fmt.Sprintf("sidecar start CPU ≤ %.1f× the no-op module's", sidecarStartGoal), f.StartCPUSeconds[inenvoy.FootprintSidecar]/noopStart, sidecarStartGoal, x)
	goal("gateway module ≤ 3.8 MB", float64(f.ModuleBytes[inenvoy.FootprintGateway]), 3.8e6, mb)
	goal(fmt.Sprintf("gateway RSS added ≤ %.2f× the no-op module's", gatewayRSSGoal), f.RSSAddedMiB[inenvoy.FootprintGateway]/noopRSS, gatewayRSSGoal, x)
	return t.String()
}
