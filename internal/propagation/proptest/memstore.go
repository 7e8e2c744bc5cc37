// Package proptest has test helpers for code that uses propagation.Store.
// Production code does not import it.
package proptest

import "github.com/lanedye/lanedye/internal/propagation"

// MemStore is an in-memory Store with Envoy's semantics (CAS tokens from 1,
// cas 0 writes unconditionally), for tests and benchmarks. Strict makes an
// existing key require its current token, as the SDK's emulator does;
// Conflicts makes that many next Sets fail with propagation.ErrCasMismatch, as a writer
// on another worker would. Not safe for concurrent use.
type MemStore struct {
	M         map[string]MemEntry // by key (propagation.SlotKey)
	Strict    bool
	Conflicts int
	Gets      int
	scratch   []byte
}

// MemEntry is one MemStore value.
type MemEntry struct {
	Value []byte
	CAS   uint32
}

// NewMemStore returns an empty MemStore.
func NewMemStore() *MemStore { return &MemStore{M: map[string]MemEntry{}} }

// Get implements propagation.Store.
func (s *MemStore) Get(slot int) ([]byte, uint32, error) {
	s.Gets++
	e, ok := s.M[propagation.SlotKey(slot)]
	if !ok {
		return nil, 0, propagation.ErrNotFound
	}
	return e.Value, e.CAS, nil
}

// Set implements propagation.Store.
func (s *MemStore) Set(slot int, v []byte, cas uint32) error {
	k := propagation.SlotKey(slot)
	e, ok := s.M[k]
	if s.Conflicts > 0 {
		s.Conflicts--
		return propagation.ErrCasMismatch
	}
	if ok && (cas != 0 || s.Strict) && cas != e.CAS {
		return propagation.ErrCasMismatch
	}
	s.M[k] = MemEntry{Value: append([]byte(nil), v...), CAS: e.CAS + 1}
	return nil
}

// Scratch implements propagation.Store.
func (s *MemStore) Scratch() []byte { return s.scratch }
