package gateway

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/lanedye/lanedye/internal/config"
	"github.com/lanedye/lanedye/internal/lane"
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

// browser returns the headers of a typical browser request through the
// gateway, plus extra.
func browser(extra ...[2]string) [][2]string {
	hs := [][2]string{
		{":authority", "myapp.example.com"}, {":path", "/api/orders?page=2&sort=desc"},
		{":method", "GET"}, {":scheme", "https"},
		{"user-agent", "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"},
		{"accept", "application/json, text/plain, */*"}, {"accept-language", "zh-CN,zh;q=0.9,en;q=0.8"},
		{"accept-encoding", "gzip, deflate, br"}, {"referer", "https://myapp.example.com/orders"},
		{"x-forwarded-for", "203.0.113.7"}, {"x-forwarded-proto", "https"},
		{"x-request-id", "0f6c2b2e-3d0a-4f5e-9b7c-1a2b3c4d5e6f"}, {"x-envoy-external-address", "203.0.113.7"},
		{"traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"},
	}
	return append(hs, extra...)
}

func TestDecisionOrder(t *testing.T) {
	cfg := load(t, "seed-gray-router.json")
	var r rules.Request
	cookie := "x-sticky-version=" + cfg.Sticky.SetCookie(1)[len("x-sticky-version="):len("x-sticky-version=")+46]
	r.Reset(cfg.Index, browser([2]string{"cookie", cookie}, [2]string{"x-user-region", "beijing"}))
	if d := Decide(cfg, &r); d.Source != lane.SourceCookie || d.Lane != 1 || d.SetCookie != "" {
		t.Errorf("cookie: %+v", d)
	}
	r.Reset(cfg.Index, browser([2]string{"x-user-region", "beijing"}, [2]string{"x-target-version", "v2"}))
	if d := Decide(cfg, &r); d.Source != lane.SourceRule || !d.Spoofed || d.SetCookie == "" {
		t.Errorf("rule with spoofed header: %+v", d)
	}
	r.Reset(cfg.Index, browser())
	if d := Decide(cfg, &r); d.Source != lane.SourceDefault || d.Lane != 0 || d.Rule != -1 || d.SetCookie != "" || d.Route != -1 {
		t.Errorf("default: %+v", d)
	}
}

// The decision allocates nothing for header, cookie and percentage rules:
// every string it returns was built at configuration time.
func TestDecisionAllocatesNothing(t *testing.T) {
	cfg := load(t, "bench-gateway.json")
	cases := map[string][][2]string{
		"header rule":       browser([2]string{"x-user-region", "beijing"}),
		"cookie rule":       browser([2]string{"cookie", "a=1; beta2=on; c=3"}),
		"percentage rule":   browser([2]string{"x-user-id", "12345"}),
		"sticky cookie":     browser([2]string{"cookie", "x-sticky-version=" + cfg.Sticky.SetCookie(1)[17:17+46]}),
		"no rule matches":   browser(),
		"spoofed lane":      browser([2]string{"x-target-version", "v2"}),
		"percentage cookie": browser([2]string{"cookie", "session-id=abcdef"}),
	}
	for name, hs := range cases {
		var r rules.Request
		allocs := testing.AllocsPerRun(200, func() {
			r.Reset(cfg.Index, hs)
			_ = Decide(cfg, &r)
		})
		if allocs != 0 {
			t.Errorf("%s: %.1f allocations per decision, want 0", name, allocs)
		}
	}
}

func BenchmarkDecide(b *testing.B) {
	cfg := load(b, "bench-gateway.json")
	cases := []struct {
		name string
		hs   [][2]string
	}{
		{"header-rule-first", browser([2]string{"x-gray-tag", "internal-test"}, [2]string{"x-gray-token", "secret-12345"})},
		{"header-rule", browser([2]string{"x-user-region", "beijing"})},
		{"cookie-rule", browser([2]string{"cookie", "a=1; beta2=on; c=3"})},
		{"percentage-last-rule", browser([2]string{"x-user-id", "12345"})},
		{"sticky-cookie", browser([2]string{"cookie", "_ga=GA1.2.3; x-sticky-version=" + cfg.Sticky.SetCookie(1)[17:17+46]})},
		{"no-match-all-20-rules", browser([2]string{"cookie", "_ga=GA1.2.3; theme=dark"})},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			var r rules.Request
			b.ReportAllocs()
			for b.Loop() {
				r.Reset(cfg.Index, c.hs)
				_ = Decide(cfg, &r)
			}
		})
	}
}
