package match_test

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strings"
	"testing"

	"github.com/lanedye/lanedye/internal/config"
	"github.com/lanedye/lanedye/internal/config/anyrole"
	"github.com/lanedye/lanedye/internal/config/gatewayconf"
	"github.com/lanedye/lanedye/internal/match"
	"github.com/lanedye/lanedye/internal/request"
)

// whyConfig has one rule per kind of condition; rule i's blocks are
// blocks(i).
const whyConfig = `{"role":"gateway","lanes":["gray"],"rules":[
 {"name":"method","lane":"gray","match":[{"method":{"exact":["GET","HEAD"]}}]},
 {"name":"path","lane":"gray","match":[{"path":{"prefix":"/api/"}}]},
 {"name":"ip","lane":"gray","match":[{"source_ip":["10.0.0.0/8","fd00::/8"]}]},
 {"name":"token","lane":"gray","match":[{"headers":{"x-gray-tag":{"exact":"internal-test"},"x-gray-token":{"exact":"secret-12345"}}}]},
 {"name":"tail","lane":"gray","match":[{"headers":{"x-user-id":{"suffix":["0","1","2"]}}}]},
 {"name":"ver","lane":"gray","match":[{"headers":{"x-app-version":{"regex":"3\\..*","ignore_case":true}}}]},
 {"name":"bot","lane":"gray","match":[{"headers":{"user-agent":{"contains":"bot","invert":true}}}]},
 {"name":"beta","lane":"gray","match":[{"cookies":{"beta":{"present":false}}}]},
 {"name":"q","lane":"gray","match":[{"query":{"lane":{"exact":"gray"}}}]},
 {"name":"pct","lane":"gray","match":[{"percentage":{"value":30,"key":["header:x-user-id","cookie:uid"],"salt":"s"}}]},
 {"name":"or","lane":"gray","match":[{"headers":{"x-a":{"present":true}}},{"method":{"exact":"POST"}}]}]}`

func whyRules(t *testing.T) (*config.Config, map[string]match.Blocks) {
	t.Helper()
	cfg, err := anyrole.Parse([]byte(whyConfig))
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]match.Blocks{}
	for _, r := range gatewayconf.Of(cfg).Rules.Rules() {
		byName[r.Name] = r.Match
	}
	return cfg, byName
}

func whyRequest(cfg *config.Config, source string, kv ...string) *request.Request {
	hs := [][2]string{{":authority", "shop"}, {":path", "/web/x?lane=blue"}, {":method", "POST"}}
	for i := 0; i+1 < len(kv); i += 2 {
		hs = append(hs, [2]string{kv[i], kv[i+1]})
	}
	var r request.Request
	r.Reset(cfg.Index, hs)
	if source != "" {
		r.SetSource(netip.MustParseAddr(source).As16())
	}
	return &r
}

// Each kind of condition names its path in the block, the matcher as
// configured, and the value it rejected.
func TestBlockWhyNot(t *testing.T) {
	cfg, blocks := whyRules(t)
	pctIn, pctOut := "", ""
	for i := 0; pctIn == "" || pctOut == ""; i++ {
		id := fmt.Sprint(i)
		if match.Bucket("s", id) < 3000 {
			pctIn = id
		} else {
			pctOut = id
		}
	}
	for _, tc := range []struct {
		rule, source string
		kv           []string
		want         []string // nil: the blocks hold
	}{
		{"method", "", nil, []string{`method: exact ["GET", "HEAD"] != "POST"`}},
		{"path", "", nil, []string{`path: prefix "/api/": got "/web/x"`}},
		{"ip", "", nil, []string{`source_ip: no source address, need one in ["10.0.0.0/8", "fd00::/8"]`}},
		{"ip", "192.168.1.1", nil, []string{`source_ip: 192.168.1.1 is not in ["10.0.0.0/8", "fd00::/8"]`}},
		{"ip", "::ffff:10.1.2.3", nil, nil},
		{"token", "", []string{"x-gray-tag", "internal-test", "x-gray-token", "wrong"}, []string{`headers.x-gray-token: exact "secret-12345" != "wrong"`}},
		{"token", "", []string{"x-gray-token", "secret-12345"}, []string{`headers.x-gray-tag: exact "internal-test": absent`}},
		{"tail", "", []string{"x-user-id", "12345"}, []string{`headers.x-user-id: suffix ["0", "1", "2"]: got "12345"`}},
		{"ver", "", []string{"x-app-version", "13.0"}, []string{`headers.x-app-version: regex "3\\..*" (ignore case): got "13.0"`}},
		{"bot", "", []string{"user-agent", "Googlebot"}, []string{`headers.user-agent: not contains "bot": got "Googlebot"`}},
		{"bot", "", nil, []string{`headers.user-agent: not contains "bot": absent`}},
		{"beta", "", []string{"cookie", "beta=1"}, []string{`cookies.beta: absent: got "1"`}},
		{"q", "", nil, []string{`query.lane: exact "gray" != "blue"`}},
		{"pct", "", nil, []string{`percentage: 30%: no key present (header:x-user-id, cookie:uid)`}},
		{"pct", "", []string{"x-user-id", pctOut}, []string{fmt.Sprintf(`percentage: 30%%: header:x-user-id %q is in bucket %d, not below 3000`, pctOut, match.Bucket("s", pctOut))}},
		{"pct", "", []string{"cookie", "uid=" + pctIn}, nil},
		{"or", "", nil, nil},
		{"or", "", []string{":method", "GET"}, nil},
		{"tail", "", []string{"x-user-id", strings.Repeat("9", 100)}, []string{`headers.x-user-id: suffix ["0", "1", "2"]: got "` + strings.Repeat("9", 64) + `"…`}},
	} {
		t.Run(tc.rule+" "+strings.Join(tc.kv, " ")+" "+tc.source, func(t *testing.T) {
			r := whyRequest(cfg, tc.source, tc.kv...)
			got := blocks[tc.rule].WhyNot(r)
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("got  %q\nwant %q", got, tc.want)
			}
			if (got == nil) != blocks[tc.rule].Holds(r) {
				t.Errorf("WhyNot %q disagrees with Holds %v", got, blocks[tc.rule].Holds(r))
			}
		})
	}
}

