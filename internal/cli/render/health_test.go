package render

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	aggregatev3 "github.com/envoyproxy/go-control-plane/envoy/extensions/clusters/aggregate/v3"
	"google.golang.org/protobuf/encoding/protojson"
	"sigs.k8s.io/yaml"

	"github.com/lanedye/lanedye/internal/istiocrd"
)

// healthConfig has a three-lane chain (dev-b -> dev-a -> base) and services
// deployed in different parts of it.
const healthConfig = `{"role":"sidecar","default_lane":"base","lanes":["v2","dev-a","dev-b"],
 "fallback":{"parents":{"dev-b":"dev-a","v2":"dev-a"},
  "services":{"reviews":["dev-a","dev-b"],"ratings.other":["v2"],"details":[]}}}`

type rendered struct {
	Kind     string
	Metadata struct{ Name, Namespace string }
	Spec     struct {
		HTTP []struct {
			Name  string
			Match []any
			Route []struct{ Destination struct{ Host, Subset string } }
		} `json:"http"`
		ConfigPatches []struct {
			ApplyTo string `json:"applyTo"`
			Match   struct {
				Context            string
				RouteConfiguration struct {
					PortNumber int `json:"portNumber"`
					Vhost      struct{ Route struct{ Name string } }
				} `json:"routeConfiguration"`
			}
			Patch struct {
				Operation string
				Value     json.RawMessage
			}
		} `json:"configPatches"`
	}
}

func renderDocs(t *testing.T, cfg string, o Options) ([][]byte, []rendered) {
	t.Helper()
	out, err := Render([]byte(cfg), o)
	if err != nil {
		t.Fatal(err)
	}
	docs := istiocrd.SplitYAML(out)
	var objs []rendered
	for _, d := range docs {
		var r rendered
		if err := yaml.Unmarshal(d, &r); err != nil {
			t.Fatal(err)
		}
		objs = append(objs, r)
	}
	return docs, objs
}

