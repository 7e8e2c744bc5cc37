package sidecar_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/lanedye/lanedye/internal/config"
	"github.com/lanedye/lanedye/internal/config/anyrole"
	"github.com/lanedye/lanedye/internal/config/sidecarconf"
	"github.com/lanedye/lanedye/internal/lane"
	"github.com/lanedye/lanedye/internal/propagation"
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

// Every write tried again after a CAS conflict is counted; a store given up
// after maxCASRetries retries is counted as such, and its ids as stored
// (docs/contract.md#propagation: once their slot's write is done or given
// up).
func TestCASRetries(t *testing.T) {
	const maxCASRetries = 3 // the package's bound on CAS retries
	tp := "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	for _, tc := range []struct {
		name      string
		conflicts int
		kv        []string // correlation headers
		want      sidecar.Stats
		attempts  int // Sets tried
	}{
		{"no conflict", 0, []string{"x-request-id", "a"}, sidecar.Stats{Stored: 1}, 1},
		{"one conflict", 1, []string{"x-request-id", "a"}, sidecar.Stats{Stored: 1, CASRetries: 1}, 2},
		{"two conflicts", 2, []string{"x-request-id", "a"}, sidecar.Stats{Stored: 1, CASRetries: 2}, 3},
		{"the last retry succeeds", maxCASRetries, []string{"x-request-id", "a"},
			sidecar.Stats{Stored: 1, CASRetries: maxCASRetries}, maxCASRetries + 1},
		{"retries exhausted", maxCASRetries + 1, []string{"x-request-id", "a"},
			sidecar.Stats{Stored: 1, CASRetries: maxCASRetries, RetriesExhausted: true}, maxCASRetries + 1},
		{"persistent conflicts stop at the bound", 10, []string{"x-request-id", "a"},
			sidecar.Stats{Stored: 1, CASRetries: maxCASRetries, RetriesExhausted: true}, maxCASRetries + 1},
		// Two ids in two slots: the conflicts hit the first slot's store,
		// the second's goes through; retries add up over a request's slots.
		{"retries of a request's slots add up", 2, []string{"traceparent", tp, "x-request-id", "a"},
			sidecar.Stats{Stored: 2, CASRetries: 2}, 4},
		{"one slot given up, the other written", 5, []string{"traceparent", tp, "x-request-id", "a"},
			sidecar.Stats{Stored: 2, CASRetries: maxCASRetries + 1, RetriesExhausted: true}, 6},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := cfg(t, `{"role":"sidecar","lanes":["gray"],"propagation":{"keys":["traceparent","x-request-id"],"slots":4096}}`)
			st := &proptest.MemStore{M: map[string]proptest.MemEntry{}, Conflicts: tc.conflicts}
			res := sidecarconf.Of(c).Sidecar.Inbound(req(c, append([]string{"x-swimlane", "gray"}, tc.kv...)...), st, 0)
			if res.Err != nil || res.Stats != tc.want {
				t.Errorf("%+v (err %v), want %+v", res.Stats, res.Err, tc.want)
			}
			// Sets tried: the conflicts used, and one per successful write.
			if got := tc.conflicts - st.Conflicts + len(st.M); got != tc.attempts {
				t.Errorf("%d writes tried, want %d", got, tc.attempts)
			}
		})
	}
}

// racing is a store where another worker writes the slot between this
// worker's read and its first write.
type racing struct {
	propagation.Store
	other func()
}

func (r *racing) Set(slot int, v []byte, cas uint32) error {
	if f := r.other; f != nil {
		r.other = nil
		f()
	}
	return r.Store.Set(slot, v, cas)
}

// creationRefused is a host that takes no token for a key it does not have.
type creationRefused struct{ *proptest.MemStore }

func (s creationRefused) Set(slot int, v []byte, cas uint32) error {
	if _, ok := s.M[propagation.SlotKey(slot)]; !ok && cas != 0 {
		return propagation.ErrCasMismatch
	}
	return s.MemStore.Set(slot, v, cas)
}

