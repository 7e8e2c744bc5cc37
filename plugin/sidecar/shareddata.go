package main

import (
	"errors"
	"unsafe"

	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"

	"github.com/lanedye/lanedye/internal/propagation"
	"github.com/lanedye/lanedye/plugin"
)

// sharedData is Envoy shared data behind propagation.Store, one per plugin
// context: its buffers make a slot's key and value without allocating
// (Envoy copies both).
type sharedData struct {
	key, scratch []byte
}

// keyOf returns a slot's key, valid until the next keyOf.
func (d *sharedData) keyOf(slot int) string {
	d.key = propagation.AppendSlotKey(d.key[:0], slot)
	return unsafe.String(unsafe.SliceData(d.key), len(d.key))
}

func (d *sharedData) Get(slot int) ([]byte, uint32, error) {
	v, cas, err := plugin.GetSharedData(d.keyOf(slot))
	if errors.Is(err, types.ErrorStatusNotFound) {
		return nil, 0, propagation.ErrNotFound
	}
	return v, cas, err
}

func (d *sharedData) Set(slot int, value []byte, cas uint32) error {
	err := proxywasm.SetSharedData(d.keyOf(slot), value, cas)
	if cap(value) > cap(d.scratch) {
		d.scratch = value[:0] // a value outgrew the buffer: keep the larger one
	}
	if errors.Is(err, types.ErrorStatusCasMismatch) {
		return propagation.ErrCasMismatch
	}
	return err
}

func (d *sharedData) Scratch() []byte {
	if d.scratch == nil {
		d.scratch = make([]byte, 0, 512)
	}
	return d.scratch
}
