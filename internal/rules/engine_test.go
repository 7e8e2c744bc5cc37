package rules

import (
	"testing"

	"github.com/lanedye/lanedye/internal/lane"
	"github.com/lanedye/lanedye/internal/match"
	"github.com/lanedye/lanedye/internal/request"
)

func TestEngineOrder(t *testing.T) {
	lanes := lane.NewSet("base", []string{"a", "b"})
	anyHost, _ := match.NewHosts(nil)
	onlyH, _ := match.NewHosts([]string{"h"})
	e := NewEngine([]Rule{
		{Name: "first", Lane: 1, Priority: 1, Hosts: anyHost},
		{Name: "second", Lane: 2, Priority: 1, Hosts: anyHost},
		{Name: "high", Lane: 2, Priority: 9, Hosts: onlyH},
	}, lanes)
	for _, tc := range []struct {
		name, authority, rule string
		lane                  lane.ID
	}{
		{"ties keep array order", "x", "first", 1},
		{"higher priority first", "H:1", "high", 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var r request.Request
			r.Reset(request.NewIndex(), [][2]string{{":authority", tc.authority}})
			l, id, ok := e.Decide(&r)
			if !ok || l != tc.lane || e.Rules()[id].Name != tc.rule {
				t.Errorf("lane %d rule %d", l, id)
			}
		})
	}
}
