package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// --method is the :method as sent: the module compares it exactly (method
// conditions without ignore_case are case-sensitive, as Envoy hands the
// method over unchanged), so explain must not normalise it either.
func TestExplainMethodIsCaseSensitive(t *testing.T) {
	const cfg = `{"role":"gateway","lanes":["gray"],
	  "rules":[{"name":"get-only","lane":"gray","match":[{"method":{"exact":"GET"}}]}]}`
	for _, tc := range []struct {
		method, lane, request string
	}{
		{"GET", "gray", "GET localhost/"},
		{"get", "base", "get localhost/"},
		{"Get", "base", "Get localhost/"},
		{"PURGE", "base", "PURGE localhost/"},
	} {
		t.Run(tc.method, func(t *testing.T) {
			out, errs, code := lanedye(t, cfg, "explain", "-f", "-", "--method", tc.method, "--json")
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errs)
			}
			var res struct{ Lane string }
			if err := json.Unmarshal([]byte(out), &res); err != nil {
				t.Fatal(err)
			}
			if res.Lane != tc.lane {
				t.Errorf("--method %s: lane %s, want %s", tc.method, res.Lane, tc.lane)
			}
			text, errs, code := lanedye(t, cfg, "explain", "-f", "-", "--method", tc.method)
			if code != 0 || !strings.Contains(text, "request:     "+tc.request+"\n") {
				t.Errorf("--method %s: exit %d, want request %q in\n%s%s", tc.method, code, tc.request, text, errs)
			}
		})
	}
}