// With HealthFallback, per lane a service is deployed in (the default
// aside): an aggregate cluster over the lane's subset cluster and those of
// its chain's lanes the service has, and a patch pointing the lane's named
// route at it. Everything validates against Istio's CRD schemas, and the
// patch values decode strictly as the Envoy resources Istio builds from
// them.
func TestRenderHealthFallback(t *testing.T) {
	crds, err := istiocrd.Load()
	if err != nil {
		t.Fatal(err)
	}
	docs, objs := renderDocs(t, healthConfig, Options{Namespace: "shop", HealthFallback: true, Port: 9080, Ports: map[string]int{"ratings.other": 8080}})
	var kinds []string
	aggregates := map[string][]string{} // aggregate cluster -> its clusters
	routed := map[string]string{}       // route name -> cluster
	routes := map[string]string{}       // VirtualService route name -> subset
	for i, o := range objs {
		kinds = append(kinds, o.Kind+"/"+o.Metadata.Namespace+"/"+o.Metadata.Name)
		if kind, errs := crds.Validate(docs[i]); len(errs) > 0 {
			t.Errorf("%s does not validate: %v", kind, errs)
		}
		for _, h := range o.Spec.HTTP {
			if len(h.Match) > 0 {
				routes[h.Name] = h.Route[0].Destination.Subset
			} else if h.Name != "" {
				t.Errorf("the default route is named %q", h.Name)
			}
		}
		patches(t, o, aggregates, routed)
	}
	wantKinds := "DestinationRule/shop/details VirtualService/shop/details " +
		"DestinationRule/other/ratings VirtualService/other/ratings EnvoyFilter/other/ratings-lane-fallback " +
		"DestinationRule/shop/reviews VirtualService/shop/reviews EnvoyFilter/shop/reviews-lane-fallback"
	if got := strings.Join(kinds, " "); got != wantKinds {
		t.Errorf("rendered %s\nwant     %s", got, wantKinds)
	}
	const reviews, ratings = "reviews.shop.svc.cluster.local", "ratings.other.svc.cluster.local"
	wantAggregates := map[string][]string{
		"lanedye-fallback|9080|dev-a|" + reviews: {"outbound|9080|dev-a|" + reviews, "outbound|9080|base|" + reviews},
		"lanedye-fallback|9080|dev-b|" + reviews: {"outbound|9080|dev-b|" + reviews, "outbound|9080|dev-a|" + reviews, "outbound|9080|base|" + reviews},
		"lanedye-fallback|8080|v2|" + ratings:    {"outbound|8080|v2|" + ratings, "outbound|8080|base|" + ratings},
	}
	if !reflect.DeepEqual(aggregates, wantAggregates) {
		t.Errorf("aggregate clusters\n%v\nwant\n%v", aggregates, wantAggregates)
	}
	// Each lane's route, in a sidecar's route configuration of the port the
	// aggregate is for (a route without a port is in every port's), and in
	// a gateway's by name.
	wantRouted := map[string]string{}
	for route, cluster := range map[string]string{
		"lanedye.dev-a.reviews.shop": "lanedye-fallback|9080|dev-a|" + reviews,
		"lanedye.dev-b.reviews.shop": "lanedye-fallback|9080|dev-b|" + reviews,
		"lanedye.v2.ratings.other":   "lanedye-fallback|8080|v2|" + ratings,
	} {
		port := strings.Split(cluster, "|")[1]
		wantRouted["SIDECAR_OUTBOUND:"+port+":"+route] = cluster
		wantRouted["GATEWAY:0:"+route] = cluster
	}
	if !reflect.DeepEqual(routed, wantRouted) {
		t.Errorf("route patches\n%v\nwant\n%v", routed, wantRouted)
	}
	// Every patched route exists, named, in its VirtualService, on its
	// lane's subset.
	for key := range routed {
		name := key[strings.LastIndex(key, ":")+1:]
		if lane := strings.Split(name, ".")[1]; routes[name] != lane {
			t.Errorf("VirtualService route %s: subset %q, want %q (routes %v)", name, routes[name], lane, routes)
		}
	}
}

// Without HealthFallback the output is the plain routing (TestRender): no
// names, no EnvoyFilter. FilterNamespace moves the filters only; the
// default port is 80; a port for a service that is not configured fails.
func TestRenderHealthFallbackOptions(t *testing.T) {
	_, objs := renderDocs(t, healthConfig, Options{Namespace: "shop"})
	for _, o := range objs {
		if o.Kind == "EnvoyFilter" {
			t.Error("EnvoyFilter without HealthFallback")
		}
		for _, h := range o.Spec.HTTP {
			if h.Name != "" {
				t.Errorf("route named %q without HealthFallback", h.Name)
			}
		}
	}
	_, objs = renderDocs(t, healthConfig, Options{Namespace: "shop", HealthFallback: true, FilterNamespace: "istio-system"})
	filters := 0
	for _, o := range objs {
		if o.Kind == "EnvoyFilter" {
			filters++
			if o.Metadata.Namespace != "istio-system" {
				t.Errorf("EnvoyFilter %s in %s", o.Metadata.Name, o.Metadata.Namespace)
			}
			if v := string(o.Spec.ConfigPatches[0].Patch.Value); !strings.Contains(v, "|80|") {
				t.Errorf("default port 80 not in %s", v)
			}
		}
	}
	if filters != 2 {
		t.Errorf("%d EnvoyFilters, want 2", filters)
	}
	// Services of one name in two namespaces keep a filter each in the
	// shared namespace.
	twice := `{"role":"sidecar","default_lane":"base","lanes":["gray"],"fallback":{"services":{"payment.a":["gray"],"payment.b":["gray"]}}}`
	_, objs = renderDocs(t, twice, Options{HealthFallback: true, FilterNamespace: "istio-system"})
	var names []string
	for _, o := range objs {
		if o.Kind == "EnvoyFilter" {
			names = append(names, o.Metadata.Namespace+"/"+o.Metadata.Name)
		}
	}
	if got := strings.Join(names, " "); got != "istio-system/payment-a-lane-fallback istio-system/payment-b-lane-fallback" {
		t.Errorf("EnvoyFilters %s", got)
	}
	if _, err := Render([]byte(healthConfig), Options{HealthFallback: true, Ports: map[string]int{"nope": 1}}); err == nil ||
		!strings.Contains(err.Error(), `"nope" is no service of fallback.services`) {
		t.Errorf("a port for an unknown service: %v", err)
	}
}

