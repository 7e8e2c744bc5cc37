package sidecar_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/lanedye/lanedye/internal/config"
	"github.com/lanedye/lanedye/internal/config/anyrole"
	"github.com/lanedye/lanedye/internal/config/sidecarconf"
	"github.com/lanedye/lanedye/internal/lane"
	"github.com/lanedye/lanedye/internal/propagation/proptest"
	"github.com/lanedye/lanedye/internal/request"
	"github.com/lanedye/lanedye/internal/sidecar"
)

func cfg(t *testing.T, js string) *config.Config {
	t.Helper()
	c, err := anyrole.Parse([]byte(js))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func req(c *config.Config, kv ...string) *request.Request {
	hs := [][2]string{{":authority", "svc-b"}, {":path", "/"}}
	for i := 0; i+1 < len(kv); i += 2 {
		hs = append(hs, [2]string{kv[i], kv[i+1]})
	}
	var r request.Request
	r.Reset(c.Index, hs)
	return &r
}

func TestParseDirection(t *testing.T) {
	for b, want := range map[string]sidecar.Direction{
		"\x01\x00\x00\x00\x00\x00\x00\x00": sidecar.Inbound, "\x02\x00\x00\x00\x00\x00\x00\x00": sidecar.Outbound,
		"\x00\x00\x00\x00\x00\x00\x00\x00": sidecar.Unknown, "\x01": sidecar.Unknown, "\x01\x00\x00\x00\x00\x00\x00\x01": sidecar.Unknown, "": sidecar.Unknown,
	} {
		t.Run(fmt.Sprintf("%q", b), func(t *testing.T) {
			if got := sidecar.ParseDirection([]byte(b)); got != want {
				t.Errorf("%v, want %v", got, want)
			}
		})
	}
}

func TestStoreAllIDsLookUpFirst(t *testing.T) {
	// One mapping per slot: a further id's slot is written blind (cas 0).
	c := cfg(t, `{"role":"sidecar","lanes":["gray"],"propagation":{"keys":["traceparent","x-request-id"],"slots":4096,"ways":1}}`)
	for _, strict := range []bool{false, true} {
		t.Run(fmt.Sprint("strict CAS ", strict), func(t *testing.T) { storeAllLookUpFirst(t, c, strict) })
	}
}

func storeAllLookUpFirst(t *testing.T, c *config.Config, strict bool) {
	st := &proptest.MemStore{M: map[string]proptest.MemEntry{}, Strict: strict}
	tp := "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	res := sidecarconf.Of(c).Sidecar.Inbound(req(c, "x-swimlane", "gray", "traceparent", tp, "x-request-id", "rid-1"), st, 1000)
	if res.Stored != 2 || res.Err != nil {
		t.Fatalf("strict=%v: %+v", strict, res)
	}
	if !strict && st.Gets != 1 {
		t.Errorf("Envoy semantics: %d reads for two stores, want 1", st.Gets)
	}
	// An app that forwards only x-request-id; one forwarding only traceparent,
	// with the fresh x-request-id Envoy generates for it.
	for _, kv := range [][]string{{"x-request-id", "rid-1"}, {"traceparent", tp, "x-request-id", "new-by-envoy"}} {
		res = sidecarconf.Of(c).Sidecar.Outbound(req(c, kv...), st, 2000)
		if !res.Hit || res.Lane != 1 || !res.SetLane || res.Source != lane.SourcePropagated {
			t.Errorf("strict=%v %v: %+v", strict, kv, res)
		}
	}
	if len(st.M) != 2 {
		t.Errorf("%d keys", len(st.M))
	}
}

func TestCASRetries(t *testing.T) {
	c := cfg(t, `{"role":"sidecar","lanes":["gray"],"propagation":{"keys":["x-request-id"]}}`)
	st := &proptest.MemStore{M: map[string]proptest.MemEntry{}, Conflicts: 2}
	res := sidecarconf.Of(c).Sidecar.Inbound(req(c, "x-swimlane", "gray", "x-request-id", "a"), st, 0)
	if res.Stored != 1 || res.RetriesExhausted {
		t.Errorf("two conflicts: %+v", res)
	}
	st.Conflicts = 10
	res = sidecarconf.Of(c).Sidecar.Inbound(req(c, "x-swimlane", "gray", "x-request-id", "b"), st, 0)
	if !res.RetriesExhausted {
		t.Errorf("persistent conflicts: %+v", res)
	}
	const maxCASRetries = 3 // the package's bound on CAS retries
	if st.Conflicts != 10-maxCASRetries-1 {
		t.Errorf("%d attempts, want %d", 10-st.Conflicts, maxCASRetries+1)
	}
}

type failing struct{ proptest.MemStore }

func (failing) Get(int) ([]byte, uint32, error) { return nil, 0, errors.New("host error") }

func TestStoreErrorsAreReported(t *testing.T) {
	c := cfg(t, `{"role":"sidecar","lanes":["gray"],"propagation":{}}`)
	st := &failing{}
	if res := sidecarconf.Of(c).Sidecar.Inbound(req(c, "x-swimlane", "gray", "x-request-id", "a"), st, 0); res.Err == nil {
		t.Error("inbound: no error")
	}
	if res := sidecarconf.Of(c).Sidecar.Outbound(req(c, "x-request-id", "a"), st, 0); res.Err == nil || res.SetLane {
		t.Errorf("outbound: %+v", res)
	}
}

func TestRemovedLaneIsNotPropagated(t *testing.T) {
	st := proptest.NewMemStore()
	old := cfg(t, `{"role":"sidecar","lanes":["gray","dev-a"],"propagation":{}}`)
	sidecarconf.Of(old).Sidecar.Inbound(req(old, "x-swimlane", "dev-a", "x-request-id", "a"), st, 0)
	now := cfg(t, `{"role":"sidecar","lanes":["gray"],"propagation":{}}`)
	if res := sidecarconf.Of(now).Sidecar.Outbound(req(now, "x-request-id", "a"), st, 1); res.SetLane || !res.Miss {
		t.Errorf("rolled-back lane propagated: %+v", res)
	}
}

// With several ways per slot, ids colliding in one slot all keep their lane.
func TestWaysKeepCollidingIDs(t *testing.T) {
	c := cfg(t, `{"role":"sidecar","lanes":["gray","dev-a"],"propagation":{"keys":["header:x-corr"],"slots":1,"ways":4}}`)
	st := &proptest.MemStore{M: map[string]proptest.MemEntry{}, Strict: true}
	lanes := []string{"gray", "dev-a", "base", "gray"}
	for i, l := range lanes {
		res := sidecarconf.Of(c).Sidecar.Inbound(req(c, "x-swimlane", l, "x-corr", fmt.Sprint("id-", i)), st, 0)
		if res.Overwritten || res.Stored != 1 {
			t.Fatalf("store %d: %+v", i, res)
		}
	}
	for i, l := range lanes {
		res := sidecarconf.Of(c).Sidecar.Outbound(req(c, "x-corr", fmt.Sprint("id-", i)), st, 1)
		if !res.Hit || c.Lanes.Name(res.Lane) != l {
			t.Errorf("id-%d: %+v, want %s", i, res, l)
		}
	}
	if res := sidecarconf.Of(c).Sidecar.Inbound(req(c, "x-swimlane", "gray", "x-corr", "id-4"), st, 0); !res.Overwritten {
		t.Errorf("fifth id: %+v", res)
	}
}

// Two ids of one request in the same slot (one slot: every id collides) both
// keep their mapping when the slot has room for them.
func TestIDsSharingASlotAreAllStored(t *testing.T) {
	tp := "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	for _, tc := range []struct {
		ways     int
		wantHits []bool // lookups by traceparent, by x-request-id
	}{
		{ways: 4, wantHits: []bool{true, true}},
		{ways: 1, wantHits: []bool{false, true}}, // one mapping per slot: the last id wins
	} {
		t.Run(fmt.Sprintf("ways %d", tc.ways), func(t *testing.T) {
			c := cfg(t, fmt.Sprintf(`{"role":"sidecar","lanes":["gray"],"propagation":{"keys":["traceparent","x-request-id"],"slots":1,"ways":%d}}`, tc.ways))
			st := proptest.NewMemStore()
			res := sidecarconf.Of(c).Sidecar.Inbound(req(c, "x-swimlane", "gray", "traceparent", tp, "x-request-id", "rid-1"), st, 1000)
			if res.Stored != 2 || res.Err != nil {
				t.Fatalf("%+v", res)
			}
			for i, kv := range [][]string{{"traceparent", tp}, {"x-request-id", "rid-1"}} {
				if res := sidecarconf.Of(c).Sidecar.Outbound(req(c, kv...), st, 2000); res.Hit != tc.wantHits[i] {
					t.Errorf("lookup by %s: hit %v, want %v", kv[0], res.Hit, tc.wantHits[i])
				}
			}
		})
	}
}
