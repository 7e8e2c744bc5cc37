package config

import (
	"github.com/tidwall/gjson"

	"github.com/lanedye/lanedye/internal/lane"
)

// laneName binds a valid lane name.
func laneName(dst *string) binder {
	return func(v gjson.Result, path string) error {
		if err := str(dst)(v, path); err != nil {
			return err
		}
		if !lane.ValidName(*dst) {
			return errorf(path, "%s", lane.InvalidName(*dst))
		}
		return nil
	}
}

// lanes builds the lane set from default_lane and lanes.
func lanes(def string, others []string) (*lane.Set, error) {
	seen := map[string]bool{def: true}
	for i, s := range others {
		path := index("lanes", i)
		switch {
		case !lane.ValidName(s):
			return nil, errorf(path, "%s", lane.InvalidName(s))
		case s == def:
			return nil, errorf(path, "%q is the default_lane; lanes lists the other lanes", s)
		case seen[s]:
			return nil, errorf(path, "duplicate lane %q", s)
		case i+1 >= lane.MaxLanes:
			return nil, errorf(path, "at most %d lanes", lane.MaxLanes)
		}
		seen[s] = true
	}
	return lane.NewSet(def, others), nil
}

// laneRef binds a configured lane.
func (p *parser) laneRef(dst *lane.ID) binder {
	return func(v gjson.Result, path string) error {
		var s string
		if err := str(&s)(v, path); err != nil {
			return err
		}
		l, ok := p.cfg.Lanes.Lookup(s)
		if !ok {
			return errorf(path, "%q is not a configured lane (default_lane or one of lanes)", s)
		}
		*dst = l
		return nil
	}
}

// laneList binds a list of distinct configured lanes.
func (p *parser) laneList(dst *[]lane.ID) binder {
	return func(v gjson.Result, path string) error {
		items, err := array(v, path)
		if err != nil {
			return err
		}
		out := make([]lane.ID, len(items))
		seen := map[lane.ID]bool{}
		for i, it := range items {
			if err := p.laneRef(&out[i])(it, index(path, i)); err != nil {
				return err
			}
			if seen[out[i]] {
				return errorf(index(path, i), "duplicate lane %q", it.Str)
			}
			seen[out[i]] = true
		}
		*dst = out
		return nil
	}
}
