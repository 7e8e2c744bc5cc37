package main

import (
	"fmt"
	"os"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/lanedye/lanedye/bench"
	"github.com/lanedye/lanedye/bench/inenvoy"
)

func printReport(r report, run map[string]bool) {
	if run["size"] {
		printSize(r)
	}
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
	if run["instructions"] && r.Instructions != nil {
		printInstructions(*r.Instructions)
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
		c    bench.Cost
	}{{"gateway", r.Gateway.Lanedye}, {"sidecar in+out", r.Sidecar.Lanedye}} {
		var kinds []string
		for k, v := range row.c.HostCalls {
			kinds = append(kinds, fmt.Sprintf("%s %.2f", strings.TrimPrefix(k, "proxy_"), v))
		}
		sort.Strings(kinds)
		fmt.Printf("host calls per request, %s (%.2f return data): %s\n", row.name, row.c.DataCalls, strings.Join(kinds, ", "))
	}
	fmt.Printf("\nmodules: gateway %d bytes, sidecar %d bytes (references: noop %d, headers %d); initial memory %d / %d pages\n",
		r.ModuleBytes["gateway"], r.ModuleBytes["sidecar"], r.RefBytes["noop"], r.RefBytes["headers"], r.InitialPages["gateway"], r.InitialPages["sidecar"])
	fmt.Printf("linear memory pages: gateway %d after 100k, %d after 1M requests; sidecar %d after 100k, %d after 1M ids\n",
		r.Pages["gateway_after_100k"], r.Pages["gateway_after_1M"], r.Pages["sidecar_after_100k"], r.Pages["sidecar_after_1M"])
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

func printInstructions(c inenvoy.Instructions) {
	fmt.Printf("\nENVOY UNDER CALLGRIND, %d requests per setup\n", c.Requests)
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "setup\tinstructions/req\t− none\t")
	for _, n := range inenvoy.Names() {
		fmt.Fprintf(tw, "%s\t%.0f\t%+.0f\t\n", n, c.PerRequest[n], c.Added[n])
	}
	tw.Flush()
	fmt.Printf("(lanedye_gateway − none) / (lua_seed − none)  = %.2f\n", c.Ratios.GatewayToLua)
	fmt.Printf("(lanedye_gateway − none) / (noop_wasm − none) = %.2f\n", c.Ratios.GatewayToNoop)
	fmt.Printf("lanedye_sidecar_hop / lanedye_gateway         = %.2f\n", c.Ratios.HopToGateway)
}
