package main

import (
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"
)

// setRequestHeader sets name to exactly one value; count is how often the
// request carries it now. Replace only rewrites the first occurrence, so a
// header the client sent twice is removed first.
func setRequestHeader(name, value string, count int) error {
	if count > 1 {
		if err := removeRequestHeader(name, count); err != nil {
			return err
		}
		return proxywasm.AddHttpRequestHeader(name, value)
	}
	return proxywasm.ReplaceHttpRequestHeader(name, value)
}

// removeRequestHeader removes every occurrence of name. Envoy's remove drops
// them all at once (the extra calls are no-ops there); some hosts, the SDK's
// emulator among them, drop one per call.
func removeRequestHeader(name string, count int) error {
	for range count {
		if err := proxywasm.RemoveHttpRequestHeader(name); err != nil {
			return err
		}
	}
	return nil
}
