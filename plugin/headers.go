package plugin

import "github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"

// SetRequestHeader sets name to exactly one value; count is how often the
// request carries it now. Replace rewrites the first occurrence only, so a
// header the client sent twice is removed first.
func SetRequestHeader(name, value string, count int) error {
	if count > 1 {
		if err := RemoveRequestHeader(name); err != nil {
			return err
		}
		return proxywasm.AddHttpRequestHeader(name, value)
	}
	return proxywasm.ReplaceHttpRequestHeader(name, value)
}

// SetRequestHeaderBytes is SetRequestHeader with a value in a buffer the
// module reuses: the host copies it during the call.
func SetRequestHeaderBytes(name string, value []byte, count int) error {
	return SetRequestHeader(name, hostString(value), count)
}

// RemoveRequestHeader removes every occurrence of name, as Envoy's remove
// does in one call. (The SDK's emulator drops one occurrence per call; the
// tests that send a header twice run in bench/wasmhost and in Envoy.)
func RemoveRequestHeader(name string) error { return proxywasm.RemoveHttpRequestHeader(name) }