// Two workers storing into one slot at once both keep their mapping: the
// one that writes second finds a CAS conflict, re-reads and merges. That
// holds for a slot that exists and for one neither has created yet (a write
// of a slot found missing must not replace a slot another worker created
// since), on a host that creates a missing key whatever the token (Envoy),
// and on one that refuses a token for a missing key.
func TestConcurrentStoresKeepBothMappings(t *testing.T) {
	c := cfg(t, `{"role":"sidecar","lanes":["gray","blue"],"propagation":{"keys":["x-request-id"],"slots":1,"ways":4}}`)
	sc := sidecarconf.Of(c).Sidecar
	for _, tc := range []struct {
		name     string
		existing bool // the slot holds a mapping before both stores
		store    func() propagation.Store
		// CAS retries of the worker that writes first and of the one that
		// writes second.
		retries [2]int
	}{
		{"new slot", false, func() propagation.Store { return proptest.NewMemStore() }, [2]int{0, 1}},
		{"existing slot", true, func() propagation.Store { return proptest.NewMemStore() }, [2]int{0, 1}},
		{"new slot, strict tokens", false, func() propagation.Store { return &proptest.MemStore{M: map[string]proptest.MemEntry{}, Strict: true} }, [2]int{0, 1}},
		// The first writer's token for the missing slot is refused: it
		// writes without one.
		{"new slot, a host refusing tokens for missing keys", false, func() propagation.Store { return creationRefused{proptest.NewMemStore()} }, [2]int{1, 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := tc.store()
			if tc.existing {
				sc.Inbound(req(c, "x-swimlane", "gray", "x-request-id", "z"), st, 0)
			}
			var other sidecar.Result
			r := &racing{Store: st, other: func() { other = sc.Inbound(req(c, "x-swimlane", "blue", "x-request-id", "b"), st, 0) }}
			res := sc.Inbound(req(c, "x-swimlane", "gray", "x-request-id", "a"), r, 0)
			if res.Err != nil || other.Err != nil || res.Stored != 1 || other.Stored != 1 {
				t.Fatalf("stores: %+v, %+v", res, other)
			}
			if got := [2]int{other.CASRetries, res.CASRetries}; got != tc.retries {
				t.Errorf("CAS retries %v (first writer, second), want %v", got, tc.retries)
			}
			for id, want := range map[string]string{"a": "gray", "b": "blue"} {
				if out := sc.Outbound(req(c, "x-request-id", id), st, 1); !out.Hit || c.Lanes.Name(out.Lane) != want {
					t.Errorf("id %s: %+v, want %s", id, out, want)
				}
			}
		})
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

// A sidecar that reuses its Request restores a lane, baggage member
// included, without allocating: in Envoy, Go's collector would otherwise
// run inside the request path.
func TestOutboundAllocatesNothing(t *testing.T) {
	c := cfg(t, `{"role":"sidecar","lanes":["gray"],"baggage":"lane","propagation":{"keys":["x-request-id"]}}`)
	st := &slotStore{m: map[int][]byte{}}
	sc := sidecarconf.Of(c).Sidecar
	if res := sc.Inbound(req(c, "x-swimlane", "gray", "x-request-id", "rid-1"), st, 1000); res.Stored != 1 {
		t.Fatalf("inbound: %+v", res)
	}
	hs := [][2]string{{":authority", "svc-b"}, {":path", "/"}, {"x-request-id", "rid-1"}, {"baggage", "userId=alice"}}
	var r request.Request
	var res sidecar.Result
	if n := testing.AllocsPerRun(100, func() {
		r.Reset(c.Index, hs)
		res = sc.Outbound(&r, st, 2000)
	}); n != 0 {
		t.Errorf("%.1f allocations per outbound request", n)
	}
	if !res.Hit || string(res.Baggage) != "userId=alice,lane=gray" {
		t.Errorf("%+v baggage %q", res, res.Baggage)
	}
}

// Storing a lane allocates nothing either: the sidecar module leaves Go's
// collector at its default, as nothing a request does makes garbage.
func TestInboundAllocatesNothing(t *testing.T) {
	c := cfg(t, `{"role":"sidecar","lanes":["gray"],"baggage":"lane","propagation":{"keys":["traceparent","x-request-id"],"ways":4}}`)
	st := &slotStore{m: map[int][]byte{}, scratch: make([]byte, 0, 512)}
	sc := sidecarconf.Of(c).Sidecar
	hs := [][2]string{{":authority", "svc-b"}, {":path", "/"}, {"x-swimlane", "gray"},
		{"traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"},
		{"x-request-id", "9d5a4a6c-1b2f-4c3d-8e9f-0a1b2c3d4e5f"}}
	var r request.Request
	var res sidecar.Result
	if n := testing.AllocsPerRun(100, func() {
		r.Reset(c.Index, hs)
		res = sc.Inbound(&r, st, 1000)
	}); n != 0 {
		t.Errorf("%.1f allocations per inbound request", n)
	}
	if res.Stored != 2 || res.Err != nil {
		t.Errorf("%+v", res)
	}
}

// slotStore is a Store that allocates nothing to read, as the plugin's
// (its keys are built in a reused buffer; MemStore's are strings).
type slotStore struct {
	m       map[int][]byte
	scratch []byte
}

func (s *slotStore) Get(slot int) ([]byte, uint32, error) {
	v, ok := s.m[slot]
	if !ok {
		return nil, 0, propagation.ErrNotFound
	}
	return v, 1, nil
}

func (s *slotStore) Set(slot int, v []byte, _ uint32) error {
	s.m[slot] = append(s.m[slot][:0], v...)
	return nil
}

func (s *slotStore) Scratch() []byte { return s.scratch[:0] }
