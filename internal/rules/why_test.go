package rules_test

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/lanedye/lanedye/internal/config"
	"github.com/lanedye/lanedye/internal/config/anyrole"
	"github.com/lanedye/lanedye/internal/config/gatewayconf"
	"github.com/lanedye/lanedye/internal/request"
	"github.com/lanedye/lanedye/internal/rules"
)

const explainConfig = `{"role":"gateway","lanes":["gray","dev-a"],"rules":[
 {"name":"from-cookie","lane_from":"cookie:want","priority":50},
 {"name":"internal","lane":"gray","priority":40,"hosts":["myapp.example.com"],
  "match":[{"headers":{"x-gray-tag":{"exact":"internal-test"}}}]},
 {"name":"wild","lane":"dev-a","priority":30,"hosts":["*.dev.example.com"]},
 {"name":"beta","lane":"gray","priority":20,"match":[{"cookies":{"beta":{"present":true}}},{"query":{"beta":{"exact":"1"}}}]},
 {"name":"never","lane":"gray","priority":10,"match":[{"path":{"exact":"/nowhere"}}]}]}`

func parse(t *testing.T) *config.Config {
	t.Helper()
	cfg, err := anyrole.Parse([]byte(explainConfig))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func req(cfg *config.Config, authority, path string, kv ...string) *request.Request {
	hs := [][2]string{{":authority", authority}, {":path", path}, {":method", "GET"}}
	for i := 0; i+1 < len(kv); i += 2 {
		hs = append(hs, [2]string{kv[i], kv[i+1]})
	}
	var r request.Request
	r.Reset(cfg.Index, hs)
	return &r
}

// summary writes a trace as "name: ok" or "name: reason; reason".
func summary(e *rules.Engine, ts []rules.Trace) []string {
	var out []string
	for _, tr := range ts {
		s := e.Rules()[tr.ID].Name + ": "
		if tr.Matched {
			s += "ok"
		} else {
			s += strings.Join(tr.Why, "; ")
		}
		out = append(out, s)
	}
	return out
}

func TestExplain(t *testing.T) {
	cfg := parse(t)
	for _, tc := range []struct {
		name       string
		authority  string
		path       string
		kv         []string
		wantTraces []string
	}{
		{"lane_from wins", "x", "/", []string{"cookie", "want=dev-a"}, []string{"from-cookie: ok"}},
		{"lane_from with an unknown lane, then hosts", "x", "/", []string{"cookie", "want=purple"}, []string{
			`from-cookie: lane_from: cookie:want "purple" is not a configured lane`,
			`internal: hosts: "x" is not "myapp.example.com"`,
			`wild: hosts: "x" is not "*.dev.example.com"`,
			`beta: match[0]: cookies.beta: present: absent; match[1]: query.beta: exact "1": absent`,
			`never: path: exact "/nowhere" != "/"`,
		}},
		{"a header condition, then a wildcard host", "a.dev.example.com", "/", nil, []string{
			`from-cookie: lane_from: cookie:want is absent`,
			`internal: hosts: "a.dev.example.com" is not "myapp.example.com"`,
			`wild: ok`,
		}},
		{"the second block of beta", "myapp.example.com:443", "/p?beta=1", []string{"x-gray-tag", "other"}, []string{
			`from-cookie: lane_from: cookie:want is absent`,
			`internal: headers.x-gray-tag: exact "internal-test" != "other"`,
			`wild: hosts: "myapp.example.com" is not "*.dev.example.com"`,
			`beta: ok`,
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := req(cfg, tc.authority, tc.path, tc.kv...)
			got := summary(gatewayconf.Of(cfg).Rules, gatewayconf.Of(cfg).Rules.Explain(r))
			if strings.Join(got, "\n") != strings.Join(tc.wantTraces, "\n") {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tc.wantTraces, "\n"))
			}
		})
	}
}

// The trace ends at the rule Decide picks, and runs through every rule
// when none holds.
func TestExplainAgreesWithDecide(t *testing.T) {
	cfg := parse(t)
	rnd := rand.New(rand.NewPCG(3, 5))
	pick := func(vs ...string) string { return vs[rnd.IntN(len(vs))] }
	for i := range 3000 {
		kv := []string{}
		if rnd.IntN(2) == 0 {
			kv = append(kv, "cookie", pick("want=gray", "want=nope", "beta=1", "want=dev-a; beta=x"))
		}
		if rnd.IntN(2) == 0 {
			kv = append(kv, "x-gray-tag", pick("internal-test", "no"))
		}
		r := req(cfg, pick("myapp.example.com", "MYAPP.example.com", "b.dev.example.com", "dev.example.com", "other"),
			pick("/", "/nowhere", "/?beta=1", "/nowhere?beta=2"), kv...)
		_, id, ok := gatewayconf.Of(cfg).Rules.Decide(r)
		ts := gatewayconf.Of(cfg).Rules.Explain(r)
		last := ts[len(ts)-1]
		switch {
		case ok && (!last.Matched || last.ID != id):
			t.Fatalf("request %d: Decide chose %d, the trace ends at %+v", i, id, last)
		case !ok && (last.Matched || len(ts) != len(gatewayconf.Of(cfg).Rules.Rules())):
			t.Fatalf("request %d: no rule holds, yet the trace is %+v", i, ts)
		}
		for _, tr := range ts[:len(ts)-1] {
			if tr.Matched || len(tr.Why) == 0 {
				t.Fatalf("request %d: an earlier rule without a reason: %+v", i, tr)
			}
		}
	}
}
