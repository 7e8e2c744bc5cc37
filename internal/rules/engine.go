// Package rules evaluates the gateway's dyeing rules: in priority order, the
// first rule whose hosts and match blocks hold decides the lane.
package rules

import (
	"github.com/lanedye/lanedye/internal/lane"
	"github.com/lanedye/lanedye/internal/match"
	"github.com/lanedye/lanedye/internal/request"
)

// ID identifies a rule by its position in an Engine's evaluation order.
type ID int

// None is the ID of no rule.
const None ID = -1

// Rule is a compiled dyeing rule.
type Rule struct {
	Name     string
	Lane     lane.ID       // ignored when LaneFrom is set
	LaneFrom *match.Source // take the lane from the request
	Priority int
	Hosts    match.Hosts
	Match    match.Blocks
}

// Engine evaluates rules in priority order.
type Engine struct {
	rules   []Rule
	hostSet []int // per rule: index of its distinct host set, or -1 (any host)
	lanes   *lane.Set
}

// maxHostSets is how many distinct host lists are checked at most once per
// request; rules with further lists check their own.
const maxHostSets = 64

// NewEngine sorts rules by priority, highest first; ties keep array order.
func NewEngine(rules []Rule, lanes *lane.Set) *Engine {
	rs := byPriority(rules)
	e := &Engine{rules: rs, hostSet: make([]int, len(rs)), lanes: lanes}
	sets := map[string]int{}
	for i := range rs {
		if rs[i].Hosts.Any() {
			e.hostSet[i] = -1
			continue
		}
		k := rs[i].Hosts.Key()
		id, ok := sets[k]
		if !ok {
			id = len(sets)
			sets[k] = id
		}
		e.hostSet[i] = id
	}
	return e
}

// ReadSource reports whether some rule has a source_ip condition.
func (e *Engine) ReadSource() bool {
	for i := range e.rules {
		if e.rules[i].Match.ReadSource() {
			return true
		}
	}
	return false
}

// Rules returns the rules in evaluation order, indexed by ID. The slice
// must not be modified.
func (e *Engine) Rules() []Rule { return e.rules }

// Decide returns the lane and the ID of the first rule that holds. A
// lane_from rule holds only when its source carries a configured lane.
func (e *Engine) Decide(r *request.Request) (lane.ID, ID, bool) {
	host, lower := r.Host(), r.HostIsLower()
	var checked, matched uint64 // per host set, for this request
	for i := range e.rules {
		ru := &e.rules[i]
		switch hs := e.hostSet[i]; {
		case hs < 0:
		case hs < maxHostSets:
			bit := uint64(1) << hs
			if checked&bit == 0 {
				checked |= bit
				if ru.Hosts.Match(host, lower) {
					matched |= bit
				}
			}
			if matched&bit == 0 {
				continue
			}
		default:
			if !ru.Hosts.Match(host, lower) {
				continue
			}
		}
		l := ru.Lane
		if ru.LaneFrom != nil {
			v, present := ru.LaneFrom.Get(r)
			if !present {
				continue
			}
			if l, present = e.lanes.Lookup(v); !present {
				continue
			}
		}
		if ru.Match.Holds(r) {
			return l, ID(i), true
		}
	}
	return lane.Default, None, false
}

// byPriority returns a copy of rules sorted by priority, highest first,
// ties in array order. An insertion sort: configurations hold few rules,
// and slices' generic stable sort, instantiated for Rule, added kilobytes
// to the gateway module.
func byPriority(rules []Rule) []Rule {
	rs := make([]Rule, len(rules))
	copy(rs, rules)
	for i := 1; i < len(rs); i++ {
		for j := i; j > 0 && rs[j].Priority > rs[j-1].Priority; j-- {
			rs[j], rs[j-1] = rs[j-1], rs[j]
		}
	}
	return rs
}
