package mesh

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
)

// lowestPort is the bottom of the range FreePort draws from.
const lowestPort = 10000

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago and
// that the kernel does not hand out as a client's local port. A port from
// the ephemeral range (what listening on port 0 returns) can be taken by
// any outgoing connection before Envoy binds it, and tests that run in
// parallel make thousands of them; a random port below that range can
// only be lost to another test that drew the same one.
func FreePort() (int, error) {
	top := ephemeralLow() - 1
	if top-lowestPort < 1000 {
		return anyPort()
	}
	for range 50 {
		p := lowestPort + rand.IntN(top-lowestPort+1)
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err == nil {
			_ = l.Close()
			return p, nil
		}
	}
	return 0, errors.New("no free port below the ephemeral range after 50 tries")
}

// ephemeralLow is the first port of the kernel's ephemeral range (Linux's
// default when the kernel does not say).
func ephemeralLow() int {
	lo := 32768
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		_, _ = fmt.Sscan(string(b), &lo)
	}
	return lo
}

func anyPort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
