package perf

import (
	"net/netip"
	"testing"

	"github.com/lanedye/lanedye/internal/config"
	"github.com/lanedye/lanedye/internal/request"
)

func BenchmarkZZShipped(b *testing.B) {
	cfg, err := config.Parse(gatewayConfig(b))
	if err != nil {
		b.Fatal(err)
	}
	reqs := make([][][2]string, 1000)
	for i := range reqs {
		reqs[i] = GatewayStreams(i)[0].Req
	}
	st := cfg.Gateway.NewState()
	var r request.Request
	src := netip.MustParseAddr("203.0.113.7")
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		r.Reset(cfg.Index, reqs[i%1000])
		r.SetSource(src)
		_ = cfg.Gateway.Decide(&r, BenchNow, st)
		i++
	}
}
