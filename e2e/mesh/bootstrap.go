package mesh

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"sort"
	"text/template"
)

//go:embed bootstrap.yaml.tmpl
var bootstrapTemplate string

var tmpl = template.Must(template.New("bootstrap").Parse(bootstrapTemplate))

// Bootstrap is what bootstrap.yaml.tmpl renders: one Envoy's listeners,
// clusters and the lanedye filter they load.
type Bootstrap struct {
	Listeners []Listener
	Clusters  []Cluster
	Plugin    Plugin
	Cert, Key string // the gateway's TLS certificate and key files
	Node      string // the node id an xDS server knows this Envoy by
	// NodeLabels are node.metadata.LABELS, where Istio puts the labels of
	// the proxy's pod (a workload's lane label).
	NodeLabels map[string]string
	Lua        string // a Lua filter's source, run before lanedye; "" none
}

// Listener is an HTTP listener with a route table.
type Listener struct {
	Name      string
	Direction string // "INBOUND" or "OUTBOUND" on sidecars; "" on the gateway
	Port      int
	TLS       bool
	Hosts     []VirtualHost
	// XFFTrustedHops > 0: the listener stands behind that many trusted
	// proxies, as an ingress gateway behind a load balancer.
	XFFTrustedHops int
	// Tracing turns on the connection manager's tracing (no provider), as
	// Istio's proxies have it: Envoy then records its tracing decision in
	// the 15th character of a UUID x-request-id.
	Tracing bool
}

// VirtualHost routes by exact header matches, then a default cluster.
type VirtualHost struct {
	Name, Default string
	Domains       []string
	Rules         []RouteRule
}

// RouteRule sends requests whose Header equals Exact to Cluster.
type RouteRule struct{ Header, Exact, Cluster string }

// Cluster is a static upstream; Port 0 means no endpoints.
type Cluster struct {
	Name  string
	Port  int
	HTTP2 bool // the xDS server's cluster speaks gRPC
}

// Plugin is how the listeners load lanedye: inline, or from an xDS server
// (ECDS) through the named cluster, as Istio delivers a WasmPlugin; neither
// (no Wasm, no XDSCluster): no Wasm filter.
type Plugin struct {
	Wasm       string            // module file
	Config     string            // the pluginConfig JSON
	Env        map[string]string // vm_config.environment_variables
	XDSCluster string            // non-empty: the filter config comes from ECDS
}

// Render fills the template. The plugin configuration is embedded as a
// YAML-quoted JSON string.
func (b Bootstrap) Render() ([]byte, error) {
	js, err := json.Marshal(b.Plugin.Config)
	if err != nil {
		return nil, err
	}
	b.Plugin.Config = string(js)
	if b.Lua != "" {
		if js, err = json.Marshal(b.Lua); err != nil {
			return nil, err
		}
		b.Lua = string(js)
	}
	var out bytes.Buffer
	err = tmpl.Execute(&out, b)
	return out.Bytes(), err
}

// Instance is one service version: its sidecar's listener ports and its
// application's.
type Instance struct {
	Service, Version string
	In, Out, App     int
}

// Name is "service-version", the name of its sidecar.
func (i Instance) Name() string { return i.Service + "-" + i.Version }

// Plan lays out the mesh of topo with ports from port(): the gateway's and
// every sidecar's bootstrap (keyed by Instance.Name), and the instances. The
// Plugin fields are left for the caller.
func Plan(topo *Topology, port func() int) (gateway Bootstrap, sidecars map[string]Bootstrap, insts []Instance) {
	inbound := map[string]int{}
	var svcs []string
	for svc := range topo.Services {
		svcs = append(svcs, svc)
	}
	sort.Strings(svcs)
	for _, svc := range svcs {
		for _, v := range topo.Services[svc] {
			i := Instance{svc, v, port(), port(), port()}
			insts = append(insts, i)
			inbound[i.Name()] = i.In
		}
	}
	// Every subset a VirtualService names is a cluster; those without a
	// deployment have no endpoints.
	var clusters []Cluster
	seen := map[string]bool{}
	hostsFor := func(gateway bool) []VirtualHost {
		var hs []VirtualHost
		var names []string
		for h := range topo.Routes {
			names = append(names, h)
		}
		sort.Strings(names)
		for _, h := range names {
			if (h == topo.GatewayHost) != gateway {
				continue
			}
			r := topo.Routes[h]
			vh := VirtualHost{Name: h, Domains: []string{h, h + ":*"}, Default: r.Service + "-" + r.Default}
			for _, ru := range r.Rules {
				vh.Rules = append(vh.Rules, RouteRule{ru.Header, ru.Exact, r.Service + "-" + ru.Subset})
			}
			for _, c := range append([]string{vh.Default}, ruleClusters(vh.Rules)...) {
				if !seen[c] {
					seen[c] = true
					clusters = append(clusters, Cluster{Name: c, Port: inbound[c]})
				}
			}
			hs = append(hs, vh)
		}
		return hs
	}
	gwHosts, meshHosts := hostsFor(true), hostsFor(false)
	sidecars = map[string]Bootstrap{}
	for _, i := range insts {
		local := i.Name() + "-app"
		sidecars[i.Name()] = Bootstrap{
			Listeners: []Listener{
				{Name: "inbound", Direction: "INBOUND", Port: i.In, Hosts: []VirtualHost{{Name: "local", Domains: []string{"*"}, Default: local}}},
				{Name: "outbound", Direction: "OUTBOUND", Port: i.Out, Hosts: meshHosts},
			},
			Clusters: append([]Cluster{{Name: local, Port: i.App}}, clusters...),
		}
	}
	gateway = Bootstrap{Listeners: []Listener{{Name: "gateway", Port: port(), TLS: true, Hosts: gwHosts}}, Clusters: clusters}
	return gateway, sidecars, insts
}

func ruleClusters(rs []RouteRule) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.Cluster)
	}
	return out
}
