package main

import (
	"context"
	"testing"

	"github.com/lanedye/lanedye/plugin/plugintest"
)

// Instances are separate VMs: shared data does not leak between them, and
// one instance's inbound and outbound streams share it.
func TestInstancesAreSeparate(t *testing.T) {
	m := mod.Hosted(t)
	cfg := []byte(`{"role":"sidecar","lanes":["gray"],"propagation":{"keys":["x-request-id"]}}`)
	a, err := m.NewInstance(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	b, err := m.NewInstance(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	defer b.Close()
	plugintest.Run(t, a, plugintest.Direction(1), [][2]string{{":authority", "a"}, {":path", "/"}, {"x-swimlane", "gray"}, {"x-request-id", "r1"}}, nil)
	out := [][2]string{{":authority", "b"}, {":path", "/"}, {"x-request-id", "r1"}}
	if got := get(plugintest.Run(t, a, plugintest.Direction(2), append([][2]string(nil), out...), nil).Req, "x-swimlane"); len(got) != 1 {
		t.Errorf("same instance: lane %q", got)
	}
	if got := get(plugintest.Run(t, b, plugintest.Direction(2), append([][2]string(nil), out...), nil).Req, "x-swimlane"); len(got) != 0 {
		t.Errorf("other instance: lane %q", got)
	}
	if a.SharedKeys() != 1 || b.SharedKeys() != 0 {
		t.Errorf("shared keys %d %d", a.SharedKeys(), b.SharedKeys())
	}
}

// Headers an application sends twice leave the sidecar once: a route
// header it forwarded, and several baggage headers, written as one list.
// The SDK's emulator removes one occurrence per call, Envoy every one, so
// these run in bench/wasmhost.
func TestHeadersSentTwice(t *testing.T) {
	const tp = "00-11111111111111111111111111111111-2222222222222222-01"
	in, err := mod.Hosted(t).NewInstance(context.Background(), []byte(`{"role":"sidecar","lanes":["gray"],"baggage":"lane",
	  "propagation":{"keys":["traceparent"]}}`))
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	plugintest.Run(t, in, plugintest.Direction(1), plugintest.Req("svc-a", "/", "x-swimlane", "gray", "traceparent", tp), nil)
	s := plugintest.Run(t, in, plugintest.Direction(2),
		plugintest.Req("svc-b", "/", "traceparent", tp, "baggage", "a=1", "baggage", "lane=x,b=2", "x-lane-route", "gray", "x-lane-route", "gray"), nil)
	if got := get(s.Req, "baggage"); len(got) != 1 || got[0] != "a=1,lane=gray,b=2" {
		t.Errorf("baggage %q", got)
	}
	if got := get(s.Req, "x-lane-route"); len(got) != 0 {
		t.Errorf("forwarded route headers %q, want none (no fallback section)", got)
	}
}

// The module counts every write it tries again after a CAS conflict in
// lanedye.propagation.cas_retries, and a store it gives up in
// retries_exhausted (its id still counts as stored: done or given up).
// Conflicts come from the host on demand, as from a writer on another
// worker.
func TestCASRetriesCounted(t *testing.T) {
	for _, tc := range []struct {
		name                       string
		conflicts                  int
		stored, retries, exhausted uint64
		restored                   bool
	}{
		{"no conflict", 0, 1, 0, 0, true},
		{"two conflicts", 2, 1, 2, 0, true},
		{"retries exhausted", 10, 1, 3, 1, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in, err := mod.Hosted(t).NewInstance(context.Background(),
				[]byte(`{"role":"sidecar","lanes":["gray"],"propagation":{"keys":["x-request-id"]}}`))
			if err != nil {
				t.Fatal(err)
			}
			defer in.Close()
			in.CASConflicts = tc.conflicts
			plugintest.Run(t, in, plugintest.Direction(1), plugintest.Req("svc-a", "/", "x-swimlane", "gray", "x-request-id", "r1"), nil)
			in.CASConflicts = 0
			out := plugintest.Run(t, in, plugintest.Direction(2), plugintest.Req("svc-b", "/", "x-request-id", "r1"), nil)
			if got := len(get(out.Req, "x-swimlane")) == 1; got != tc.restored {
				t.Errorf("lane restored %v, want %v", got, tc.restored)
			}
			for name, want := range map[string]uint64{"lanedye.propagation.stored": tc.stored,
				"lanedye.propagation.cas_retries": tc.retries, "lanedye.propagation.retries_exhausted": tc.exhausted} {
				if got := plugintest.HostCounter(t, in, name); got != want {
					t.Errorf("%s = %d, want %d", name, got, want)
				}
			}
		})
	}
}
