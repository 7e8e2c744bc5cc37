package render

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/lanedye/lanedye/internal/cli/input"
)

func TestPlace(t *testing.T) {
	for _, tc := range []struct {
		key, ns, want string
	}{
		{"checkout", "", "checkout default checkout.default.svc.cluster.local"},
		{"checkout", "shop", "checkout shop checkout.shop.svc.cluster.local"},
		{"Ratings.Prod", "shop", "ratings prod ratings.prod.svc.cluster.local"},
		{"ratings.prod.svc.cluster.local", "shop", "ratings prod ratings.prod.svc.cluster.local"},
	} {
		t.Run(tc.key+" in "+tc.ns, func(t *testing.T) {
			s := Place(tc.key, Options{Namespace: tc.ns})
			if got := s.Name + " " + s.Namespace + " " + s.Host; got != tc.want {
				t.Errorf("%q, want %q", got, tc.want)
			}
		})
	}
}

func TestRender(t *testing.T) {
	const want = `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata:
  name: reviews
  namespace: shop
spec:
  host: reviews.shop.svc.example.internal
  subsets:
  - labels:
      lane: v1
    name: v1
  - labels:
      lane: v2
    name: v2
  - labels:
      lane: dev-a
    name: dev-a
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: reviews
  namespace: shop
spec:
  hosts:
  - reviews
  http:
  - match:
    - headers:
        x-route:
          exact: v2
    route:
    - destination:
        host: reviews.shop.svc.example.internal
        subset: v2
  - match:
    - headers:
        x-route:
          exact: dev-a
    route:
    - destination:
        host: reviews.shop.svc.example.internal
        subset: dev-a
  - route:
    - destination:
        host: reviews.shop.svc.example.internal
        subset: v1
`
	cfg := `{"role":"sidecar","default_lane":"v1","lanes":["v2","dev-a"],"fallback":{"route_header":"x-route","services":{"reviews":["v2"]}}}`
	got, err := Render([]byte(cfg), Options{Namespace: "shop", Domain: "example.internal", Label: "lane"})
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestRenderRefuses(t *testing.T) {
	for _, tc := range []struct {
		name, cfg, want string
	}{
		{"no fallback", `{"role":"sidecar"}`, "no fallback.services: nothing to render"},
		{"no services", `{"role":"sidecar","fallback":{"services":{}}}`, "no fallback.services: nothing to render"},
		{"a lane that cannot name a subset", `{"role":"sidecar","lanes":["Gray"],"fallback":{"services":{"a":[]}}}`, `lane "Gray" cannot name a DestinationRule subset`},
		{"two keys, one service", `{"role":"sidecar","fallback":{"services":{"a":[],"a.default":[]}}}`, `services "a" and "a.default" are both a in namespace default`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Render([]byte(tc.cfg), Options{})
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
}

func deployment(name, ns, app, lane string, replicas int) string {
	return fmt.Sprintf(`{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":%q,"namespace":%q},
	 "spec":{"replicas":%d,"template":{"metadata":{"labels":{"app":%q,"version":%q}}}}}`, name, ns, replicas, app, lane)
}

func TestFallback(t *testing.T) {
	list := func(items ...string) string {
		return `{"apiVersion":"v1","kind":"List","items":[` + strings.Join(items, ",") + `]}`
	}
	for _, tc := range []struct {
		name      string
		objs      string
		o         FallbackOptions
		want      map[string][]string
		wantNotes int
	}{
		{"the example", list(deployment("f-base", "d", "frontend", "base", 1), deployment("f-gray", "d", "frontend", "gray", 1),
			deployment("c-base", "d", "checkout", "base", 1), deployment("p-gray", "d", "payment", "gray", 2)),
			FallbackOptions{}, map[string][]string{"frontend": {"gray"}, "checkout": {}, "payment": {"gray"}}, 0},
		{"scaled to zero, unlabeled, unknown lanes", list(deployment("a", "d", "a", "gray", 0), deployment("b", "d", "", "gray", 1),
			deployment("c", "d", "c", "purple", 1), deployment("c2", "d", "c", "dev-a", 1)),
			FallbackOptions{Lanes: []string{"gray", "dev-a"}}, map[string][]string{"c": {"dev-a"}}, 3},
		{"one name in two namespaces", list(deployment("a", "x", "a", "gray", 1), deployment("a", "y", "a", "base", 1)),
			FallbackOptions{}, map[string][]string{"a.x.svc.cluster.local": {"gray"}, "a.y.svc.cluster.local": {}}, 0},
		{"other labels", list(`{"kind":"Deployment","metadata":{"name":"x","labels":{"app.kubernetes.io/name":"web","lane":"v2"}}}`),
			FallbackOptions{ServiceLabel: "app.kubernetes.io/name", LaneLabel: "lane", DefaultLane: "v1"}, map[string][]string{"web": {"v2"}}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			objs, problems := input.Objects("f", []byte(tc.objs))
			if len(problems) > 0 {
				t.Fatal(problems)
			}
			got, notes := Fallback(objs, tc.o)
			if !reflect.DeepEqual(got, tc.want) || len(notes) != tc.wantNotes {
				t.Errorf("got %v, notes %q\nwant %v, %d notes", got, notes, tc.want, tc.wantNotes)
			}
		})
	}
}
