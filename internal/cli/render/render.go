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
}

// Defaults of Options and of the configuration.
const (
	DefaultNamespace   = "default"
	DefaultDomain      = "cluster.local"
	DefaultLabel       = "version"
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
// VirtualService per service of fallback.services, in key order. It fails
// when the configuration has no fallback services.
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
	var out bytes.Buffer
	seen := map[string]string{}
	for i, k := range keys {
		s := Place(k, o)
		if other, dup := seen[s.Namespace+"/"+s.Name]; dup {
			return nil, fmt.Errorf("services %q and %q are both %s in namespace %s", other, k, s.Name, s.Namespace)
		}
		seen[s.Namespace+"/"+s.Name] = k
		for j, obj := range []any{destinationRuleOf(s, lanes, label), virtualServiceOf(s, lanes, header)} {
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

func virtualServiceOf(s Service, lanes []string, header string) virtualService {
	vs := virtualService{APIVersion: "networking.istio.io/v1", Kind: "VirtualService", Metadata: meta{s.Name, s.Namespace}}
	vs.Spec.Hosts = []string{s.Key}
	for _, l := range lanes[1:] {
		vs.Spec.HTTP = append(vs.Spec.HTTP, httpRoute{
			Match: []map[string]map[string]map[string]string{{"headers": {header: {"exact": l}}}},
			Route: []map[string]destination{{"destination": {s.Host, l}}},
		})
	}
	vs.Spec.HTTP = append(vs.Spec.HTTP, httpRoute{Route: []map[string]destination{{"destination": {s.Host, lanes[0]}}}})
	return vs
}
