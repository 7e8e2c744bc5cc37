package fallback

import (
	"testing"

	"github.com/lanedye/lanedye/internal/lane"
)

// A table over hosts x lanes: dev-a -> gray -> base.
func TestRouteTable(t *testing.T) {
	lanes := lane.NewSet("base", []string{"gray", "dev-a", "dev-b"})
	parents := []lane.ID{lane.None, lane.None, 1, lane.None} // dev-a's parent is gray
	tb := New(map[string][]lane.ID{
		"reviews":                        {1},
		"ratings.prod.svc.cluster.local": {1, 2},
		"details":                        {3},
	}, parents, lanes)
	want := map[string][4]string{ // lane base, gray, dev-a, dev-b
		"reviews":                        {"base", "gray", "gray", "base"},
		"reviews.prod.svc.cluster.local": {"base", "gray", "gray", "base"},
		"Reviews.Prod":                   {"base", "gray", "gray", "base"},
		"ratings.prod.svc.cluster.local": {"base", "gray", "dev-a", "base"},
		"ratings":                        {"base", "base", "base", "base"},
		"details.prod":                   {"base", "base", "base", "dev-b"},
		"productpage":                    {"base", "base", "base", "base"},
		"":                               {"base", "base", "base", "base"},
	}
	for host, routes := range want {
		t.Run(host, func(t *testing.T) {
			for l, w := range routes {
				if got := lanes.Name(tb.Route(host, lane.ID(l))); got != w {
					t.Errorf("in %s: route %s, want %s", lanes.Name(lane.ID(l)), got, w)
				}
			}
		})
	}
}
