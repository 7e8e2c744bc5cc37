package render

import (
	"cmp"
	"slices"
	"sort"
	"strconv"

	"github.com/tidwall/gjson"

	"github.com/lanedye/lanedye/internal/cli/input"
	"github.com/lanedye/lanedye/internal/lane"
)

// FallbackOptions say how Deployments map to services and lanes.
type FallbackOptions struct {
	LaneLabel    string // pod label holding the lane; default version
	ServiceLabel string // pod label naming the service; default app
	DefaultLane  string // default base
	// Lanes are the configured lanes other than the default; nil accepts
	// every valid lane name.
	Lanes  []string
	Domain string // cluster domain, for keys qualified by namespace
}

// DefaultServiceLabel is the pod label that names a Deployment's service.
const DefaultServiceLabel = "app"

// Fallback derives fallback.services from Deployments (kubectl get deploy
// -o yaml): for every service, the lanes it has running pods in, the
// default lane left out (it always counts). A service name found in
// several namespaces gets keys qualified by namespace. Notes say what was
// skipped and why.
func Fallback(objs []input.Object, o FallbackOptions) (services map[string][]string, notes []string) {
	laneLabel := cmp.Or(o.LaneLabel, DefaultLabel)
	svcLabel := cmp.Or(o.ServiceLabel, DefaultServiceLabel)
	def := cmp.Or(o.DefaultLane, defaultLane)
	type placed struct{ name, ns string }
	found := map[placed]map[string]bool{}
	namespaces := map[string]map[string]bool{}
	for _, obj := range objs {
		v := obj.Value
		if v.Get("kind").String() != "Deployment" {
			continue
		}
		label := func(k string) string {
			return cmp.Or(v.Get("spec.template.metadata.labels").Get(gjson.Escape(k)).String(), v.Get("metadata.labels").Get(gjson.Escape(k)).String())
		}
		name, l := label(svcLabel), label(laneLabel)
		what := obj.Source + ": Deployment " + strconv.Quote(v.Get("metadata.name").String())
		switch r := v.Get("spec.replicas"); {
		case name == "" || l == "":
			notes = append(notes, what+" has no "+svcLabel+" or "+laneLabel+" label: skipped")
			continue
		case r.Exists() && r.Int() == 0:
			notes = append(notes, what+" is scaled to 0: lane "+strconv.Quote(l)+" not counted")
			continue
		case l != def && (!lane.ValidName(l) || (o.Lanes != nil && !slices.Contains(o.Lanes, l))):
			notes = append(notes, what+": "+strconv.Quote(l)+" is not a configured lane: skipped")
			continue
		}
		p := placed{name, v.Get("metadata.namespace").String()}
		if found[p] == nil {
			found[p] = map[string]bool{}
		}
		if namespaces[name] == nil {
			namespaces[name] = map[string]bool{}
		}
		namespaces[name][p.ns] = true
		if l != def {
			found[p][l] = true
		}
	}
	services = map[string][]string{}
	for p, ls := range found {
		key := p.name
		if len(namespaces[p.name]) > 1 {
			key = p.name + "." + cmp.Or(p.ns, DefaultNamespace) + ".svc." + cmp.Or(o.Domain, DefaultDomain)
		}
		list := []string{}
		for l := range ls {
			list = append(list, l)
		}
		sort.Strings(list)
		services[key] = list
	}
	sort.Strings(notes)
	return services, notes
}
