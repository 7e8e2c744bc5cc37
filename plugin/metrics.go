package main

import (
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"

	"github.com/lanedye/lanedye/internal/config"
	"github.com/lanedye/lanedye/internal/gateway"
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
)

// metrics holds the counter ids of one configuration. Counters are defined at
// plugin start so that the request path only increments.
type metrics struct {
	lane, source, rule, route []proxywasm.MetricCounter
	rejected, stickyIssued    proxywasm.MetricCounter
	errors                    proxywasm.MetricCounter
}

func defineMetrics(cfg *config.Config) *metrics {
	m := &metrics{
		rejected:     proxywasm.DefineCounterMetric(metricRejected),
		stickyIssued: proxywasm.DefineCounterMetric(metricStickyIssued),
		errors:       proxywasm.DefineCounterMetric(metricErrors),
	}
	for _, n := range cfg.Lanes.Names() {
		m.lane = append(m.lane, proxywasm.DefineCounterMetric(sprintf(metricLane, n)))
		if cfg.Fallback != nil {
			m.route = append(m.route, proxywasm.DefineCounterMetric(sprintf(metricRoute, n)))
		}
	}
	for _, s := range gateway.Sources() {
		m.source = append(m.source, proxywasm.DefineCounterMetric(sprintf(metricSource, s.String())))
	}
	for _, r := range cfg.Rules.Rules() {
		m.rule = append(m.rule, proxywasm.DefineCounterMetric(sprintf(metricRule, r.Name)))
	}
	return m
}

func (m *metrics) decided(d *gateway.Decision) {
	m.inc(m.lane[d.Lane])
	m.inc(m.source[d.Source])
	if d.Rule >= 0 {
		m.inc(m.rule[d.Rule])
	}
	if d.Route >= 0 && m.route != nil {
		m.inc(m.route[d.Route])
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
