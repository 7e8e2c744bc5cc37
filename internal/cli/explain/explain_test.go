package explain

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/lanedye/lanedye/internal/config"
	"github.com/lanedye/lanedye/internal/config/anyrole"
)

func TestParseHeader(t *testing.T) {
	for _, tc := range []struct {
		in, want string
	}{
		{"X-User-Id: 12340", "x-user-id=12340"},
		{"x-a:  spaced value  ", "x-a=spaced value"},
		{"x-empty:", "x-empty="},
		{"cookie: a=b; c=d", "cookie=a=b; c=d"},
		{"no colon", "error"},
		{": value", "error"},
		{":path: /x", "error"},
		{"bad name: x", "error"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			kv, err := ParseHeader(tc.in)
			got := kv[0] + "=" + kv[1]
			if err != nil {
				got = "error"
			}
			if got != tc.want {
				t.Errorf("%q, want %q (%v)", got, tc.want, err)
			}
		})
	}
	for _, c := range []string{"a=b", "a=", " a =b"} {
		if err := ParseCookie(c); err != nil {
			t.Errorf("cookie %q: %v", c, err)
		}
	}
	for _, c := range []string{"ab", "=b", "a b=c"} {
		if err := ParseCookie(c); err == nil {
			t.Errorf("cookie %q accepted", c)
		}
	}
}

func TestList(t *testing.T) {
	for _, tc := range []struct {
		name string
		q    Request
		want string
	}{
		{"defaults", Request{}, ":authority=localhost :path=/ :method=GET :scheme=https"},
		{"host from a Host header", Request{Headers: [][2]string{{"host", "shop"}, {"x-a", "1"}}},
			":authority=shop :path=/ :method=GET :scheme=https x-a=1"},
		{"--host wins over Host", Request{Host: "a", Headers: [][2]string{{"host", "b"}}}, ":authority=a :path=/ :method=GET :scheme=https"},
		{"cookies last, in one header", Request{Path: "/p?q=1", Method: "POST", Cookies: []string{"a=1", "b=2"}, Headers: [][2]string{{"cookie", "c=3"}}},
			":authority=localhost :path=/p?q=1 :method=POST :scheme=https cookie=c=3 cookie=a=1; b=2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, h := range tc.q.List() {
				got = append(got, h[0]+"="+h[1])
			}
			if strings.Join(got, " ") != tc.want {
				t.Errorf("%q\nwant %q", strings.Join(got, " "), tc.want)
			}
		})
	}
}

const (
	gatewayCfg = `{"role":"gateway","lanes":["gray"],"baggage":"lane",
	  "rules":[{"name":"ip","lane":"gray","match":[{"source_ip":["10.0.0.0/8"]}]},
	           {"name":"beta","lane":"gray","match":[{"headers":{"x-beta":{"present":true}}}]}],
	  "sticky":{"cookie":"x-lane","secret":"0123456789abcdef"},
	  "fallback":{"services":{"shop":["gray"]}}}`
	sidecarCfg = `{"role":"sidecar","lanes":["gray"],"propagation":{"keys":["x-request-id"]},"fallback":{"services":{"pay":["gray"]}}}`
)

// brief is the contract part of a result: lane source rule route cookie?
func brief(r *Result) string {
	s := func(p *string) string {
		if p == nil {
			return "null"
		}
		return *p
	}
	return fmt.Sprintf("%s %s %s %s cookie:%v %s", r.Lane, r.Source, s(r.Rule), s(r.Route), r.SetCookie != nil, strings.Join(r.Notes, "|"))
}

