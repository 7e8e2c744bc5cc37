//go:build wasip1

package main

import (
	"fmt"
	"unsafe"

	"github.com/lanedye/lanedye/internal/request"
)

// proxyGetHeaderMapPairs is the ABI call behind the SDK's
// GetHttpRequestHeaders, called directly so that the pairs land in a
// buffer and a list that are reused from request to request. In Envoy, Go's
// collector runs inside the request path, and its cost grows with the bytes
// allocated per request; the header map is most of them.
//
//go:wasmimport env proxy_get_header_map_pairs
func proxyGetHeaderMapPairs(mapType int32, data unsafe.Pointer, size *int32) int32

const mapRequestHeaders = 0

// headerBuffer is where Envoy copies the request headers: the host asks the
// module for the memory (malloc, below) in the middle of the host call, and
// an export has no receiver, so the buffer is the VM's, not a plugin
// context's. That is safe because a VM runs one callback at a time, the
// buffer is handed out only during headerReader.read, and what it
// returns is read only until the callback ends: nothing keeps a header
// string beyond it (the sticky cookie cache keeps copies).
var headerBuffer struct {
	armed bool // the next malloc is the header map's
	buf   []byte
}

// malloc is the allocator Envoy calls for every buffer it passes to the
// module; proxy-wasm-cpp-host prefers an export of this name to the SDK's
// proxy_on_memory_allocate. Outside headerReader.read it allocates as the SDK
// does.
//
//go:wasmexport malloc
func malloc(size uint32) *byte {
	if size == 0 {
		return nil
	}
	if !headerBuffer.armed {
		b := make([]byte, size)
		return &b[0]
	}
	headerBuffer.armed = false
	if int(size) > cap(headerBuffer.buf) {
		headerBuffer.buf = make([]byte, (int(size)+4095)&^4095)
	}
	return &headerBuffer.buf[0]
}

// headerReader keeps, per plugin context, the list the pairs are decoded
// into and the out-parameters of the host call, so that reading the headers
// allocates nothing once warm.
type headerReader struct {
	pairs [][2]string
	data  *byte
	size  int32
}

// read returns the request headers, valid until the callback returns.
func (r *headerReader) read() ([][2]string, error) {
	r.data, r.size = nil, 0
	headerBuffer.armed = true
	st := proxyGetHeaderMapPairs(mapRequestHeaders, unsafe.Pointer(&r.data), &r.size)
	headerBuffer.armed = false
	if st != 0 {
		return nil, fmt.Errorf("proxy_get_header_map_pairs: status %d", st)
	}
	if r.data == nil {
		return nil, fmt.Errorf("proxy_get_header_map_pairs: no data")
	}
	pairs, ok := request.DecodePairs(r.pairs, unsafe.Slice(r.data, r.size))
	if !ok {
		return nil, fmt.Errorf("proxy_get_header_map_pairs: malformed map of %d bytes", r.size)
	}
	r.pairs = pairs
	return pairs, nil
}
