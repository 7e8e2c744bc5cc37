package config

import "testing"

func TestReserved(t *testing.T) {
	for h, want := range map[string]bool{
		"cookie": true, "connection": true, "x-request-id": true, "te": true, "baggage": true,
		"x-swimlane": false, "x-lane-route": false, "cook": false, "ookie": false, "t": false, "": false, "set": false,
		"cookie set-cookie": false, "tracestate ": false,
	} {
		if got := reserved(h); got != want {
			t.Errorf("reserved(%q) = %v, want %v", h, got, want)
		}
	}
}
