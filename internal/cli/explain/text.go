package explain

import (
	"cmp"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
)

// WriteText writes the result for people: the decision, then what became
// of the client's lane header and cookie, then the rules evaluated.
func (res *Result) WriteText(w io.Writer, q *Request) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	line := func(k, v string) { fmt.Fprintf(tw, "%s:\t%s\n", k, v) }
	hs := q.List()
	req := hs[2][1] + " " + hs[0][1] + hs[1][1]
	if q.SourceIP != "" {
		req += " from " + q.SourceIP
	}
	line("config", res.Config+" ("+res.Role+")")
	line("request", req)
	if res.Direction != "" {
		line("direction", res.Direction)
	}
	line("lane", res.Lane)
	line("source", res.Source)
	line("rule", orDash(res.Rule))
	route := orDash(res.Route)
	if res.Route == nil {
		route += " (no fallback section: no route header)"
	}
	line("route", route)
	if res.Role == "gateway" {
		line("set-cookie", orDash(res.SetCookie))
	}
	if res.BaggageOp == "remove" {
		line("baggage", "removed (the default lane carries no baggage member)")
	} else if res.Baggage != nil {
		line("baggage", *res.Baggage)
	}
	if h := res.LaneHeader; h != nil {
		v := "kept (trusted)"
		if !h.Kept {
			v = "removed: " + strings.Join(h.Why, "; ")
		}
		line("lane header", h.Name+": "+strconv.Quote(h.Value)+" from the client, "+v)
	}
	if c := res.Cookie; c != nil {
		v := "valid"
		if c.Why != "" {
			v = c.Why
		}
		line("cookie", c.Name+"="+c.Value+": "+v)
	}
	for _, n := range res.Notes {
		line("note", n)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	return res.writeRules(w)
}

// writeRules writes the evaluated rules as a table.
func (res *Result) writeRules(w io.Writer) error {
	switch {
	case res.RulesSkipped != "":
		_, err := fmt.Fprintf(w, "\nrules: not evaluated, %s\n", res.RulesSkipped)
		return err
	case res.Role != "gateway":
		return nil
	case len(res.Rules) == 0:
		_, err := fmt.Fprintln(w, "\nrules: none")
		return err
	}
	fmt.Fprintln(w, "\nrules, in evaluation order:")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, n := range res.Rules {
		verdict := "matched"
		if !n.Matched {
			verdict = "no: " + strings.Join(n.Why, "; ")
		}
		fmt.Fprintf(tw, "  %s\tpriority %d\t-> %s\t%s\n", n.Name, n.Priority, cmp.Or(n.Lane, "(lane_from)"), verdict)
	}
	return tw.Flush()
}

func orDash(s *string) string {
	if s == nil {
		return "-"
	}
	return *s
}
