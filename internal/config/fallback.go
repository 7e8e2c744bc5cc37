package config

import (
	"github.com/lanedye/lanedye/internal/config/bind"
	"github.com/lanedye/lanedye/internal/fallback"
	"github.com/lanedye/lanedye/internal/gjson"
	"github.com/lanedye/lanedye/internal/httpsyntax"
	"github.com/lanedye/lanedye/internal/lane"
)

// parseFallback compiles the fallback section (every role).
func (p *parser) parseFallback() error {
	if !p.fallback.Exists() {
		return nil
	}
	lanes := p.cfg.Lanes
	parents := make([]lane.ID, lanes.Len())
	for i := range parents {
		parents[i] = lane.None
	}
	services := map[string][]lane.ID{}
	err := bind.Object(p.fallback, "fallback",
		bind.Opt("route_header", bind.HeaderName(&p.cfg.RouteHeader)),
		bind.Opt("services", p.services(services)),
		bind.Opt("parents", p.parents(parents)),
	)
	if err != nil {
		return err
	}
	p.cfg.Fallback = fallback.New(services, parents, lanes)
	return nil
}

// parents binds lane -> parent lane and rejects cycles.
func (p *parser) parents(parents []lane.ID) bind.Binder {
	return func(v gjson.Result, path string) error {
		ks, vs, err := bind.Entries(v, path)
		if err != nil {
			return err
		}
		lanes := p.cfg.Lanes
		for i, k := range ks {
			kp := bind.Join(path, k)
			child, ok := lanes.Lookup(k)
			if !ok {
				return bind.Err(kp, bind.Q(k)+" is not a configured lane")
			}
			if child == lane.Default {
				return bind.Err(kp, "the default lane has no parent: chains end there")
			}
			if err := p.cfg.LaneRef(&parents[child])(vs[i], kp); err != nil {
				return err
			}
		}
		// A chain longer than the number of lanes has a cycle.
		for _, k := range ks {
			l, _ := lanes.Lookup(k)
			for steps := 0; l != lane.None && l != lane.Default; steps++ {
				if steps > lanes.Len() {
					return bind.Err(bind.Join(path, k), "parent chain has a cycle")
				}
				l = parents[l]
			}
		}
		return nil
	}
}

// services binds service key -> the lanes it is deployed in.
func (p *parser) services(services map[string][]lane.ID) bind.Binder {
	return func(v gjson.Result, path string) error {
		ks, vs, err := bind.Entries(v, path)
		if err != nil {
			return err
		}
		for i, k := range ks {
			kp := bind.Join(path, k)
			key := httpsyntax.ToLower(k)
			if err := httpsyntax.CheckHost(key); err != nil {
				return bind.Err(kp, "service "+bind.Q(k)+": "+err.Error())
			}
			if _, dup := services[key]; dup {
				return bind.Err(kp, "duplicate service (names are case-insensitive)")
			}
			var ls []lane.ID
			if err := p.cfg.LaneList(&ls)(vs[i], kp); err != nil {
				return err
			}
			services[key] = ls
		}
		return nil
	}
}
