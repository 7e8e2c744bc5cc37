package bench

import (
	"path/filepath"
	"testing"

	"github.com/lanedye/lanedye/internal/config"
	"github.com/lanedye/lanedye/internal/config/anyrole"
	"github.com/lanedye/lanedye/internal/config/gatewayconf"
	"github.com/lanedye/lanedye/internal/config/sidecarconf"
	"github.com/lanedye/lanedye/internal/propagation/proptest"
	"github.com/lanedye/lanedye/internal/request"
)

func benchConfig(tb testing.TB) *config.Config {
	tb.Helper()
	raw, err := ReadFile(Root, filepath.Join("testdata", "bench-gateway.json"))
	if err != nil {
		tb.Fatal(err)
	}
	cfg, err := anyrole.Parse(raw)
	if err != nil {
		tb.Fatal(err)
	}
	return cfg
}

func sidecarConfig(tb testing.TB) *config.Config {
	tb.Helper()
	cfg, err := anyrole.Parse([]byte(SidecarConfig))
	if err != nil {
		tb.Fatal(err)
	}
	return cfg
}

// BenchmarkDecide is the native gateway decision (seed rules + 15 more).
func BenchmarkDecide(b *testing.B) {
	cfg := benchConfig(b)
	for name, hs := range DecideCases(BenchSecret) {
		b.Run(name, func(b *testing.B) {
			var r request.Request
			st := gatewayconf.Of(cfg).Gateway.NewState()
			b.ReportAllocs()
			for b.Loop() {
				r.Reset(cfg.Index, hs)
				_ = gatewayconf.Of(cfg).Gateway.Decide(&r, BenchNow, st)
			}
		})
	}
}

// BenchmarkSidecar is the native sidecar store and restore.
func BenchmarkSidecar(b *testing.B) {
	cfg := sidecarConfig(b)
	b.Run("inbound", func(b *testing.B) {
		st := proptest.NewMemStore()
		reqs := make([][][2]string, 1024)
		for i := range reqs {
			reqs[i] = Inbound(i)
		}
		var r request.Request
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			r.Reset(cfg.Index, reqs[i%len(reqs)])
			_ = sidecarconf.Of(cfg).Sidecar.Inbound(&r, st, 1)
			i++
		}
	})
	b.Run("outbound", func(b *testing.B) {
		st := proptest.NewMemStore()
		reqs := make([][][2]string, 1024)
		var r request.Request
		for i := range reqs {
			r.Reset(cfg.Index, Inbound(i))
			sidecarconf.Of(cfg).Sidecar.Inbound(&r, st, 1)
			reqs[i] = Outbound(i)
		}
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			r.Reset(cfg.Index, reqs[i%len(reqs)])
			if !sidecarconf.Of(cfg).Sidecar.Outbound(&r, st, 2).Hit {
				b.Fatal("miss")
			}
			i++
		}
	})
}
