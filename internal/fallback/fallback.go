// Package fallback computes the route lane: the first lane of a request's lane
// chain (lane, parent, ..., default lane) that the destination service is
// deployed in. Every (service, lane) answer is computed at configuration time.
package fallback

import (
	"strings"

	"github.com/lanedye/lanedye/internal/httpsyntax"
	"github.com/lanedye/lanedye/internal/lane"
)

// Table maps a destination host and a lane to the route lane.
type Table struct {
	routes map[string][]lane.ID // service key -> route lane per lane
}

// New compiles services (service key -> lanes it is deployed in) and parents
// (per lane: the next lane to try, or lane.None to go to the default lane).
// Parent chains must be acyclic; configuration validation checks that.
func New(services map[string][]lane.ID, parents []lane.ID, lanes *lane.Set) *Table {
	t := &Table{routes: make(map[string][]lane.ID, len(services))}
	for svc, deployed := range services {
		has := make([]bool, lanes.Len())
		has[lane.Default] = true
		for _, l := range deployed {
			has[l] = true
		}
		route := make([]lane.ID, lanes.Len())
		for l := range route {
			c := lane.ID(l)
			for !has[c] {
				c = parents[c].OrDefault()
			}
			route[l] = c
		}
		t.routes[httpsyntax.ToLower(svc)] = route
	}
	// A Kubernetes FQDN key also stands for its short forms, unless they are
	// keys of their own.
	for svc := range services {
		for _, alias := range shortForms(httpsyntax.ToLower(svc)) {
			if _, own := services[alias]; !own {
				t.routes[alias] = t.routes[httpsyntax.ToLower(svc)]
			}
		}
	}
	return t
}

// shortForms returns "<name>.<ns>" and "<name>.<ns>.svc" for a key of the
// form "<name>.<ns>.svc.<cluster domain>", else nothing.
func shortForms(key string) []string {
	labels := strings.Split(key, ".")
	if len(labels) < 4 || labels[2] != "svc" {
		return nil
	}
	short := labels[0] + "." + labels[1]
	return []string{short, short + ".svc"}
}

// Route returns the route lane for a request to host (port stripped) in lane
// l. A key matches the host exactly or its first DNS label, and a key
// "<name>.<ns>.svc.<domain>" also matches "<name>.<ns>" and
// "<name>.<ns>.svc"; hosts that no key matches are deployed in the default
// lane only.
func (t *Table) Route(host string, l lane.ID) lane.ID {
	if r, ok := t.lookup(host); ok {
		return r[l]
	}
	if i := strings.IndexByte(host, '.'); i > 0 {
		if r, ok := t.lookup(host[:i]); ok {
			return r[l]
		}
	}
	return lane.Default
}

func (t *Table) lookup(h string) ([]lane.ID, bool) {
	if r, ok := t.routes[h]; ok {
		return r, true
	}
	if httpsyntax.HasUpper(h) {
		r, ok := t.routes[httpsyntax.ToLower(h)]
		return r, ok
	}
	return nil, false
}
