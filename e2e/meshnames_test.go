package e2e

import (
	"testing"

	"github.com/lanedye/lanedye/e2e/envoy"
	"github.com/lanedye/lanedye/e2e/mesh"
)

// pollCounters is mesh.PollCounters for a test: an admin read that fails
// ends it.
func pollCounters(t *testing.T, p *envoy.Process, want map[string]uint64) (map[string]uint64, []string) {
	t.Helper()
	got, diff, err := mesh.PollCounters(p, want)
	if err != nil {
		t.Fatal(err)
	}
	return got, diff
}

// Names the tests share with the model in e2e/mesh.
var counterDiff = mesh.CounterDiff

const defaultLane = mesh.DefaultLane
