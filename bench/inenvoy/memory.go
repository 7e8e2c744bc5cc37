package inenvoy

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"time"
)

// VMLogArgs make Envoy log, with microsecond timestamps and thread ids, when
// it creates each Wasm VM; StartTimes reads those lines.
var VMLogArgs = []string{"--component-log-level", "wasm:debug", "--log-format", "[%Y-%m-%d %T.%f][%t][%l][%n] %v"}

// Starts are the times Envoy took to bring up the module.
type Starts struct {
	// Load is the module's compilation into the base VM, on the main
	// thread, once per configuration.
	Load time.Duration
	// Workers is, per worker VM, from its creation (a clone of the base
	// VM) to the end of lanedye's plugin start.
	Workers []time.Duration
}

var logLine = regexp.MustCompile(`^\[(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6})\]\[(\d+)\]`)

// StartTimes reads Starts from a log written with VMLogArgs.
func StartTimes(log string) (Starts, error) {
	var s Starts
	var base time.Time
	var mainThread string
	created := map[string]time.Time{}
	for _, l := range strings.Split(log, "\n") {
		m := logLine.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		at, err := time.Parse("2006-01-02 15:04:05.000000", m[1])
		if err != nil {
			return s, err
		}
		thread := m[2]
		switch {
		case strings.Contains(l, "Base Wasm created"):
			base, mainThread = at, thread
		case strings.Contains(l, "Thread-Local Wasm created"):
			if thread == mainThread && s.Load == 0 {
				s.Load = at.Sub(base)
			}
			created[thread] = at
		case strings.Contains(l, "lanedye: started as"):
			if c, ok := created[thread]; ok && thread != mainThread {
				s.Workers = append(s.Workers, at.Sub(c))
				delete(created, thread)
			}
		}
	}
	if base.IsZero() || len(s.Workers) == 0 {
		return s, fmt.Errorf("no Wasm VM start in the log (run Envoy with VMLogArgs)")
	}
	return s, nil
}

// Memory is Envoy's resident memory before and during a long run.
type Memory struct {
	IdleBytes int64
	// AfterBytes is the resident memory after each checkpoint's number of
	// requests.
	AfterBytes map[int]int64
}

// MeasureMemory records the Envoy's RSS once idle, then drives requests and
// records it after each checkpoint (ascending request counts).
func MeasureMemory(ctx context.Context, g *Gateway, conns int, m Mix, checkpoints ...int) (Memory, error) {
	mem := Memory{AfterBytes: map[int]int64{}}
	time.Sleep(time.Second) // let the start settle
	var err error
	if mem.IdleBytes, err = g.Envoy.RSS(); err != nil {
		return mem, err
	}
	done := 0
	for _, c := range checkpoints {
		r := Drive(ctx, g.URL, done, c-done, conns, m)
		if r.Errors > 0 {
			return mem, fmt.Errorf("%s: %d of %d requests failed", g.Envoy.Name, r.Errors, r.Requests)
		}
		done = c
		if mem.AfterBytes[c], err = g.Envoy.RSS(); err != nil {
			return mem, err
		}
	}
	return mem, nil
}

// Resources is Envoy's memory with and without lanedye at one worker count,
// and the module's start times.
type Resources struct {
	Concurrency int               `json:"concurrency"`
	RSSMiB      map[string]RSSRun `json:"rss_mib"` // by setup: "none", "lanedye_gateway"
	LoadMs      float64           `json:"module_load_ms"`
	WorkerVMMs  []float64         `json:"worker_vm_start_ms"`
}

// RSSRun is one setup's resident memory, idle and after each checkpoint.
type RSSRun struct {
	Idle  float64            `json:"idle"`
	After map[string]float64 `json:"after_requests"` // by request count
}

// Checkpoints are the request counts at which MeasureResources reads RSS.
var Checkpoints = []int{20_000, 40_000, 60_000, 80_000, 100_000}

// MeasureResources runs 100 000 requests through an Envoy without a filter
// and one with lanedye (setup), reading RSS at each checkpoint.
func MeasureResources(ctx context.Context, bin, dir string, lanedye Setup, concurrency int) (Resources, error) {
	r := Resources{Concurrency: concurrency, RSSMiB: map[string]RSSRun{}}
	none := Setup{Name: "none", RouteHeader: lanedye.RouteHeader, Lane: lanedye.Lane}
	for _, s := range []Setup{none, lanedye} {
		g, err := StartGateway(Launch{Bin: bin, Concurrency: concurrency, Args: VMLogArgs}, dir, s)
		if err != nil {
			return r, err
		}
		m, err := MeasureMemory(ctx, g, 8, Mix{}, Checkpoints...)
		log := g.Envoy.LogText()
		g.Stop()
		if err != nil {
			return r, err
		}
		run := RSSRun{Idle: mib(m.IdleBytes), After: map[string]float64{}}
		for n, b := range m.AfterBytes {
			run.After[fmt.Sprint(n)] = mib(b)
		}
		r.RSSMiB[s.Name] = run
		if s.Plugin.Wasm == "" {
			continue
		}
		st, err := StartTimes(log)
		if err != nil {
			return r, err
		}
		r.LoadMs = ms(st.Load)
		for _, w := range st.Workers {
			r.WorkerVMMs = append(r.WorkerVMMs, ms(w))
		}
	}
	return r, nil
}

func mib(b int64) float64 { return float64(b*10/(1<<20)) / 10 }

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
