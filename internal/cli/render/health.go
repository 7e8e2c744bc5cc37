package render

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/tidwall/gjson"
)

// Health fallback: with Options.HealthFallback, every route to a lane a
// service is deployed in (other than the default lane) goes to an Envoy
// aggregate cluster instead of the lane's subset cluster. The aggregate
// lists the lane's subset cluster first and then those of the lanes its
// fallback chain (fallback.parents, then the default lane) reaches that the
// service is deployed in, as priorities: while the lane has healthy
// endpoints it takes the traffic, and as they fail (readiness, health
// status, removal) Envoy moves it to the next lane. Istio cannot say this in
// a VirtualService, so an EnvoyFilter adds the clusters and points the
// named routes at them.

// The aggregate cluster's type and configuration.
const (
	aggregateType   = "envoy.clusters.aggregate"
	aggregateConfig = "type.googleapis.com/envoy.extensions.clusters.aggregate.v3.ClusterConfig"
)

// SubsetCluster is the name Istio gives the outbound cluster of a subset.
func SubsetCluster(s Service, port int, subset string) string {
	return "outbound|" + strconv.Itoa(port) + "|" + subset + "|" + s.Host
}

// FallbackCluster is the name of lane's aggregate cluster for a service.
func FallbackCluster(s Service, port int, lane string) string {
	return "lanedye-fallback|" + strconv.Itoa(port) + "|" + lane + "|" + s.Host
}

// RouteName is the name of the VirtualService route of lane for a service
// (unique in the mesh: the EnvoyFilter finds the route by it).
func RouteName(s Service, lane string) string {
	return "lanedye." + lane + "." + s.Name + "." + s.Namespace
}

// chain returns, for a lane a service is deployed in, the lanes whose
// subsets its aggregate cluster lists: the lane, then each lane of its
// parent chain the service is deployed in, the default lane last.
func chain(l string, lanes []string, deployed map[string]bool, parents map[string]string) []string {
	out := []string{l}
	c := parents[l]
	// A chain visits each lane once; the steps are bounded so that a cycle
	// (the configuration is validated before, never here) cannot loop.
	for range lanes {
		if c == "" || c == lanes[0] {
			break
		}
		if deployed[c] {
			out = append(out, c)
		}
		c = parents[c]
	}
	return append(out, lanes[0])
}

// ParsePorts reads --port values: "N" for every service, "service=N" for
// one (a key of fallback.services).
func ParsePorts(values []string) (all int, per map[string]int, err error) {
	per = map[string]int{}
	for _, v := range values {
		key, num, named := strings.Cut(v, "=")
		if !named {
			num = key
		}
		n, err := strconv.Atoi(num)
		if err != nil || n < 1 || n > 65535 || (named && key == "") {
			return 0, nil, fmt.Errorf("--port %q: want a port 1-65535, or SERVICE=PORT", v)
		}
		if named {
			per[strings.ToLower(key)] = n
		} else {
			all = n
		}
	}
	return all, per, nil
}

type envoyFilter struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   meta   `json:"metadata"`
	Spec       struct {
		ConfigPatches []configPatch `json:"configPatches"`
	} `json:"spec"`
}

type configPatch struct {
	ApplyTo string         `json:"applyTo"`
	Match   map[string]any `json:"match"`
	Patch   struct {
		Operation string         `json:"operation"`
		Value     map[string]any `json:"value"`
	} `json:"patch"`
}

// healthFilter is the EnvoyFilter of a service deployed in the lanes in:
// per lane (the default lane aside), the aggregate cluster and the route
// patch. It
// returns nil for a service deployed in the default lane only.
func healthFilter(s Service, in gjson.Result, cfg gjson.Result, lanes []string, o Options) *envoyFilter {
	deployed := map[string]bool{lanes[0]: true}
	for _, l := range in.Array() {
		deployed[l.String()] = true
	}
	parents := map[string]string{}
	cfg.Get("fallback.parents").ForEach(func(k, v gjson.Result) bool { parents[k.String()] = v.String(); return true })
	port := o.Ports[s.Key]
	if port == 0 {
		port = o.Port
	}
	f := &envoyFilter{APIVersion: "networking.istio.io/v1alpha3", Kind: "EnvoyFilter",
		Metadata: meta{s.Name + "-lane-fallback", s.Namespace}}
	if o.FilterNamespace != "" && o.FilterNamespace != s.Namespace {
		// Services of several namespaces share this one: the name says
		// whose filter it is, or one would replace another.
		f.Metadata = meta{s.Name + "-" + s.Namespace + "-lane-fallback", o.FilterNamespace}
	}
	for _, l := range lanes[1:] {
		if !deployed[l] {
			continue
		}
		var clusters []any
		for _, c := range chain(l, lanes, deployed, parents) {
			clusters = append(clusters, SubsetCluster(s, port, c))
		}
		name := FallbackCluster(s, port, l)
		cluster := configPatch{ApplyTo: "CLUSTER", Match: map[string]any{"context": "ANY"}}
		cluster.Patch.Operation = "ADD"
		cluster.Patch.Value = map[string]any{
			"name":            name,
			"connect_timeout": "10s",
			"lb_policy":       "CLUSTER_PROVIDED",
			"cluster_type": map[string]any{
				"name":         aggregateType,
				"typed_config": map[string]any{"@type": aggregateConfig, "clusters": clusters},
			},
		}
		f.Spec.ConfigPatches = append(f.Spec.ConfigPatches, cluster,
			routePatch("SIDECAR_OUTBOUND", port, RouteName(s, l), name), routePatch("GATEWAY", 0, RouteName(s, l), name))
	}
	if len(f.Spec.ConfigPatches) == 0 {
		return nil
	}
	return f
}

// routePatch points the route named route at cluster. A VirtualService
// route without a port is in the route configuration of every port of the
// service, each to that port's cluster: a sidecar's patch names the port the
// aggregate cluster is for. A gateway's route configurations are per server
// port, which says nothing of the service's: its patch matches the name only.
func routePatch(context string, port int, route, cluster string) configPatch {
	rc := map[string]any{"vhost": map[string]any{"route": map[string]any{"name": route}}}
	if port != 0 {
		rc["portNumber"] = port
	}
	p := configPatch{ApplyTo: "HTTP_ROUTE", Match: map[string]any{"context": context, "routeConfiguration": rc}}
	p.Patch.Operation = "MERGE"
	p.Patch.Value = map[string]any{"route": map[string]any{"cluster": cluster}}
	return p
}
