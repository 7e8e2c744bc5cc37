package inenvoy

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Pace is an open-loop load: requests at a fixed rate over a pool of
// keep-alive connections.
type Pace struct {
	Rate  float64 // requests per second
	Conns int     // connections, each carrying one request at a time
	Run   uint32  // tells this run's x-request-ids from other runs'
}

// Latencies are one paced run's latencies, sorted.
type Latencies []time.Duration

// Paced sends requests first..first+n-1 of the mix to url at p.Rate. It is
// open loop: request k is due at start + k/Rate whatever became of the
// earlier ones, and its latency counts from that due time, so when Envoy
// (or the machine) stalls, the queueing behind the stall shows in the
// latencies instead of silently slowing the sender down. It fails if any
// request fails.
func Paced(ctx context.Context, url string, first, n int, m Mix, p Pace) (Latencies, error) {
	type job struct {
		k   int
		due time.Time
	}
	jobs := make(chan job, n) // never blocks the schedule
	lat := make(Latencies, n)
	var errs atomic.Int64
	var firstErr error // written by the one goroutine that counts the first error
	var wg sync.WaitGroup
	for range p.Conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := client()
			defer c.CloseIdleConnections()
			for j := range jobs {
				if _, err := send(ctx, c, url, Request(first+j.k, p.Run, m)); err != nil {
					if errs.Add(1) == 1 {
						firstErr = err
					}
				}
				lat[j.k] = time.Since(j.due)
			}
		}()
	}
	interval := time.Duration(float64(time.Second) / p.Rate)
	start := time.Now()
	for k := 0; k < n && ctx.Err() == nil; k++ {
		due := start.Add(time.Duration(k) * interval)
		time.Sleep(time.Until(due))
		jobs <- job{k, due}
	}
	close(jobs)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if e := errs.Load(); e > 0 {
		return nil, fmt.Errorf("%s: %d of %d requests failed, the first: %w", url, e, n, firstErr)
	}
	slices.Sort(lat)
	return lat, nil
}

// Quantile returns the q-quantile (nearest rank) in milliseconds.
func (l Latencies) Quantile(q float64) float64 {
	if len(l) == 0 {
		return 0
	}
	i := int(q*float64(len(l))+0.999999) - 1
	i = max(0, min(i, len(l)-1))
	return float64(l[i].Microseconds()) / 1000
}
