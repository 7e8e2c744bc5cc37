package main

import (
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"

	"github.com/lanedye/lanedye/internal/config"
	"github.com/lanedye/lanedye/internal/gateway"
	"github.com/lanedye/lanedye/internal/lane"
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

// metrics holds the counter ids of one configuration. Counters are defined at
// plugin start so that the request path only increments.
type metrics struct {
	lane, source, rule, route []proxywasm.MetricCounter
	rejected, stickyIssued    proxywasm.MetricCounter
	errors                    proxywasm.MetricCounter

	stored, hit, miss, expired, overwritten  proxywasm.MetricCounter
	retriesExhausted, noID, directionUnknown proxywasm.MetricCounter
}

func defineMetrics(cfg *config.Config) *metrics {
	m := &metrics{
		rejected:     proxywasm.DefineCounterMetric(metricRejected),
		stickyIssued: proxywasm.DefineCounterMetric(metricStickyIssued),
		errors:       proxywasm.DefineCounterMetric(metricErrors),
	}
	if cfg.Role == config.Sidecar {
		m.stored = proxywasm.DefineCounterMetric(metricStored)
		m.hit = proxywasm.DefineCounterMetric(metricHit)
		m.miss = proxywasm.DefineCounterMetric(metricMiss)
		m.expired = proxywasm.DefineCounterMetric(metricExpired)
		m.overwritten = proxywasm.DefineCounterMetric(metricOverwritten)
		m.retriesExhausted = proxywasm.DefineCounterMetric(metricRetriesExhausted)
		m.noID = proxywasm.DefineCounterMetric(metricNoID)
		m.directionUnknown = proxywasm.DefineCounterMetric(metricDirectionUnknown)
	}
	for _, n := range cfg.Lanes.Names() {
		m.lane = append(m.lane, proxywasm.DefineCounterMetric(sprintf(metricLane, n)))
		if cfg.Fallback != nil {
			m.route = append(m.route, proxywasm.DefineCounterMetric(sprintf(metricRoute, n)))
		}
	}
	for _, s := range lane.Sources() {
		m.source = append(m.source, proxywasm.DefineCounterMetric(sprintf(metricSource, s.String())))
	}
	for _, r := range cfg.Rules.Rules() {
		m.rule = append(m.rule, proxywasm.DefineCounterMetric(sprintf(metricRule, r.Name)))
	}
	return m
}

func (m *metrics) decided(d *gateway.Decision) {
	m.decidedLane(d.Lane, d.Source)
	if d.Rule >= 0 {
		m.inc(m.rule[d.Rule])
	}
	if d.Route >= 0 && m.route != nil {
		m.inc(m.route[d.Route])
	}
}

// decidedLane counts a lane decision; lane.None (nothing known) counts as the
// default lane.
func (m *metrics) decidedLane(l int, s lane.Source) {
	if l == lane.None {
		l = lane.Default
	}
	m.inc(m.lane[l])
	m.inc(m.source[s])
}

// propagated counts the propagation events of a sidecar request.
func (m *metrics) propagated(r *sidecar.Result) {
	if r.Stored > 0 {
		m.stored.Increment(uint64(r.Stored))
	}
	for _, e := range [...]struct {
		on bool
		c  proxywasm.MetricCounter
	}{{r.Hit, m.hit}, {r.Miss, m.miss}, {r.Expired, m.expired}, {r.Overwritten, m.overwritten},
		{r.RetriesExhausted, m.retriesExhausted}, {r.NoID, m.noID}} {
		if e.on {
			m.inc(e.c)
		}
	}
}

// inc increments a counter. The SDK panics when the host refuses; the request
// callbacks recover from that and count it as an error.
func (m *metrics) inc(c proxywasm.MetricCounter) { c.Increment(1) }

// failed counts an internal error. It must not panic itself: it runs inside
// the recovery of a panic.
func (m *metrics) failed() {
	defer func() { _ = recover() }()
	m.errors.Increment(1)
}

// sprintf substitutes one %s; fmt is avoided to keep it out of the binary's
// hot paths and to make the names greppable.
func sprintf(format, arg string) string {
	for i := 0; i+1 < len(format); i++ {
		if format[i] == '%' && format[i+1] == 's' {
			return format[:i] + arg + format[i+2:]
		}
	}
	return format
}
