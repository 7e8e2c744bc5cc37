//go:build !wasip1

package main

import "github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"

// headerReader reads the request headers natively (the SDK's emulator)
// through the SDK; the module calls the ABI itself (requestheaders_wasip1.go).
type headerReader struct{}

// read returns the request headers.
func (headerReader) read() ([][2]string, error) {
	return proxywasm.GetHttpRequestHeaders()
}