func TestParsePorts(t *testing.T) {
	all, per, err := ParsePorts([]string{"8000", "Payment=9000"})
	if err != nil || all != 8000 || !reflect.DeepEqual(per, map[string]int{"payment": 9000}) {
		t.Errorf("%d %v %v", all, per, err)
	}
	for _, bad := range []string{"0", "65536", "x", "a=", "=80"} {
		if _, _, err := ParsePorts([]string{bad}); err == nil {
			t.Errorf("--port %q accepted", bad)
		}
	}
}

// patches records an EnvoyFilter's aggregate clusters and route patches,
// each decoded strictly as the Envoy resource Istio builds from it.
func patches(t *testing.T, o rendered, aggregates map[string][]string, routed map[string]string) {
	t.Helper()
	for _, p := range o.Spec.ConfigPatches {
		switch p.ApplyTo {
		case "CLUSTER":
			if p.Match.Context != "ANY" {
				t.Errorf("cluster patch in context %s", p.Match.Context)
			}
			var c clusterv3.Cluster
			if err := protojson.Unmarshal(p.Patch.Value, &c); err != nil || p.Patch.Operation != "ADD" {
				t.Fatalf("%s cluster %s: %v", p.Patch.Operation, p.Patch.Value, err)
			}
			var agg aggregatev3.ClusterConfig
			if c.GetClusterType().GetName() != "envoy.clusters.aggregate" || c.GetLbPolicy() != clusterv3.Cluster_CLUSTER_PROVIDED ||
				c.GetClusterType().GetTypedConfig().UnmarshalTo(&agg) != nil {
				t.Fatalf("not an aggregate cluster: %s", p.Patch.Value)
			}
			aggregates[c.GetName()] = agg.GetClusters()
		case "HTTP_ROUTE":
			var r routev3.Route
			if err := protojson.Unmarshal(p.Patch.Value, &r); err != nil || p.Patch.Operation != "MERGE" {
				t.Fatalf("%s route %s: %v", p.Patch.Operation, p.Patch.Value, err)
			}
			rc := p.Match.RouteConfiguration
			routed[fmt.Sprintf("%s:%d:%s", p.Match.Context, rc.PortNumber, rc.Vhost.Route.Name)] = r.GetRoute().GetCluster()
		default:
			t.Errorf("patch of %s", p.ApplyTo)
		}
	}
}

// A chain ends at the default lane, and a cycle of parents (which the
// configuration refuses before) cannot make it loop.
func TestChain(t *testing.T) {
	lanes := []string{"base", "x", "a", "b"}
	for _, tc := range []struct {
		name     string
		parents  map[string]string
		deployed []string
		want     string
	}{
		{"no parent", nil, []string{"x"}, "x base"},
		{"parents deployed", map[string]string{"x": "a", "a": "b"}, []string{"x", "b"}, "x b base"},
		{"a cycle through lanes not deployed", map[string]string{"x": "a", "a": "b", "b": "a"}, []string{"x"}, "x base"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			deployed := map[string]bool{"base": true}
			for _, l := range tc.deployed {
				deployed[l] = true
			}
			if got := strings.Join(chain("x", lanes, deployed, tc.parents), " "); got != tc.want {
				t.Errorf("chain %s, want %s", got, tc.want)
			}
		})
	}
}
