package perf

import (
	"path/filepath"
	"testing"

	"github.com/lanedye/lanedye/internal/config"
)

// BenchmarkDecide is the native gateway decision (seed rules + 15 more).
func BenchmarkDecide(b *testing.B) {
	raw, err := ReadFile(Root, filepath.Join("testdata", "bench-gateway.json"))
	if err != nil {
		b.Fatal(err)
	}
	cfg, err := config.Parse(raw)
	if err != nil {
		b.Fatal(err)
	}
	for name, hs := range DecideBenchmarks(cfg) {
		b.Run(name, Decide(cfg, hs))
	}
}

// BenchmarkSidecar is the native sidecar store and restore.
func BenchmarkSidecar(b *testing.B) {
	cfg, err := config.Parse([]byte(SidecarConfig))
	if err != nil {
		b.Fatal(err)
	}
	b.Run("inbound", SidecarInbound(cfg))
	b.Run("outbound", SidecarOutbound(cfg))
}
