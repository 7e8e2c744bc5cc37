//go:build wasip1

package plugin

import (
	"unsafe"

	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"

	"github.com/lanedye/lanedye/internal/request"
)

// The Proxy-Wasm ABI calls the module makes itself rather than through the
// SDK: the SDK's metric helpers panic with fmt-formatted messages, which
// alone would link fmt's formatting into the module, and its header-map
// read allocates per request.

//go:wasmimport env proxy_define_metric
func proxyDefineMetric(metricType int32, name *byte, nameSize int32, returnID *uint32) int32

//go:wasmimport env proxy_increment_metric
func proxyIncrementMetric(id uint32, offset int64) int32

const metricTypeCounter = 0

// hostString passes a buffer's bytes to a host call without a copy: the
// host copies them before the call returns.
func hostString(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

// metricID is a counter's id in Envoy; a counter Envoy refused to define
// is never incremented.
type metricID struct {
	id uint32
	ok bool
}

func defineCounter(name string) metricID {
	var id uint32
	st := proxyDefineMetric(metricTypeCounter, unsafe.StringData(name), int32(len(name)), &id)
	return metricID{id: id, ok: st == 0}
}

func incrementCounter(m metricID, n uint64) bool {
	return m.ok && proxyIncrementMetric(m.id, int64(n)) == 0
}

// proxyGetHeaderMapPairs is the ABI call behind the SDK's
// GetHttpRequestHeaders; proxyGetSharedData and proxyGetProperty are behind
// its GetSharedData and GetProperty. The module calls them itself so that
// what they return lands in buffers reused from request to request: in
// Envoy, Go's collector runs inside the request path, and the linear memory
// a VM's heap grows into is resident in every Envoy for good.
//
//go:wasmimport env proxy_get_header_map_pairs
func proxyGetHeaderMapPairs(mapType int32, data unsafe.Pointer, size *int32) int32

//go:wasmimport env proxy_get_shared_data
func proxyGetSharedData(key *byte, keySize int32, data unsafe.Pointer, size *int32, cas *uint32) int32

//go:wasmimport env proxy_get_property
func proxyGetProperty(path *byte, pathSize int32, data unsafe.Pointer, size *int32) int32

const (
	mapRequestHeaders = 0
	statusNotFound    = 1
)

// hostBuffers are where Envoy copies what those calls return: the host asks
// the module for the memory (malloc, below) in the middle of the host call,
// and an export has no receiver, so the buffers are the VM's, not a plugin
// context's. That is safe because a VM runs one callback at a time, a buffer
// is handed out only during its call, and what a call returns is read
// before the next call of its kind and never beyond the callback: nothing
// keeps a header string past it (the sticky cookie cache keeps copies).
var hostBuffers struct {
	armed                     *[]byte // the next malloc's buffer; nil: allocate
	headers, shared, property []byte
	// The calls' out-parameters: pointers handed to an import escape, so
	// locals would be heap-allocated per call.
	data *byte
	size int32
	cas  uint32
}

// malloc is the allocator Envoy calls for every buffer it passes to the
// module; proxy-wasm-cpp-host prefers an export of this name to the SDK's
// proxy_on_memory_allocate. Outside the reads below it allocates as the SDK
// does.
//
//go:wasmexport malloc
func malloc(size uint32) *byte {
	if size == 0 {
		return nil
	}
	b := hostBuffers.armed
	if b == nil {
		a := make([]byte, size)
		return &a[0]
	}
	hostBuffers.armed = nil
	if int(size) > cap(*b) {
		*b = make([]byte, (int(size)+4095)&^4095)
	}
	return &(*b)[0]
}

// readInto makes one host call that returns data into buf. A host that
// allocated elsewhere (proxy_on_memory_allocate, as the SDK's emulator
// does) has its data copied in, so that what a call returns lives in the
// reused buffer on every host, and the poisoning build (poison.go) tests
// the same aliasing everywhere.
func readInto(buf *[]byte, call func(data unsafe.Pointer, size *int32) int32) ([]byte, int32) {
	h := &hostBuffers
	h.data, h.size = nil, 0
	h.armed = buf
	st := call(unsafe.Pointer(&h.data), &h.size)
	h.armed = nil
	if st != 0 || h.data == nil {
		return nil, st
	}
	if cap(*buf) == 0 || h.data != unsafe.SliceData(*buf) {
		if int(h.size) > cap(*buf) {
			*buf = make([]byte, (int(h.size)+4095)&^4095)
		}
		copy((*buf)[:cap(*buf)], unsafe.Slice(h.data, h.size))
		h.data = unsafe.SliceData(*buf)
	}
	return unsafe.Slice(h.data, h.size), 0
}

// headerReader keeps, per plugin context, the list the pairs are decoded
// into, so that reading the headers allocates nothing once warm.
type headerReader struct {
	pairs [][2]string
}

// errHeaders is a failed header-map read; the status is counted, not told.
var errHeaders = hostError("proxy_get_header_map_pairs failed")

// read returns the request headers, valid until the callback returns.
func (r *headerReader) read() ([][2]string, error) {
	raw, st := readInto(&hostBuffers.headers, func(data unsafe.Pointer, size *int32) int32 {
		return proxyGetHeaderMapPairs(mapRequestHeaders, data, size)
	})
	if st != 0 || raw == nil {
		return nil, errHeaders
	}
	pairs, ok := request.DecodePairs(r.pairs, raw)
	if !ok {
		return nil, errHeaders
	}
	r.pairs = pairs
	return pairs, nil
}

// GetSharedData reads a key of the VM's shared data. The value is valid
// until the next GetSharedData and never beyond the callback.
func GetSharedData(key string) ([]byte, uint32, error) {
	h := &hostBuffers
	h.cas = 0
	v, st := readInto(&h.shared, func(data unsafe.Pointer, size *int32) int32 {
		return proxyGetSharedData(unsafe.StringData(key), int32(len(key)), data, size, &h.cas)
	})
	switch {
	case st == statusNotFound:
		return nil, 0, types.ErrorStatusNotFound
	case st != 0:
		return nil, 0, hostError("proxy_get_shared_data failed")
	}
	return v, h.cas, nil
}

// Property reads a property. The value is valid until the next Property
// and never beyond the callback.
func Property(path PropertyPath) ([]byte, error) {
	v, st := readInto(&hostBuffers.property, func(data unsafe.Pointer, size *int32) int32 {
		return proxyGetProperty(&path[0], int32(len(path)), data, size)
	})
	switch {
	case st == statusNotFound:
		return nil, types.ErrorStatusNotFound
	case st != 0 || v == nil:
		return nil, hostError("proxy_get_property failed")
	}
	return v, nil
}

// hostError is an error of a host call.
type hostError string

func (e hostError) Error() string { return string(e) }