func TestExplain(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	parse := func(js string) *config.Config {
		c, err := anyrole.Parse([]byte(js))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	gw, sc := parse(gatewayCfg), parse(sidecarCfg)
	wp := parse(strings.Replace(sidecarCfg, `"role":"sidecar"`, `"role":"waypoint"`, 1))
	for _, tc := range []struct {
		name string
		cfg  *config.Config
		q    Request
		want string // brief, or "error: ..." prefix
	}{
		{"default lane", gw, Request{Host: "shop"}, "base default null base cookie:false "},
		{"source_ip rule", gw, Request{Host: "shop", SourceIP: "10.1.1.1"}, "gray rule ip gray cookie:true "},
		{"header rule, route to base elsewhere", gw, Request{Host: "other", Headers: [][2]string{{"x-beta", "1"}}}, "gray rule beta base cookie:true "},
		{"spoofed route header", gw, Request{Host: "shop", Headers: [][2]string{{"x-lane-route", "gray"}}}, "base default null base cookie:false the client's x-lane-route header is removed and recomputed"},
		{"bad source ip", gw, Request{SourceIP: "10.1"}, "error: --source-ip 10.1: not an IP address"},
		{"direction on a gateway", gw, Request{Direction: "inbound"}, "error: --direction is for sidecar configurations"},
		{"no direction on a sidecar", sc, Request{}, "error: c is a sidecar's configuration: --direction inbound or outbound is required"},
		{"inbound stores", sc, Request{Direction: "inbound", Headers: [][2]string{{"x-swimlane", "gray"}, {"x-request-id", "r1"}}},
			"gray header null null cookie:false stores the lane under 1 correlation id(s)"},
		{"outbound without a store", sc, Request{Direction: "outbound", Host: "pay", Headers: [][2]string{{"x-request-id", "r1"}}},
			"base default null base cookie:false no mapping for the correlation id (explain has no shared data: --inbound-lane says what an inbound request stored)"},
		{"outbound restores what inbound stored", sc, Request{Direction: "outbound", Host: "pay", InboundLane: "gray", Headers: [][2]string{{"x-request-id", "r1"}}},
			"gray propagated null gray cookie:false restored from the mapping of the request's correlation id|sets the lane header"},
		{"outbound without an id", sc, Request{Direction: "outbound", Host: "pay", InboundLane: "gray"},
			"base default null base cookie:false no correlation id on the request: nothing to store or look up"},
		{"an unknown inbound lane", sc, Request{Direction: "outbound", InboundLane: "blue"}, "error: --inbound-lane blue: not a configured lane"},
		{"outbound: the workload's lane", sc, Request{Direction: "outbound", Host: "pay", WorkloadLane: "gray"},
			"gray workload null gray cookie:false no correlation id on the request: nothing to store or look up|the workload's own lane (--workload-lane): the call carried none|sets the lane header"},
		{"outbound: a mapping before the workload's lane", sc, Request{Direction: "outbound", Host: "pay", WorkloadLane: "base", InboundLane: "gray", Headers: [][2]string{{"x-request-id", "r1"}}},
			"gray propagated null gray cookie:false restored from the mapping of the request's correlation id|sets the lane header"},
		{"workload lane inbound", sc, Request{Direction: "inbound", WorkloadLane: "gray"}, "error: --workload-lane is for a sidecar's outbound calls"},
		{"waypoint stores", wp, Request{Host: "pay", Headers: [][2]string{{"x-swimlane", "gray"}, {"x-request-id", "r1"}}},
			"gray header null gray cookie:false stores the lane under 1 correlation id(s)"},
		{"waypoint restores", wp, Request{Host: "pay", InboundLane: "gray", Headers: [][2]string{{"x-request-id", "r1"}}},
			"gray propagated null gray cookie:false restored from the mapping of the request's correlation id|sets the lane header"},
		{"direction at a waypoint", wp, Request{Direction: "outbound"}, "error: --direction is for sidecar configurations; c is a waypoint's"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.q.Now = now
			res, err := Explain(tc.cfg, "c", &tc.q)
			got := ""
			if err != nil {
				got = "error: " + err.Error()
			} else {
				got = brief(res)
			}
			if !strings.HasPrefix(got, tc.want) || (err == nil && got != tc.want) {
				t.Errorf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
}

func TestWriteText(t *testing.T) {
	cfg, err := anyrole.Parse([]byte(gatewayCfg))
	if err != nil {
		t.Fatal(err)
	}
	q := Request{Host: "shop", Headers: [][2]string{{"x-swimlane", "gray"}}, Cookies: []string{"x-lane=gray.1.x"}, Now: time.Unix(1_800_000_000, 0)}
	res, err := Explain(cfg, "cfg.json", &q)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := res.WriteText(&b, &q); err != nil {
		t.Fatal(err)
	}
	const want = `config:       cfg.json (gateway)
request:      GET shop/
lane:         base
source:       default
rule:         -
route:        base
set-cookie:   -
lane header:  x-swimlane: "gray" from the client, removed: no trust section: a client's lane header is never kept
cookie:       x-lane=gray.1.x: ignored: no value of it is valid (unsigned, forged, expired, signed with another key, or its lane is not sticky)

rules, in evaluation order:
  ip    priority 0  -> gray  no: source_ip: no source address, need one in "10.0.0.0/8"
  beta  priority 0  -> gray  no: headers.x-beta: present: absent
`
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}
