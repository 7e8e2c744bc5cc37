package plugin

import (
	"strconv"

	"github.com/lanedye/lanedye/internal/config"
	"github.com/lanedye/lanedye/internal/lane"
)

// flushPeriodMillis is how often counts reach Envoy's counters.
const flushPeriodMillis = 1000

// Counters counts in the VM and hands the counts to Envoy once per tick: an
// increment is then an array write instead of a host call per counter per
// request. Each role defines its own counters next to the shared ones
// (docs/contract.md, Counters); a counter exists only on the roles that
// count it. Envoy exposes them with a "wasmcustom." prefix.
type Counters struct {
	ids     []metricID
	pending []uint64

	lane, source, route []Counter // route: only with fallback
	errors              Counter
}

// Counter is one counter of a Counters.
type Counter int

func newCounters(cfg *config.Config) *Counters {
	c := &Counters{}
	c.errors = c.Define("lanedye.errors")
	for _, n := range cfg.Lanes.Names() {
		c.lane = append(c.lane, c.Define("lanedye.lane."+n+".requests"))
		if cfg.HasFallback() {
			c.route = append(c.route, c.Define("lanedye.route."+n+".requests"))
		}
	}
	for s := range lane.NumSources {
		c.source = append(c.source, c.Define("lanedye.source."+s.String()+".requests"))
	}
	return c
}

// Define defines a counter; roles define theirs when their handler is made.
func (c *Counters) Define(name string) Counter {
	c.ids = append(c.ids, defineCounter(name))
	return Counter(len(c.ids) - 1)
}

// ready ends the definitions.
func (c *Counters) ready() { c.pending = make([]uint64, len(c.ids)) }

// Add counts n events.
func (c *Counters) Add(k Counter, n uint64) { c.pending[k] += n }

// Inc counts one event.
func (c *Counters) Inc(k Counter) { c.pending[k]++ }

// Failed counts an internal error; it is safe inside a recovery.
func (c *Counters) Failed() { c.pending[c.errors]++ }

// Decided counts a lane decision; lane.None (nothing known) counts as the
// default lane.
func (c *Counters) Decided(l lane.ID, s lane.Source) {
	c.pending[c.lane[l.OrDefault()]]++
	c.pending[c.source[s]]++
}

// Routed counts a route header value; lane.None is no route.
func (c *Counters) Routed(l lane.ID) {
	if l != lane.None && c.route != nil {
		c.pending[c.route[l]]++
	}
}

// flush hands the pending counts to Envoy. A refused increment keeps its
// count for the next flush.
func (c *Counters) flush() {
	for i, n := range c.pending {
		if n != 0 && incrementCounter(c.ids[i], n) {
			c.pending[i] = 0
		}
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
