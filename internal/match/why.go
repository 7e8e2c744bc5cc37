package match

import (
	"strconv"
	"strings"

	"github.com/lanedye/lanedye/internal/request"
)

// This file says why a condition did not hold, for `lanedye explain`. It
// decides nothing itself: every verdict comes from the Match and Holds
// methods the plugin decides with, and Block.Match is the authority on
// whether a block holds; the code here only names the first condition those
// methods rejected, as the configuration writes it. The request path never
// calls it.

// whyQuoteMax is the longest request value quoted in full in a reason.
const whyQuoteMax = 64

// Describe returns the matcher as the configuration writes it, e.g.
// `exact "ios"`, `suffix ["0", "1", "2"]`, `regex "3\..*"`, `present`, with
// "not " in front when inverted and " (ignore case)" after when folding.
func (m *String) Describe() string {
	var s string
	switch m.op {
	case OpPresent:
		s = "absent"
		if m.present {
			s = "present"
		}
	case OpRegex:
		// The compiled expression wraps the configured one.
		expr := strings.TrimPrefix(m.re.String(), "(?i)")
		s = "regex " + strconv.Quote(strings.TrimSuffix(strings.TrimPrefix(expr, "^(?:"), ")$"))
	default:
		s = [...]string{OpExact: "exact", OpPrefix: "prefix", OpSuffix: "suffix", OpContains: "contains"}[m.op] + " " + whyList(m.values)
	}
	if m.invert {
		s = "not " + s
	}
	if m.ignoreCase {
		s += " (ignore case)"
	}
	return s
}

// WhyNot says why the matcher rejected a value (v, ok as for Match), e.g.
// `exact "secret-12345" != "wrong"` or `exact "ios": absent`. It returns ""
// when the matcher holds.
func (m *String) WhyNot(v string, ok bool) string {
	switch {
	case m.Match(v, ok):
		return ""
	case !ok:
		return m.Describe() + ": absent"
	case m.op == OpExact && !m.invert:
		return m.Describe() + " != " + Quote(v)
	}
	return m.Describe() + ": got " + Quote(v)
}

// Spec returns the source as the configuration writes it: "header:x-user-id".
func (s *Source) Spec() string { return whyKind(s.Kind) + ":" + s.Name }

// Path returns the source's JSON path inside a match block:
// "headers.x-user-id", "cookies.uid", "query.lane".
func (s *Source) Path() string {
	if s.Kind == FromQuery {
		return "query." + s.Name
	}
	return whyKind(s.Kind) + "s." + s.Name
}

func whyKind(k SourceKind) string {
	switch k {
	case FromHeader:
		return "header"
	case FromCookie:
		return "cookie"
	}
	return "query"
}

// WhyNot says why the percentage did not hold for r: no key present, or the
// bucket of the first present key is not below the threshold. It returns ""
// when it holds.
func (p *Percentage) WhyNot(r *request.Request) string {
	if p.Match(r) {
		return ""
	}
	pct := strconv.FormatFloat(float64(p.Threshold)/100, 'f', -1, 64)
	specs := make([]string, len(p.Keys))
	for i := range p.Keys {
		v, ok := p.Keys[i].Get(r)
		if ok {
			return pct + "%: " + p.Keys[i].Spec() + " " + Quote(v) + " is in bucket " +
				strconv.FormatUint(Bucket(p.Salt, v), 10) + ", not below " + strconv.FormatUint(p.Threshold, 10)
		}
		specs[i] = p.Keys[i].Spec()
	}
	return pct + "%: no key present (" + strings.Join(specs, ", ") + ")"
}

// WhyNot returns the first condition of the block that does not hold for r,
// as "<path in the block>: <reason>", e.g.
// `headers.x-gray-token: exact "secret-12345" != "wrong"`; "" when the block
// holds. Conditions are looked at in the order Match checks them.
func (b *Block) WhyNot(r *request.Request) string {
	if b.Match(r) {
		return ""
	}
	if b.Method != nil {
		v, ok := r.Method()
		if why := b.Method.WhyNot(v, ok); why != "" {
			return "method: " + why
		}
	}
	if b.Path != nil {
		if why := b.Path.WhyNot(r.Path(), true); why != "" {
			return "path: " + why
		}
	}
	if len(b.Sources) > 0 && !b.Sources.Holds(SourceOf(r)) {
		return "source_ip: " + whySource(r, b.Sources)
	}
	for i := range b.Conds {
		c := &b.Conds[i]
		v, ok := c.Src.Get(r)
		if why := c.M.WhyNot(v, ok); why != "" {
			return c.Src.Path() + ": " + why
		}
	}
	if b.Pct != nil {
		if why := b.Pct.WhyNot(r); why != "" {
			return "percentage: " + why
		}
	}
	// Match said no, yet every condition named above holds: a kind of
	// condition this file does not know yet.
	return "a condition does not hold"
}

// WhyNot returns, when no block holds, one reason per block (see
// Block.WhyNot); nil when the blocks hold.
func (m Blocks) WhyNot(r *request.Request) []string {
	if m.Holds(r) {
		return nil
	}
	out := make([]string, len(m))
	for i := range m {
		out[i] = m[i].WhyNot(r)
	}
	return out
}

// Patterns returns the host patterns as configured (lower-case); ["*"] for
// every host.
func (h *Hosts) Patterns() []string {
	if h.any {
		return []string{"*"}
	}
	out := append([]string(nil), h.exact...)
	for _, s := range h.suffix {
		out = append(out, "*"+s)
	}
	return out
}

// WhyNot says why host (port stripped; lower: it has no upper-case letter)
// does not match; "" when it does.
func (h *Hosts) WhyNot(host string, lower bool) string {
	if h.Match(host, lower) {
		return ""
	}
	return Quote(host) + " is not " + whyList(h.Patterns())
}

// whySource: without a downstream address no source_ip condition holds.
func whySource(r *request.Request, s SourceIPs) string {
	if a, ok := SourceOf(r); ok {
		return addrString(a) + " is not in " + whyPrefixes(s)
	}
	return "no source address, need one in " + whyPrefixes(s)
}

func whyPrefixes(s SourceIPs) string {
	l := make([]string, len(s))
	for i, p := range s {
		l[i] = p.String()
	}
	return whyList(l)
}

// whyList writes one value quoted, several as a list: `"a"`, `["a", "b"]`.
func whyList(vs []string) string {
	if len(vs) == 1 {
		return strconv.Quote(vs[0])
	}
	q := make([]string, len(vs))
	for i, v := range vs {
		q[i] = strconv.Quote(v)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

// Quote quotes a request value for a reason, shortened when long.
func Quote(v string) string {
	if len(v) > whyQuoteMax {
		return strconv.Quote(v[:whyQuoteMax]) + "…"
	}
	return strconv.Quote(v)
}
