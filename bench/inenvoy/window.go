package inenvoy

import (
	"context"
	"fmt"
)

// The share of the mix's requests that must reach the gray cluster: about
// 58 % (three in ten by the tail rule, about 30 % of the rest by the
// percentage rule or the client's lane header, and the sticky cookies of
// one in ten). Outside these bounds a setup does not dye as intended and
// its figures would compare different work.
const minGray, maxGray = 0.45, 0.72

// sample is one setup's figures over one window.
type sample struct {
	cpuUs     float64 // Envoy CPU per served request, µs
	p50, p99  float64 // ms
	grayShare float64
}

// window drives requests first..first+n-1 through the setup at the pace
// and measures it. The admin reads lie outside the CPU interval, so the
// CPU is that of the window's requests (and Envoy's own timers), and the
// counters are read after every response arrived.
func (t *target) window(ctx context.Context, first, n int, p Pace) (sample, error) {
	before, err := t.counters(ctx)
	if err != nil {
		return sample{}, err
	}
	cpu0, err := t.proc.CPU()
	if err != nil {
		return sample{}, err
	}
	lat, err := Paced(ctx, t.url, first, n, t.mix, p)
	if err != nil {
		return sample{}, fmt.Errorf("%s: %w", t.name, err)
	}
	cpu1, err := t.proc.CPU()
	if err != nil {
		return sample{}, err
	}
	after, err := t.counters(ctx)
	if err != nil {
		return sample{}, err
	}
	served := after[t.served] - before[t.served]
	gray, base := after[t.gray]-before[t.gray], after[t.base]-before[t.base]
	if served != uint64(n) || gray+base != uint64(n) {
		return sample{}, fmt.Errorf("%s: sent %d requests; Envoy counted %d served (%s) and %d upstream (%s, %s)",
			t.name, n, served, t.served, gray+base, t.gray, t.base)
	}
	share := float64(gray) / float64(n)
	if share < minGray || share > maxGray {
		return sample{}, fmt.Errorf("%s: %d of %d requests reached the gray cluster, want %.0f-%.0f %%: the setup does not dye as intended",
			t.name, gray, n, minGray*100, maxGray*100)
	}
	return sample{
		cpuUs:     float64((cpu1 - cpu0).Nanoseconds()) / 1e3 / float64(served),
		p50:       lat.Quantile(0.50),
		p99:       lat.Quantile(0.99),
		grayShare: share,
	}, nil
}
