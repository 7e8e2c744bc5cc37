package config

import (
	"github.com/lanedye/lanedye/internal/config/bind"
	"github.com/lanedye/lanedye/internal/gjson"
	"github.com/lanedye/lanedye/internal/lane"
)

// laneName binds a valid lane name.
func laneName(dst *string) bind.Binder {
	return func(v gjson.Result, path string) error {
		if err := bind.Str(dst)(v, path); err != nil {
			return err
		}
		if !lane.ValidName(*dst) {
			return bind.Err(path, lane.InvalidName(*dst))
		}
		return nil
	}
}

// lanes builds the lane set from default_lane and lanes.
func lanes(def string, others []string) (*lane.Set, error) {
	seen := map[string]bool{def: true}
	for i, s := range others {
		path := bind.Index("lanes", i)
		switch {
		case !lane.ValidName(s):
			return nil, bind.Err(path, lane.InvalidName(s))
		case s == def:
			return nil, bind.Err(path, bind.Q(s)+" is the default_lane; lanes lists the other lanes")
		case seen[s]:
			return nil, bind.Err(path, "duplicate lane "+bind.Q(s))
		case i+1 >= lane.MaxLanes:
			return nil, bind.Err(path, "at most "+bind.Itoa(lane.MaxLanes)+" lanes")
		}
		seen[s] = true
	}
	return lane.NewSet(def, others), nil
}

// LaneRef binds a configured lane.
func (c *Config) LaneRef(dst *lane.ID) bind.Binder {
	return func(v gjson.Result, path string) error {
		var s string
		if err := bind.Str(&s)(v, path); err != nil {
			return err
		}
		l, ok := c.Lanes.Lookup(s)
		if !ok {
			return bind.Err(path, bind.Q(s)+" is not a configured lane (default_lane or one of lanes)")
		}
		*dst = l
		return nil
	}
}

// LaneList binds a list of distinct configured lanes.
func (c *Config) LaneList(dst *[]lane.ID) bind.Binder {
	return func(v gjson.Result, path string) error {
		items, err := bind.Array(v, path)
		if err != nil {
			return err
		}
		out := make([]lane.ID, len(items))
		seen := map[lane.ID]bool{}
		for i, it := range items {
			if err := c.LaneRef(&out[i])(it, bind.Index(path, i)); err != nil {
				return err
			}
			if seen[out[i]] {
				return bind.Err(bind.Index(path, i), "duplicate lane "+bind.Q(it.Str))
			}
			seen[out[i]] = true
		}
		*dst = out
		return nil
	}
}
