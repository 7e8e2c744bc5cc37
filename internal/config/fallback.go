package config

import (
	"strings"

	"github.com/tidwall/gjson"

	"github.com/lanedye/lanedye/internal/fallback"
	"github.com/lanedye/lanedye/internal/lane"
	"github.com/lanedye/lanedye/internal/match"
)

// parseFallback compiles the fallback section (both roles).
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
	err := object(p.fallback, "fallback",
		opt("route_header", headerName(&p.cfg.RouteHeader)),
		opt("services", p.services(services)),
		opt("parents", p.parents(parents)),
	)
	if err != nil {
		return err
	}
	if p.cfg.RouteHeader == p.cfg.LaneHeader {
		return errorf("fallback.route_header", "must differ from lane_header: the lane header travels unchanged")
	}
	t := fallback.New(services, parents, lanes)
	p.cfg.HasFallback = true
	p.gw.Fallback, p.sc.Fallback = t, t
	return nil
}

// parents binds lane -> parent lane and rejects cycles.
func (p *parser) parents(parents []lane.ID) binder {
	return func(v gjson.Result, path string) error {
		ks, vs, err := entries(v, path)
		if err != nil {
			return err
		}
		lanes := p.cfg.Lanes
		for i, k := range ks {
			kp := join(path, k)
			child, ok := lanes.Lookup(k)
			if !ok {
				return errorf(kp, "%q is not a configured lane", k)
			}
			if child == lane.Default {
				return errorf(kp, "the default lane has no parent: chains end there")
			}
			if err := p.laneRef(&parents[child])(vs[i], kp); err != nil {
				return err
			}
		}
		// A chain longer than the number of lanes has a cycle.
		for _, k := range ks {
			l, _ := lanes.Lookup(k)
			for steps := 0; l != lane.None && l != lane.Default; steps++ {
				if steps > lanes.Len() {
					return errorf(join(path, k), "parent chain has a cycle")
				}
				l = parents[l]
			}
		}
		return nil
	}
}

// services binds service key -> the lanes it is deployed in.
func (p *parser) services(services map[string][]lane.ID) binder {
	return func(v gjson.Result, path string) error {
		ks, vs, err := entries(v, path)
		if err != nil {
			return err
		}
		for i, k := range ks {
			kp := join(path, k)
			key := strings.ToLower(k)
			if err := match.CheckHost(key); err != nil {
				return errorf(kp, "service %q: %v", k, err)
			}
			if _, dup := services[key]; dup {
				return errorf(kp, "duplicate service (names are case-insensitive)")
			}
			var ls []lane.ID
			if err := p.laneList(&ls)(vs[i], kp); err != nil {
				return err
			}
			services[key] = ls
		}
		return nil
	}
}
