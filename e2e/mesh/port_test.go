package mesh

import (
	"errors"
	"fmt"
	"net"
	"testing"
)

func TestFreePortIsOutsideTheEphemeralRange(t *testing.T) {
	low := ephemeralLow()
	// A kernel whose ephemeral range starts low leaves no room below it:
	// FreePort then takes any free port.
	below := low-1-lowestPort >= 1000
	for range 20 {
		p, err := FreePort()
		if err != nil {
			t.Fatal(err)
		}
		if below && (p < lowestPort || p >= low) {
			t.Fatalf("port %d: want one in [%d, %d)", p, lowestPort, low)
		}
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err != nil {
			t.Fatalf("port %d is not free: %v", p, err)
		}
		_ = l.Close()
	}
}

func TestPortTaken(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, goErr := net.Listen("tcp", l.Addr().String())
	for _, c := range []struct {
		name string
		err  error
		want bool
	}{
		{"go listener", goErr, true},
		{"envoy", errors.New("envoy gateway: exited: exit status 1\n[critical][main] error `cannot bind '127.0.0.1:38031': Address already in use`"), true},
		{"other exit", errors.New("envoy gateway: exited: exit status 1\n[critical] unable to load wasm"), false},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := PortTaken(c.err); got != c.want {
				t.Fatalf("PortTaken(%v) = %v, want %v", c.err, got, c.want)
			}
		})
	}
}