// Over random requests a reason is given exactly when Match says no, for
// every block of every kind.
func TestWhyNotAgreesWithMatch(t *testing.T) {
	cfg, blocks := whyRules(t)
	rnd := rand.New(rand.NewPCG(7, 11))
	pick := func(vs ...string) string { return vs[rnd.IntN(len(vs))] }
	for i := range 2000 {
		kv := []string{":method", pick("GET", "POST", "HEAD"), ":path", pick("/api/a", "/web", "/?lane=gray")}
		for _, h := range [][]string{
			{"x-gray-tag", "internal-test", "x"}, {"x-gray-token", "secret-12345", "no"}, {"x-user-id", "12340", "7", "12345"},
			{"x-app-version", "3.1", "13.0", "3.X"}, {"user-agent", "bot", "curl"}, {"cookie", "beta=1", "uid=42"}, {"x-a", "1"},
		} {
			if rnd.IntN(2) == 0 {
				kv = append(kv, h[0], h[1+rnd.IntN(len(h)-1)])
			}
		}
		r := whyRequest(cfg, pick("", "10.2.3.4", "8.8.8.8", "fd00::1"), kv...)
		for name, b := range blocks {
			for j := range b {
				if why := b[j].WhyNot(r); (why == "") != b[j].Match(r) || strings.Contains(why, "a condition does not hold") {
					t.Fatalf("request %d, rule %s block %d: WhyNot %q, Match %v", i, name, j, why, b[j].Match(r))
				}
			}
		}
	}
}

func TestDescribeAndHosts(t *testing.T) {
	re, err := match.NewRegexMatch(`a|b`, true, true)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		m    match.String
		want string
	}{
		{"exact one", match.NewValueMatch(match.OpExact, []string{"ios"}, false, false), `exact "ios"`},
		{"prefix list", match.NewValueMatch(match.OpPrefix, []string{"/a", "/b"}, false, false), `prefix ["/a", "/b"]`},
		{"regex inverted folding", re, `not regex "a|b" (ignore case)`},
		{"present", match.NewPresentMatch(true, false), `present`},
		{"absent inverted", match.NewPresentMatch(false, true), `not absent`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.m.Describe(); got != tc.want {
				t.Errorf("%q, want %q", got, tc.want)
			}
		})
	}
	for _, tc := range []struct {
		patterns []string
		host     string
		want     string
	}{
		{[]string{"myapp.example.com", "*.example.org"}, "other.example.com", `"other.example.com" is not ["myapp.example.com", "*.example.org"]`},
		{[]string{"myapp.example.com"}, "MyApp.Example.COM", ""},
		{[]string{"*.example.org"}, "a.example.org", ""},
		{nil, "anything", ""},
	} {
		t.Run(strings.Join(tc.patterns, ",")+" "+tc.host, func(t *testing.T) {
			h, err := match.NewHosts(tc.patterns)
			if err != nil {
				t.Fatal(err)
			}
			lower := strings.ToLower(tc.host) == tc.host
			if got := h.WhyNot(tc.host, lower); got != tc.want {
				t.Errorf("%q, want %q", got, tc.want)
			}
		})
	}
}
