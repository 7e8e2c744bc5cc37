package config_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/lanedye/lanedye/internal/config"
	"github.com/lanedye/lanedye/internal/config/gatewayconf"
	"github.com/lanedye/lanedye/internal/request"
)

// FuzzParse: any input either parses into a usable configuration or yields a
// *Error with a path; it never panics.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("..", "..", "testdata", "*.json"))
	for _, name := range files {
		if b, err := os.ReadFile(name); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(`{"role":"sidecar","propagation":{"keys":["b3","sw8","header:x-corr"],"baggage":"lane"},"fallback":{"services":{"a":["x"]},"parents":{"x":"y"}},"lanes":["x","y"]}`))
	f.Add([]byte(`{"role":"gateway","lanes":["g"],"rules":[{"name":"q","lane_from":"query:l","match":[{"query":{"a":{"regex":"[a-"}}}]}]}`))
	f.Add([]byte(`{"role":"sidecar","lanes":["g"],"workload":{"lane_label":"lanedye.io/lane"},"lane_header":"x-l","fallback":{"route_header":"x-r"}}`))
	f.Add([]byte(`{"role":"waypoint","lanes":["g"],"propagation":{"keys":["x-request-id","header:a"]},"baggage":"lane"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := parse(data)
		if err != nil {
			var ce *config.Error
			if !errors.As(err, &ce) || ce.Path == "" {
				t.Fatalf("error without a path: %v", err)
			}
			return
		}
		// A configuration that parses must evaluate requests.
		var r request.Request
		r.Reset(c.Index, [][2]string{{":authority", "a.example.com"}, {":path", "/x?y=1"}, {"cookie", "a=b"}})
		gw := gatewayconf.Of(c)
		if gw == nil {
			return
		}
		if l, _, _ := gw.Rules.Decide(&r); int(l) >= c.Lanes.Len() {
			t.Fatalf("lane %d out of range", l)
		}
	})
}
