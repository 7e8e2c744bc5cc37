package inenvoy

import (
	"context"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/lanedye/lanedye/e2e/envoy"
)

// Options of a comparison.
type Options struct {
	Rounds int     // interleaved rounds; the figures are their medians
	Window int     // requests per setup and round
	Warmup int     // requests per setup before the first round
	Rate   float64 // requests per second, open loop
	Conns  int     // client connections per setup
	Log    io.Writer
}

// Comparison is the envoy section of build/bench.json: every figure keyed
// by setup (Names), the median of the rounds.
type Comparison struct {
	Version          string  `json:"version"`
	Concurrency      int     `json:"concurrency"`
	Rounds           int     `json:"rounds"`
	RequestsPerRound int     `json:"requests_per_round"`
	RateRPS          float64 `json:"rate_rps"`
	// CPUUsPerRequest is the Envoy process's user+system CPU over a
	// window divided by the requests it served in it (the sidecar hop:
	// benchmark requests, each seen inbound and outbound).
	CPUUsPerRequest map[string]float64 `json:"cpu_us_per_request"`
	// AddedCPUUsPerRequest is each setup's CPU minus none's in the same
	// round, the median over the rounds; AddedQuartiles are the first and
	// third quartiles over the rounds, the spread the ratios carry.
	AddedCPUUsPerRequest map[string]float64    `json:"added_cpu_us_per_request"`
	AddedQuartiles       map[string][2]float64 `json:"added_cpu_us_per_request_quartiles"`
	// P50Ms and P99Ms count from each request's scheduled send time.
	P50Ms     map[string]float64 `json:"p50_ms"`
	P99Ms     map[string]float64 `json:"p99_ms"`
	RSSMiB    map[string]float64 `json:"rss_mib"` // after the rounds
	GrayShare map[string]float64 `json:"gray_share"`
	Ratios    Ratios             `json:"ratios"`
	// CPURounds is every round's CPU figure, for the spread.
	CPURounds   map[string][]float64 `json:"cpu_us_per_request_rounds"`
	WallSeconds float64              `json:"wall_seconds"`
}

// Ratios compare lanedye with the references: in Envoy CPU for Compare,
// in instructions for CountInstructions.
type Ratios struct {
	// GatewayToLua is (lanedye_gateway - none) / (lua_seed - none).
	GatewayToLua float64 `json:"gateway_added_to_lua_added"`
	// GatewayToNoop is (lanedye_gateway - none) / (noop_wasm - none).
	GatewayToNoop float64 `json:"gateway_added_to_noop_added"`
	// HopToGateway is lanedye_sidecar_hop / lanedye_gateway, per round,
	// the median over the rounds.
	HopToGateway float64 `json:"sidecar_hop_to_gateway"`
}

// Compare runs the five setups of Setups(root), each in its own Envoy
// (bin, --concurrency 1) kept running throughout: the sticky cookies and
// their check, a warm-up window per setup, then o.Rounds rounds of one
// window per setup, in an order shuffled per round (with a fixed seed, so
// runs repeat it) so that no setup always runs at the same place or after
// the same neighbour. Every window checks that Envoy served every request
// and that about half went to the gray cluster.
func Compare(ctx context.Context, bin, dir, root string, o Options) (Comparison, error) {
	start := time.Now()
	logw := o.Log
	if logw == nil {
		logw = io.Discard
	}
	c := Comparison{Concurrency: concurrency, Rounds: o.Rounds, RequestsPerRound: o.Window, RateRPS: o.Rate}
	if o.Rounds < 1 || o.Window < 1 || o.Rate <= 0 || o.Conns < 1 || o.Warmup < 0 {
		return c, fmt.Errorf("inenvoy: rounds, window, rate and connections must be positive, warm-up not negative: %+v", o)
	}
	var err error
	if c.Version, err = envoy.Version(bin); err != nil {
		return c, err
	}
	gws, hop, err := Setups(root)
	if err != nil {
		return c, err
	}
	fmt.Fprintf(logw, "starting %d Envoys…\n", len(gws)+1)
	ts, err := startTargets(Launch{Bin: bin, Concurrency: concurrency}, dir, gws, hop)
	if err != nil {
		return c, err
	}
	defer stopAll(ts)
	pace := Pace{Rate: o.Rate, Conns: o.Conns, Run: uint32(time.Now().UnixNano())}
	if err := stick(ctx, ts, pace.Run); err != nil {
		return c, err
	}
	samples, err := rounds(ctx, ts, o, pace, logw)
	if err != nil {
		return c, err
	}
	rss := map[string]float64{}
	for _, t := range ts {
		b, err := t.proc.RSS()
		if err != nil {
			return c, err
		}
		rss[t.name] = mib(b)
	}
	c.fill(samples, rss)
	c.WallSeconds = math.Round(time.Since(start).Seconds())
	return c, nil
}

