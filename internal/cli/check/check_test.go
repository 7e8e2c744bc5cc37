package check

import (
	"strings"
	"testing"

	"github.com/lanedye/lanedye/internal/config/anyrole"
)

const (
	gateway = `{"role":"gateway","lanes":["gray"],"baggage":"lane",
	  "rules":[{"name":"r","lane":"gray","hosts":["myapp.example.com","*.example.org"]}]}`
	sidecar = `{"role":"sidecar","lanes":["gray"],"baggage":"lane"}`
)

func inputs(t *testing.T, cfgs ...string) []Input {
	t.Helper()
	var in []Input
	for i, js := range cfgs {
		c, err := anyrole.Parse([]byte(js))
		if err != nil {
			t.Fatalf("config %d: %v", i, err)
		}
		in = append(in, Input{Source: string(rune('a' + i)), JSON: []byte(js), Config: c})
	}
	return in
}

func TestAcross(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfgs []string
		want []string
	}{
		{"consistent", []string{gateway, sidecar}, nil},
		{"a sidecar alone is not checked", []string{sidecar}, nil},
		{"baggage the gateway does not own", []string{`{"role":"gateway","lanes":["gray"],"rules":[{"name":"r","lane":"gray"}]}`, sidecar},
			[]string{`b: baggage: reads baggage member "lane", but the gateway a owns no baggage member: a client could choose its lane through baggage; set "baggage": "lane" there`}},
		{"baggage under another name", []string{strings.Replace(gateway, `"baggage":"lane"`, `"baggage":"swimlane"`, 1), sidecar},
			[]string{`b: baggage: reads baggage member "lane", but the gateway a owns "swimlane": a client could choose its lane through baggage; set "baggage": "lane" there`}},
		{"another lane header", []string{gateway, `{"role":"sidecar","lanes":["gray"],"lane_header":"x-lane","baggage":"lane"}`},
			[]string{`b: lane_header: reads "x-lane", but the gateway a sets "x-swimlane"`}},
		{"another default lane", []string{gateway, `{"role":"sidecar","default_lane":"v1","lanes":["gray"],"baggage":"lane"}`},
			[]string{`b: default_lane: warning: "v1", but the gateway a has "base": its default lane is no lane here`}},
		{"a lane no gateway produces", []string{gateway, `{"role":"sidecar","lanes":["gray","dev-a"],"baggage":"lane"}`},
			[]string{`b: lanes[1]: warning: no gateway produces lane "dev-a" (no rule dyes into it, and no lane_from or trust lets a client choose it)`}},
		{"lane_from produces every lane", []string{`{"role":"gateway","lanes":["gray","dev-a"],"baggage":"lane","rules":[{"name":"r","lane_from":"header:x-env"}]}`,
			`{"role":"sidecar","lanes":["gray","dev-a"],"baggage":"lane"}`}, nil},
		{"trust produces every lane", []string{`{"role":"gateway","lanes":["gray","dev-a"],"baggage":"lane","trust":{"match":[]}}`,
			`{"role":"sidecar","lanes":["gray","dev-a"],"baggage":"lane"}`}, nil},
		{"gateway fallback services the rules' hosts reach", []string{strings.Replace(gateway, `"baggage"`,
			`"fallback":{"services":{"myapp":["gray"],"myapp.example.com":["gray"],"shop":["gray"],"a.example.org":[]}},"baggage"`, 1)}, nil},
		{"a gateway fallback service no rule reaches", []string{strings.Replace(gateway, `"baggage"`,
			`"fallback":{"services":{"other.example.com":["gray"],"b.example.net":[]}},"baggage"`, 1)},
			[]string{
				`a: fallback.services.other.example.com: warning: no rule's hosts reach this service: requests to it are dyed only by a trusted header or a sticky cookie`,
				`a: fallback.services.b.example.net: warning: no rule's hosts reach this service: requests to it are dyed only by a trusted header or a sticky cookie`,
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, f := range Across(inputs(t, tc.cfgs...)) {
				got = append(got, f.String())
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}
