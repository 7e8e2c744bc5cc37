package inenvoy

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"time"

	"github.com/lanedye/lanedye/e2e/envoy"
)

// Footprint is what a filter costs an Envoy before it does any work: the
// resident memory it adds and the CPU its start takes. Istio puts the
// sidecar module in every pod, so these are per pod of a mesh.
type Footprint struct {
	Version     string `json:"version"`
	Concurrency int    `json:"concurrency"`
	Runs        int    `json:"runs"`
	Requests    int    `json:"requests"` // before RSS is read
	// ModuleBytes are the Wasm modules' sizes (noop_wasm, gateway,
	// sidecar).
	ModuleBytes map[string]int `json:"module_bytes"`
	// RSSAddedMiB is the median RSS after Requests requests minus the
	// no-filter Envoy's of the same listeners (noop_wasm, lua_seed and
	// gateway: one listener; sidecar: a sidecar's inbound and outbound).
	RSSAddedMiB map[string]float64 `json:"rss_added_mib"`
	// StartCPUSeconds is the Envoy process's CPU time from exec to the
	// first 200 through the filter, the least of Runs starts.
	StartCPUSeconds map[string]float64 `json:"start_cpu_s"`
	// RSSMiB and the starts of every setup, the no-filter ones included.
	RSSMiB      map[string]float64 `json:"rss_mib"`
	StartCPUAll map[string]float64 `json:"start_cpu_s_all_setups"`
	WallSeconds float64            `json:"wall_seconds"`
}

// The footprint's setups; none and none_sidecar are the baselines.
const (
	FootprintNone        = "none"
	FootprintNoneSidecar = "none_sidecar"
	FootprintGateway     = "gateway"
	FootprintSidecar     = "sidecar"
)

// footprintConcurrency: two workers, as the e2e sidecars run, so that a
// second worker VM's cost shows.
const footprintConcurrency = 2

// FootprintNames are the setups in report order.
func FootprintNames() []string {
	return []string{FootprintNone, NoopWasm, LuaSeed, FootprintGateway, FootprintNoneSidecar, FootprintSidecar}
}

// MeasureFootprint starts each setup runs times, interleaved, and reads
// the start CPU and, after requests requests, the RSS of each.
func MeasureFootprint(ctx context.Context, bin, dir, root string, runs, requests int, log io.Writer) (Footprint, error) {
	start := time.Now()
	f := Footprint{Concurrency: footprintConcurrency, Runs: runs, Requests: requests,
		ModuleBytes: map[string]int{}, RSSAddedMiB: map[string]float64{}, StartCPUSeconds: map[string]float64{},
		RSSMiB: map[string]float64{}, StartCPUAll: map[string]float64{}}
	var err error
	if f.Version, err = envoy.Version(bin); err != nil {
		return f, err
	}
	gws, hop, err := Setups(root)
	if err != nil {
		return f, err
	}
	byName := map[string]Setup{}
	for _, s := range gws {
		byName[s.Name] = s
	}
	gateways := map[string]Setup{
		FootprintNone: byName[None], NoopWasm: byName[NoopWasm], LuaSeed: byName[LuaSeed], FootprintGateway: byName[LanedyeGateway],
	}
	hops := map[string]HopSetup{FootprintSidecar: hop, FootprintNoneSidecar: {Name: FootprintNoneSidecar,
		Service: hop.Service, RouteHeader: hop.RouteHeader, Lane: hop.Lane, Mix: hop.Mix}}
	for name, wasm := range map[string]string{NoopWasm: byName[NoopWasm].Plugin.Wasm, FootprintGateway: byName[LanedyeGateway].Plugin.Wasm, FootprintSidecar: hop.Plugin.Wasm} {
		st, err := os.Stat(wasm)
		if err != nil {
			return f, err
		}
		f.ModuleBytes[name] = int(st.Size())
	}
	l := Launch{Bin: bin, Concurrency: footprintConcurrency}
	rss, cpu := map[string][]float64{}, map[string][]float64{}
	for run := range runs {
		for _, name := range FootprintNames() {
			fmt.Fprintf(log, "footprint run %d/%d: %s\n", run+1, runs, name)
			var m footprintRun
			if s, ok := gateways[name]; ok {
				m, err = gatewayFootprint(ctx, l, dir, s, requests)
			} else {
				m, err = hopFootprint(ctx, l, dir, hops[name], requests)
			}
			if err != nil {
				return f, fmt.Errorf("%s: %w", name, err)
			}
			rss[name] = append(rss[name], m.rss)
			cpu[name] = append(cpu[name], m.cpu)
		}
	}
	for _, name := range FootprintNames() {
		f.RSSMiB[name] = median(rss[name])
		f.StartCPUAll[name] = slices.Min(cpu[name])
	}
	for _, name := range []string{NoopWasm, LuaSeed, FootprintGateway} {
		f.RSSAddedMiB[name] = round1(f.RSSMiB[name] - f.RSSMiB[FootprintNone])
	}
	f.RSSAddedMiB[FootprintSidecar] = round1(f.RSSMiB[FootprintSidecar] - f.RSSMiB[FootprintNoneSidecar])
	for _, name := range []string{NoopWasm, FootprintGateway, FootprintSidecar} {
		f.StartCPUSeconds[name] = f.StartCPUAll[name]
	}
	f.WallSeconds = time.Since(start).Seconds()
	return f, nil
}

// footprintRun is one start of one setup.
type footprintRun struct {
	cpu float64 // seconds
	rss float64 // MiB
}

func gatewayFootprint(ctx context.Context, l Launch, dir string, s Setup, requests int) (footprintRun, error) {
	g, err := StartGateway(l, dir, s)
	if err != nil {
		return footprintRun{}, err
	}
	defer g.Stop()
	return measureFootprint(ctx, g.Envoy, g.URL, s.Mix, requests)
}

func hopFootprint(ctx context.Context, l Launch, dir string, s HopSetup, requests int) (footprintRun, error) {
	h, err := StartHop(l, dir, s)
	if err != nil {
		return footprintRun{}, err
	}
	defer h.Stop()
	return measureFootprint(ctx, h.Envoy, h.URL, s.Mix, requests)
}

// measureFootprint reads the CPU an Envoy used up to its first 200, then
// drives requests and reads its RSS.
func measureFootprint(ctx context.Context, p *envoy.Process, url string, m Mix, requests int) (footprintRun, error) {
	if err := firstOK(ctx, url); err != nil {
		return footprintRun{}, err
	}
	cpu, err := p.CPU()
	if err != nil {
		return footprintRun{}, err
	}
	if r := Drive(ctx, url, 0, requests, 8, m); r.Errors > 0 {
		return footprintRun{}, fmt.Errorf("%d of %d requests failed", r.Errors, r.Requests)
	}
	rss, err := p.RSS()
	if err != nil {
		return footprintRun{}, err
	}
	return footprintRun{cpu: cpu.Seconds(), rss: mib(rss)}, nil
}

// firstOK sends requests until one answers 200 (within a minute).
func firstOK(ctx context.Context, url string) error {
	client := &http.Client{Timeout: 5 * time.Second}
	deadline := time.Now().Add(time.Minute)
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+Path, nil)
		if err != nil {
			return err
		}
		req.Host = Host
		resp, err := client.Do(req)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no 200 within a minute of ready (last: %w)", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func round1(v float64) float64 { return float64(int64(v*10+0.5*sign(v))) / 10 }

func sign(v float64) float64 {
	if v < 0 {
		return -1
	}
	return 1
}