func rounds(ctx context.Context, ts []*target, o Options, p Pace, logw io.Writer) (map[string][]sample, error) {
	fmt.Fprintf(logw, "warm-up: %d requests per setup at %.0f req/s…\n", o.Warmup, o.Rate)
	for _, t := range ts {
		if o.Warmup == 0 {
			break
		}
		if _, err := t.window(ctx, 0, o.Warmup, p); err != nil {
			return nil, err
		}
	}
	out := map[string][]sample{}
	for r := range o.Rounds {
		first := o.Warmup + r*o.Window // the same requests for every setup
		for _, j := range rand.New(rand.NewPCG(uint64(r), 1)).Perm(len(ts)) {
			t := ts[j]
			s, err := t.window(ctx, first, o.Window, p)
			if err != nil {
				return nil, err
			}
			out[t.name] = append(out[t.name], s)
			fmt.Fprintf(logw, "round %d/%d %-20s %6.1f µs/req  p50 %5.2f ms  p99 %5.2f ms  gray %2.0f %%\n",
				r+1, o.Rounds, t.name, s.cpuUs, s.p50, s.p99, s.grayShare*100)
		}
	}
	return out, nil
}

// fill sets the figures from the rounds' samples. Added CPU and the ratios
// pair each setup with none (and the hop with the gateway) within a round
// before taking the median: on this kind of shared virtual machine the
// whole machine drifts by ±10 % from one minute to the next, which a
// difference of two separate medians would carry into the ratios.
func (c *Comparison) fill(samples map[string][]sample, rss map[string]float64) {
	c.CPUUsPerRequest, c.AddedCPUUsPerRequest, c.AddedQuartiles = map[string]float64{}, map[string]float64{}, map[string][2]float64{}
	c.P50Ms, c.P99Ms, c.GrayShare = map[string]float64{}, map[string]float64{}, map[string]float64{}
	c.CPURounds, c.RSSMiB = map[string][]float64{}, rss
	cpu := func(name string) []float64 { return field(samples[name], func(s sample) float64 { return s.cpuUs }) }
	for name, ss := range samples {
		c.CPUUsPerRequest[name] = round2(median(cpu(name)))
		c.P50Ms[name] = round2(median(field(ss, func(s sample) float64 { return s.p50 })))
		c.P99Ms[name] = round2(median(field(ss, func(s sample) float64 { return s.p99 })))
		c.GrayShare[name] = round2(median(field(ss, func(s sample) float64 { return s.grayShare })))
		for _, v := range cpu(name) {
			c.CPURounds[name] = append(c.CPURounds[name], round2(v))
		}
		added := paired(cpu(name), cpu(None), func(a, b float64) float64 { return a - b })
		c.AddedCPUUsPerRequest[name] = round2(median(added))
		c.AddedQuartiles[name] = [2]float64{round2(quantile(added, 0.25)), round2(quantile(added, 0.75))}
	}
	added := c.AddedCPUUsPerRequest
	c.Ratios = Ratios{
		GatewayToLua:  ratio(added[LanedyeGateway], added[LuaSeed]),
		GatewayToNoop: ratio(added[LanedyeGateway], added[NoopWasm]),
		HopToGateway:  round2(median(paired(cpu(LanedyeSidecarHop), cpu(LanedyeGateway), func(a, b float64) float64 { return a / b }))),
	}
}

func field(ss []sample, f func(sample) float64) []float64 {
	v := make([]float64, len(ss))
	for i, s := range ss {
		v[i] = f(s)
	}
	return v
}

// paired applies f to the two setups' figures of each round.
func paired(a, b []float64, f func(a, b float64) float64) []float64 {
	v := make([]float64, min(len(a), len(b)))
	for i := range v {
		v[i] = f(a[i], b[i])
	}
	return v
}

func median(v []float64) float64 { return quantile(v, 0.5) }

// quantile interpolates linearly between the closest ranks.
func quantile(v []float64, q float64) float64 {
	if len(v) == 0 {
		return 0
	}
	v = slices.Clone(v)
	slices.Sort(v)
	pos := q * float64(len(v)-1)
	i := int(pos)
	if i+1 >= len(v) {
		return v[i]
	}
	return v[i] + (pos-float64(i))*(v[i+1]-v[i])
}

func round2(f float64) float64 { return math.Round(f*100) / 100 }

// ratio is a/b, or 0 when b is not positive: JSON has no infinity, and an
// added cost at or below zero is noise, not a base to compare with.
func ratio(a, b float64) float64 {
	if b <= 0 {
		return 0
	}
	return round2(a / b)
}
