package gateway_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/lanedye/lanedye/internal/config"
	"github.com/lanedye/lanedye/internal/gateway"
	"github.com/lanedye/lanedye/internal/lane"
	"github.com/lanedye/lanedye/internal/perf"
	"github.com/lanedye/lanedye/internal/rules"
)

func load(t testing.TB, name string) *config.Config {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// Trusted header > valid sticky cookie > rules > default lane; the benchmarks
// and the zero-allocation budget of the decision live in internal/perf.
func TestDecisionOrder(t *testing.T) {
	cfg := load(t, "seed-gray-router.json")
	var r rules.Request
	cookie := "x-sticky-version=" + cfg.Sticky.SetCookie(1)[len("x-sticky-version="):len("x-sticky-version=")+46]
	r.Reset(cfg.Index, perf.Browser([2]string{"cookie", cookie}, [2]string{"x-user-region", "beijing"}))
	if d := gateway.Decide(cfg, &r); d.Source != lane.SourceCookie || d.Lane != 1 || d.SetCookie != "" {
		t.Errorf("cookie: %+v", d)
	}
	r.Reset(cfg.Index, perf.Browser([2]string{"x-user-region", "beijing"}, [2]string{"x-target-version", "v2"}))
	if d := gateway.Decide(cfg, &r); d.Source != lane.SourceRule || !d.Spoofed || d.SetCookie == "" {
		t.Errorf("rule with spoofed header: %+v", d)
	}
	r.Reset(cfg.Index, perf.Browser())
	if d := gateway.Decide(cfg, &r); d.Source != lane.SourceDefault || d.Lane != 0 || d.Rule != -1 || d.SetCookie != "" || d.Route != -1 {
		t.Errorf("default: %+v", d)
	}
}
