package bench

// Deterministic budgets: the tests of this package assert them and
// docs/performance.md lists them beside what make bench measured. Timings
// are reported, never asserted. Module bytes are memory in every Envoy
// (V8 keeps each module's compiled code per Envoy), the sidecar's in every
// pod of a mesh.
const (
	MaxGatewayBytes  = 3_800_000 // lanedye-gateway.wasm, bytes
	MaxSidecarBytes  = 2_800_000 // lanedye-sidecar.wasm, bytes
	MaxInitialPages  = 64        // initial linear memory, 64 KiB pages
	GatewayDataCalls = 1         // host calls per gateway request that return data
	SourceDataCalls  = 1         // added by source_ip conditions, only when configured
	SidecarDataCalls = 3         // per sidecar request, either direction
)
