package mesh

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/tidwall/gjson"

	"github.com/lanedye/lanedye/e2e/envoy"
)

// DefaultLane is deploy/'s default_lane.
const DefaultLane = "base"

// Decision is what the gateway is expected to decide for one request: its
// lane and source (docs/contract.md#counters), the rule that matched, and
// whether it issued a sticky cookie or rejected a client's lane header.
type Decision struct {
	Lane, Source, Rule string
	Issued, Rejected   bool
}

// Ledger is the end-to-end tests' model of the mesh: from each request's gateway
// decision and what the applications forward, it derives the hops the
// request takes (service, version, and the lane and route headers each
// application sees) and every lanedye counter each Envoy must show
// afterwards. It models the deployment (which versions exist, what the
// VirtualServices match, what Envoy adds), not lanedye's code.
type Ledger struct {
	topo *Topology
	mu   sync.Mutex
	want map[string]map[string]uint64 // Envoy name -> counter -> value
}

// NewLedger models the mesh of topo, no request sent yet.
func NewLedger(topo *Topology) *Ledger {
	return &Ledger{topo: topo, want: map[string]map[string]uint64{}}
}

func (l *Ledger) add(envoyName, counter string) {
	if l.want[envoyName] == nil {
		l.want[envoyName] = map[string]uint64{}
	}
	l.want[envoyName][counter]++
}

// deployed reports whether svc has a deployment in lane.
func (l *Ledger) deployed(svc, lane string) bool {
	return slices.Contains(l.topo.Services[svc], lane)
}

// workloadLane is the lane of a sidecar's pod: its label that the sidecar
// configuration's workload.lane_label names, when that is a configured lane
// other than the default lane.
func (l *Ledger) workloadLane(instance string) string {
	label := gjson.GetBytes(l.topo.Sidecar, "workload.lane_label").String()
	v := l.topo.Labels[instance][label]
	if label == "" || v == DefaultLane || !slices.Contains(gjsonStrings(l.topo.Sidecar, "lanes"), v) {
		return ""
	}
	return v
}

func gjsonStrings(js []byte, path string) []string {
	var out []string
	for _, v := range gjson.GetBytes(js, path).Array() {
		out = append(out, v.String())
	}
	return out
}

// subset is the subset a VirtualService picks when header has value v.
func (l *Ledger) subset(host, v string) string {
	r := l.topo.Routes[host]
	for _, ru := range r.Rules {
		if ru.Exact == v {
			return ru.Subset
		}
	}
	return r.Default
}

// Expect records one request and returns the hops it must take. fwd is what
// the applications forward for it; trace says the client sent a traceparent.
func (l *Ledger) Expect(d Decision, fwd Forwarding, trace bool) []Hop {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.add("gateway", "lanedye.lane."+d.Lane+".requests")
	l.add("gateway", "lanedye.source."+d.Source+".requests")
	if d.Rule != "" {
		l.add("gateway", "lanedye.rule."+d.Rule+".matched")
	}
	if d.Issued {
		l.add("gateway", "lanedye.sticky.issued")
	}
	if d.Rejected {
		l.add("gateway", "lanedye.lane_header.rejected")
	}

	route := l.topo.Routes[l.topo.GatewayHost]
	svc := route.Service
	hop := Hop{Service: svc, Version: l.subset(l.topo.GatewayHost, d.Lane), Lane: d.Lane}
	// Ids on the first inbound request: the x-request-id the gateway
	// generates, and the client's traceparent.
	ids := 1
	if trace {
		ids++
	}
	var hops []Hop
	for {
		hops = append(hops, hop)
		sc := hop.Service + "-" + hop.Version
		if hop.Lane != "" {
			for range ids {
				l.add(sc, "lanedye.propagation.stored")
			}
		}
		next := l.topo.Next[hop.Service]
		if next == "" {
			return hops
		}
		// The application's call: Envoy's outbound listener adds an
		// x-request-id when the application forwarded none, so there is
		// always an id to look up; it finds a lane only when the
		// application forwarded the id the inbound side stored.
		out, src := DefaultLane, "default"
		if fwd != ForwardNone && hop.Lane != "" {
			out, src = hop.Lane, "propagated"
			l.add(sc, "lanedye.propagation.hit")
		} else {
			l.add(sc, "lanedye.propagation.miss")
			if w := l.workloadLane(sc); w != "" {
				out, src = w, "workload" // the pod's own lane
			}
		}
		rl := DefaultLane
		if l.deployed(next, out) {
			rl = out
		}
		l.add(sc, "lanedye.lane."+out+".requests")
		l.add(sc, "lanedye.source."+src+".requests")
		l.add(sc, "lanedye.route."+rl+".requests")
		lane := ""
		if src != "default" {
			lane = out
		}
		hop = Hop{Service: next, Version: l.subset(next, rl), Lane: lane, Route: rl}
		ids = 1 // x-request-id, forwarded or generated
		if fwd == ForwardTraceparent && trace {
			ids++
		}
	}
}

// Check compares every lanedye counter of every Envoy (by name: "gateway"
// and each sidecar's "service-version") with the model. Counts reach Envoy
// on the plugin's 1 s tick, so it polls for a few seconds. The error lists
// every difference.
func (l *Ledger) Check(envoys map[string]*envoy.Process) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	names := make([]string, 0, len(envoys))
	for n := range envoys {
		names = append(names, n)
	}
	sort.Strings(names)
	var bad []string
	for _, n := range names {
		_, diff, err := PollCounters(envoys[n], l.want[n])
		if err != nil {
			return err
		}
		if len(diff) > 0 {
			bad = append(bad, fmt.Sprintf("%s /stats: %s", n, strings.Join(diff, "; ")))
		}
	}
	if len(bad) > 0 {
		return errors.New(strings.Join(bad, "\n"))
	}
	return nil
}

// PollCounters reads p's lanedye counters from its admin /stats until they
// are want (absent from want: 0) or a few seconds have passed: counts
// reach Envoy on the plugin's 1 s tick. It returns the last counters read
// and how they differ from want.
func PollCounters(p *envoy.Process, want map[string]uint64) (map[string]uint64, []string, error) {
	for deadline := time.Now().Add(8 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		got, err := p.Lanedye(context.Background())
		if err != nil {
			return nil, nil, err
		}
		diff := CounterDiff(got, want)
		if len(diff) == 0 || time.Now().After(deadline) {
			return got, diff, nil
		}
	}
}

// CounterDiff lists the counters whose value differs from want (absent from
// want: 0), and wanted counters Envoy does not have.
func CounterDiff(got, want map[string]uint64) []string {
	var d []string
	for k, v := range got {
		if v != want[k] {
			d = append(d, fmt.Sprintf("%s=%d, want %d", k, v, want[k]))
		}
	}
	for k, v := range want {
		if _, ok := got[k]; !ok {
			d = append(d, fmt.Sprintf("%s missing, want %d", k, v))
		}
	}
	sort.Strings(d)
	return d
}
