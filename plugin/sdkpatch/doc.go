// Package sdkpatch holds the one change lanedye's modules make to
// proxy-wasm-go-sdk, and the check that it stays that change.
//
// The SDK's proxywasm package imports fmt for its Log*f helpers and the
// panics of its metric helpers. lanedye calls neither (plugin/ makes those
// calls through the ABI), but importing fmt imports os, and os's package
// initialisation links os, io/fs, internal/poll and much of the runtime's
// finalizer support into a module and runs at every VM's start, where it
// takes a fresh chunk of linear memory for its finalizers. Go's wasm
// allocator then writes zeroes over the gap up to the next heap arena
// boundary, so every VM whose heap outgrows its first arena keeps that gap
// resident. Envoy keeps every byte of a module compiled, and every VM's
// memory, for good.
//
// The module builds (make build, make poison, make size) compile the SDK
// with testdata/hostcall.go in place of its proxywasm/hostcall.go, through
// go build -overlay: that file is the pinned upstream file with
// hostcall.patch applied, which drops the fmt import, the Log*f helpers
// and the formatting of the metric helpers' panics. Native builds and
// tests use the SDK as it is. TestUpstreamPlusPatch holds the file to
// exactly that; to move to a new SDK version, bump go.mod, copy the new
// proxywasm/hostcall.go to testdata/, apply hostcall.patch again and
// regenerate it.
package sdkpatch
