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
