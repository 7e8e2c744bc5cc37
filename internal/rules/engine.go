package rules

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/lanedye/lanedye/internal/lane"
)

// Cond is one header, cookie or query condition of a block.
type Cond struct {
	Src Source
	M   StringMatch
}

// Percentage is a deterministic percentage condition.
type Percentage struct {
	Threshold uint64 // buckets below it match; value*100, 0..10000
	Keys      []Source
	Salt      string
}

// Buckets is the number of percentage buckets (two decimals of a percent).
const Buckets = 10000

// Match reports whether the first present key falls below the threshold. With
// no key present the condition is false: there is nothing stable to hash.
func (p *Percentage) Match(r *Request) bool {
	for i := range p.Keys {
		if v, ok := p.Keys[i].Get(r); ok {
			return Bucket(p.Salt, v) < p.Threshold
		}
	}
	return false
}

// Bucket is SPEC's formula: 64-bit FNV-1a over salt + "\x00" + value, mod 10000.
// It is computed in place so that no string is built.
func Bucket(salt, value string) uint64 {
	const (
		offset = 14695981039346656037
		prime  = 1099511628211
	)
	h := uint64(offset)
	for i := 0; i < len(salt); i++ {
		h ^= uint64(salt[i])
		h *= prime
	}
	h *= prime // the "\x00" separator: xor with 0 is a no-op
	for i := 0; i < len(value); i++ {
		h ^= uint64(value[i])
		h *= prime
	}
	return h % Buckets
}

// Block is an AND of conditions.
type Block struct {
	Conds  []Cond
	Path   *StringMatch
	Method *StringMatch
	Pct    *Percentage
}

// Match reports whether every condition of the block holds. The percentage is
// checked last: it hashes, the others mostly compare a few bytes.
func (b *Block) Match(r *Request) bool {
	if b.Method != nil {
		v, ok := r.Method()
		if !b.Method.Match(v, ok) {
			return false
		}
	}
	if b.Path != nil && !b.Path.Match(r.Path(), true) {
		return false
	}
	for i := range b.Conds {
		c := &b.Conds[i]
		v, ok := c.Src.Get(r)
		if !c.M.Match(v, ok) {
			return false
		}
	}
	return b.Pct == nil || b.Pct.Match(r)
}

// Match is an OR of blocks. An empty Match always holds.
type Match []Block

// Holds reports whether any block matches (or there are none).
func (m Match) Holds(r *Request) bool {
	if len(m) == 0 {
		return true
	}
	for i := range m {
		if m[i].Match(r) {
			return true
		}
	}
	return false
}

// Hosts is a compiled list of host patterns. The empty Hosts matches every host.
type Hosts struct {
	exact  []string // lower-case
	suffix []string // ".example.com" for "*.example.com"
	any    bool
}

// key identifies equal pattern sets, so rules sharing hosts share one check.
func (h *Hosts) key() string {
	if h.any {
		return "*"
	}
	return strings.Join(h.exact, ",") + "|" + strings.Join(h.suffix, ",")
}

// NewHosts compiles host patterns: "name", "*.suffix" or "*".
func NewHosts(patterns []string) (Hosts, error) {
	var h Hosts
	if len(patterns) == 0 {
		h.any = true
	}
	for _, p := range patterns {
		p = strings.ToLower(p)
		switch {
		case p == "*":
			h.any = true
		case strings.HasPrefix(p, "*."):
			if !validHost(p[2:]) {
				return Hosts{}, fmt.Errorf("invalid host pattern %q", p)
			}
			h.suffix = append(h.suffix, p[1:])
		default:
			if !validHost(p) {
				return Hosts{}, fmt.Errorf("invalid host pattern %q (wildcards only as a leading \"*.\")", p)
			}
			h.exact = append(h.exact, p)
		}
	}
	return h, nil
}

func validHost(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' || c == '[' || c == ']' || c == ':') {
			return false
		}
	}
	return true
}

// Match reports whether host (port stripped) matches. lower says the host has
// no upper-case letter, which is the common case and allows plain compares.
func (h *Hosts) Match(host string, lower bool) bool {
	if h.any {
		return true
	}
	for _, e := range h.exact {
		if host == e || (!lower && strings.EqualFold(host, e)) {
			return true
		}
	}
	for _, s := range h.suffix {
		if len(host) > len(s) {
			tail := host[len(host)-len(s):]
			if tail == s || (!lower && strings.EqualFold(tail, s)) {
				return true
			}
		}
	}
	return false
}

// Rule is a compiled dyeing rule.
type Rule struct {
	Name     string
	Lane     int     // lane index; ignored when LaneFrom is set
	LaneFrom *Source // take the lane from the request
	Priority int
	Hosts    Hosts
	Match    Match
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
	rs := append([]Rule(nil), rules...)
	slices.SortStableFunc(rs, func(a, b Rule) int { return cmp.Compare(b.Priority, a.Priority) })
	e := &Engine{rules: rs, hostSet: make([]int, len(rs)), lanes: lanes}
	sets := map[string]int{}
	for i := range rs {
		if rs[i].Hosts.any {
			e.hostSet[i] = -1
			continue
		}
		k := rs[i].Hosts.key()
		id, ok := sets[k]
		if !ok {
			id = len(sets)
			sets[k] = id
		}
		e.hostSet[i] = id
	}
	return e
}

// Rules returns the rules in evaluation order. The slice must not be modified.
func (e *Engine) Rules() []Rule { return e.rules }

// Decide returns the lane and the index (in Rules order) of the first rule that
// holds. A lane_from rule holds only when its source carries a configured lane.
func (e *Engine) Decide(r *Request) (laneIdx, rule int, ok bool) {
	host, lower := r.Host(), r.lower
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
			return l, i, true
		}
	}
	return lane.Default, -1, false
}
