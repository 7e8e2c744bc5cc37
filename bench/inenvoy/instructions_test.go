package inenvoy

import (
	"os"
	"path/filepath"
	"testing"
)

func TestTotals(t *testing.T) {
	for _, tc := range []struct {
		name, dump string
		want       uint64
		err        bool
	}{
		{"dump taken while running", "events: Ir\nsummary: 0\n\nfn=(1) main\n3 14\n\ntotals: 233054007\n", 233054007, false},
		{"final dump", "events: Ir\nsummary: 42\nfn=(1) main\n3 42\ntotals: 42\n", 42, false},
		{"no totals", "events: Ir\nsummary: 0\n", 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "callgrind.1.1")
			if err := os.WriteFile(p, []byte(tc.dump), 0o600); err != nil {
				t.Fatal(err)
			}
			got, err := totals(p)
			if (err != nil) != tc.err || got != tc.want {
				t.Errorf("totals = %d, %v; want %d, error %v", got, err, tc.want, tc.err)
			}
		})
	}
}
