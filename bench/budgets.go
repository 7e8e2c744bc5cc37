package bench

// Deterministic budgets: the tests of this package assert them and
// docs/performance.md lists them beside what make bench measured. Timings
// are reported, never asserted.
const (
	MaxWasmBytes     = 5 << 20 // module size, bytes
	MaxInitialPages  = 64      // initial linear memory, 64 KiB pages
	GatewayDataCalls = 1       // host calls per gateway request that return data
	SourceDataCalls  = 1       // added by source_ip conditions, only when configured
	SidecarDataCalls = 3       // per sidecar request, either direction
)
