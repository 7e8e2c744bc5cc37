package main

import (
	"fmt"

	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"

	"github.com/lanedye/lanedye/internal/config"
	"github.com/lanedye/lanedye/internal/gateway"
	"github.com/lanedye/lanedye/internal/lane"
	"github.com/lanedye/lanedye/internal/rules"
	"github.com/lanedye/lanedye/internal/sidecar"
)

// Metric names. Envoy exposes them with a "wasmcustom." prefix; the README
// lists them.
const (
	metricLane         = "lanedye.lane.%s.requests"
	metricSource       = "lanedye.source.%s.requests"
	metricRule         = "lanedye.rule.%s.matched"
	metricRoute        = "lanedye.route.%s.requests"
	metricRejected     = "lanedye.lane_header.rejected"
	metricStickyIssued = "lanedye.sticky.issued"
	metricErrors       = "lanedye.errors"

	metricStored           = "lanedye.propagation.stored"
	metricHit              = "lanedye.propagation.hit"
	metricMiss             = "lanedye.propagation.miss"
	metricExpired          = "lanedye.propagation.expired"
	metricOverwritten      = "lanedye.propagation.overwritten"
	metricRetriesExhausted = "lanedye.propagation.retries_exhausted"
	metricNoID             = "lanedye.propagation.no_id"
	metricDirectionUnknown = "lanedye.direction.unknown"
)

// flushPeriodMillis is how often counts reach Envoy's counters.
const flushPeriodMillis = 1000

// metrics counts in the VM and hands the counts to Envoy once per tick: an
// increment is then an array write instead of a host call per counter per
// request (3 to 5 of them, measured at about a fifth of the plugin's cost).
// Counters are defined at plugin start.
type metrics struct {
	ids     []proxywasm.MetricCounter
	pending []uint64

	lane, source, rule, route []int // indexes into ids
	rejected, stickyIssued    int
	errors                    int

	stored, hit, miss, expired, overwritten  int
	retriesExhausted, noID, directionUnknown int
}

func defineMetrics(cfg *config.Config) *metrics {
	m := &metrics{}
	m.rejected = m.define(metricRejected)
	m.stickyIssued = m.define(metricStickyIssued)
	m.errors = m.define(metricErrors)
	if cfg.Role == config.Sidecar {
		m.stored = m.define(metricStored)
		m.hit = m.define(metricHit)
		m.miss = m.define(metricMiss)
		m.expired = m.define(metricExpired)
		m.overwritten = m.define(metricOverwritten)
		m.retriesExhausted = m.define(metricRetriesExhausted)
		m.noID = m.define(metricNoID)
		m.directionUnknown = m.define(metricDirectionUnknown)
	}
	for _, n := range cfg.Lanes.Names() {
		m.lane = append(m.lane, m.define(fmt.Sprintf(metricLane, n)))
		if cfg.HasFallback {
			m.route = append(m.route, m.define(fmt.Sprintf(metricRoute, n)))
		}
	}
	for s := range lane.NumSources {
		m.source = append(m.source, m.define(fmt.Sprintf(metricSource, s)))
	}
	for _, r := range cfg.Rules.Rules() {
		m.rule = append(m.rule, m.define(fmt.Sprintf(metricRule, r.Name)))
	}
	m.pending = make([]uint64, len(m.ids))
	return m
}

func (m *metrics) define(name string) int {
	m.ids = append(m.ids, proxywasm.DefineCounterMetric(name))
	return len(m.ids) - 1
}

// add counts n events of counter i.
func (m *metrics) add(i int, n uint64) { m.pending[i] += n }

// inc counts one event of counter i.
func (m *metrics) inc(i int) { m.pending[i]++ }

// failed counts an internal error; it is safe inside a recovery.
func (m *metrics) failed() { m.pending[m.errors]++ }

// flush hands the pending counts to Envoy. A refused increment keeps its
// count for the next flush.
func (m *metrics) flush() {
	for i, n := range m.pending {
		if n != 0 && increment(m.ids[i], n) {
			m.pending[i] = 0
		}
	}
}

// increment adds n to a counter; the SDK panics when the host refuses.
func increment(c proxywasm.MetricCounter, n uint64) (ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	c.Increment(n)
	return true
}

func (m *metrics) decided(d *gateway.Decision) {
	m.decidedLane(d.Lane, d.Source)
	if d.Rule != rules.None {
		m.inc(m.rule[d.Rule])
	}
	if d.Route != lane.None && m.route != nil {
		m.inc(m.route[d.Route])
	}
}

// decidedLane counts a lane decision; lane.None (nothing known) counts as the
// default lane.
func (m *metrics) decidedLane(l lane.ID, s lane.Source) {
	m.inc(m.lane[l.OrDefault()])
	m.inc(m.source[s])
}

// propagated counts the propagation events of a sidecar request.
func (m *metrics) propagated(r *sidecar.Stats) {
	m.add(m.stored, uint64(r.Stored))
	for _, e := range [...]struct {
		on bool
		c  int
	}{{r.Hit, m.hit}, {r.Miss, m.miss}, {r.Expired, m.expired}, {r.Overwritten, m.overwritten},
		{r.RetriesExhausted, m.retriesExhausted}, {r.NoID, m.noID}} {
		if e.on {
			m.inc(e.c)
		}
	}
}
