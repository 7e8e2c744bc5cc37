// Package render writes the Istio routing a lanedye configuration needs, and
// reads back from Deployments the fallback.services table it should have.
//
// For every service of fallback.services: a DestinationRule with one subset
// per lane (pods selected by a lane label, default version: <lane>) and a
// VirtualService that routes on the route header, one match per lane other
// than the default, the default lane's subset last. lanedye sets the route
// header to the first lane of the request's chain the service is deployed
// in, so routes of lanes a service lacks are never taken.
package render

import (
	"bytes"
	"cmp"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/tidwall/gjson"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/yaml"
)

// Options say where the rendered resources live and how pods are selected.
type Options struct {
	Namespace string // for service keys without one; default "default"
	Domain    string // cluster domain; default cluster.local
	Label     string // pod label holding the lane; default version
	// HealthFallback adds, per service, an EnvoyFilter whose aggregate
	// clusters send a lane's traffic down its fallback chain while the
	// lane's endpoints are unhealthy (health.go); routes get names.
	HealthFallback bool
	Port           int            // the services' port, for cluster names; default 80
	Ports          map[string]int // per service key, over Port
	// FilterNamespace holds the EnvoyFilters; default each service's own
	// (the proxies of that namespace). Istio's root namespace
	// (istio-system) reaches every proxy, the ingress gateway's included.
	FilterNamespace string
}

// Defaults of Options and of the configuration.
const (
	DefaultNamespace   = "default"
	DefaultDomain      = "cluster.local"
	DefaultLabel       = "version"
	DefaultPort        = 80
	defaultLane        = "base"
	defaultRouteHeader = "x-lane-route"
)

type meta struct {
	Name      string `json:"name"`
	Namespace string `json:"namespace"`
}

type subset struct {
	Name   string            `json:"name"`
	Labels map[string]string `json:"labels"`
}

type destinationRule struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   meta   `json:"metadata"`
	Spec       struct {
		Host    string   `json:"host"`
		Subsets []subset `json:"subsets"`
	} `json:"spec"`
}

type destination struct {
	Host   string `json:"host"`
	Subset string `json:"subset"`
}

type httpRoute struct {
	Name  string                                    `json:"name,omitempty"`
	Match []map[string]map[string]map[string]string `json:"match,omitempty"`
	Route []map[string]destination                  `json:"route"`
}

type virtualService struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   meta   `json:"metadata"`
	Spec       struct {
		Hosts []string    `json:"hosts"`
		HTTP  []httpRoute `json:"http"`
	} `json:"spec"`
}

// Service is one service key of fallback.services, placed in the cluster.
type Service struct {
	Key       string // as configured, lower-case
	Name      string // the Kubernetes Service name
	Namespace string
	Host      string // the fully qualified host
}

// Place resolves a service key: "name", "name.ns", "name.ns.svc" or
// "name.ns.svc.<domain>" name a Service; a bare name lives in o.Namespace.
func Place(key string, o Options) Service {
	key = strings.ToLower(key)
	labels := strings.Split(key, ".")
	s := Service{Key: key, Name: labels[0], Namespace: cmp.Or(o.Namespace, DefaultNamespace)}
	if len(labels) > 1 {
		s.Namespace = labels[1]
	}
	s.Host = s.Name + "." + s.Namespace + ".svc." + cmp.Or(o.Domain, DefaultDomain)
	return s
}

// Render writes YAML for a valid configuration: a DestinationRule and a
// VirtualService per service of fallback.services, in key order, and with
// o.HealthFallback the EnvoyFilter of each service deployed in a lane. It
// fails when the configuration has no fallback services.
func Render(cfgJSON []byte, o Options) ([]byte, error) {
	cfg := gjson.ParseBytes(cfgJSON)
	services := cfg.Get("fallback.services")
	if !services.IsObject() || len(services.Map()) == 0 {
		return nil, fmt.Errorf("no fallback.services: nothing to render")
	}
	lanes := []string{cmp.Or(cfg.Get("default_lane").String(), defaultLane)}
	for _, l := range cfg.Get("lanes").Array() {
		lanes = append(lanes, l.String())
	}
	for _, l := range lanes {
		if errs := validation.IsDNS1123Label(l); len(errs) > 0 {
			return nil, fmt.Errorf("lane %q cannot name a DestinationRule subset: %s", l, errs[0])
		}
	}
	header := cmp.Or(cfg.Get("fallback.route_header").String(), defaultRouteHeader)
	label := cmp.Or(o.Label, DefaultLabel)
	var keys []string
	services.ForEach(func(k, _ gjson.Result) bool { keys = append(keys, k.String()); return true })
	sort.Strings(keys)
	for k := range o.Ports {
		if !slices.ContainsFunc(keys, func(key string) bool { return strings.EqualFold(key, k) }) {
			return nil, fmt.Errorf("--port %s=%d: %q is no service of fallback.services", k, o.Ports[k], k)
		}
	}
	var out bytes.Buffer
	seen := map[string]string{}
	for i, k := range keys {
		s := Place(k, o)
		if other, dup := seen[s.Namespace+"/"+s.Name]; dup {
			return nil, fmt.Errorf("services %q and %q are both %s in namespace %s", other, k, s.Name, s.Namespace)
		}
		seen[s.Namespace+"/"+s.Name] = k
		objs := []any{destinationRuleOf(s, lanes, label), virtualServiceOf(s, lanes, header, o.HealthFallback)}
		if o.HealthFallback {
			if o.Port == 0 {
				o.Port = DefaultPort
			}
			if f := healthFilter(s, services.Get(gjson.Escape(k)), cfg, lanes, o); f != nil {
				objs = append(objs, f)
			}
		}
		for j, obj := range objs {
			b, err := yaml.Marshal(obj)
			if err != nil {
				return nil, err
			}
			if i+j > 0 {
				out.WriteString("---\n")
			}
			out.Write(b)
		}
	}
	return out.Bytes(), nil
}

func destinationRuleOf(s Service, lanes []string, label string) destinationRule {
	dr := destinationRule{APIVersion: "networking.istio.io/v1", Kind: "DestinationRule", Metadata: meta{s.Name, s.Namespace}}
	dr.Spec.Host = s.Host
	for _, l := range lanes {
		dr.Spec.Subsets = append(dr.Spec.Subsets, subset{Name: l, Labels: map[string]string{label: l}})
	}
	return dr
}

func virtualServiceOf(s Service, lanes []string, header string, named bool) virtualService {
	vs := virtualService{APIVersion: "networking.istio.io/v1", Kind: "VirtualService", Metadata: meta{s.Name, s.Namespace}}
	vs.Spec.Hosts = []string{s.Key}
	for _, l := range lanes[1:] {
		name := ""
		if named {
			name = RouteName(s, l)
		}
		vs.Spec.HTTP = append(vs.Spec.HTTP, httpRoute{
			Name:  name,
			Match: []map[string]map[string]map[string]string{{"headers": {header: {"exact": l}}}},
			Route: []map[string]destination{{"destination": {s.Host, l}}},
		})
	}
	vs.Spec.HTTP = append(vs.Spec.HTTP, httpRoute{Route: []map[string]destination{{"destination": {s.Host, lanes[0]}}}})
	return vs
}
