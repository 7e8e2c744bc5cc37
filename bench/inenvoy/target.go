package inenvoy

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/lanedye/lanedye/e2e/envoy"
)

// concurrency is the worker count of every measured Envoy: one worker, so
// CPU per request is one thread's work and the setups compare like for
// like on a small machine.
const concurrency = 1

// target is a running setup as the rounds see it.
type target struct {
	name       string
	proc       *envoy.Process
	url        string
	served     string // the counter of benchmark requests Envoy served
	gray, base string // the upstream_rq_total counters of the two clusters
	sticky     string // the name of the cookie the filter issues; "" none
	mix        Mix
	stop       func()
}

func upstreamTotal(cluster string) string { return "cluster." + cluster + ".upstream_rq_total" }

// startTargets starts every setup's Envoy one after the other (each
// compiles its module at start; in parallel they would only compete for
// the same two cores).
func startTargets(l Launch, dir string, gws []Setup, hop HopSetup) (ts []*target, err error) {
	defer func() {
		if err != nil {
			stopAll(ts)
		}
	}()
	for _, s := range gws {
		g, err := StartGateway(l, dir, s)
		if err != nil {
			return ts, err
		}
		lane, other := s.Clusters()
		ts = append(ts, &target{name: s.Name, proc: g.Envoy, url: g.URL, served: "http.gateway.downstream_rq_total",
			gray: upstreamTotal(lane), base: upstreamTotal(other), sticky: s.StickyCookie, mix: s.Mix, stop: g.Stop})
	}
	h, err := StartHop(l, dir, hop)
	if err != nil {
		return ts, err
	}
	lane, other := hop.Clusters()
	ts = append(ts, &target{name: hop.Name, proc: h.Envoy, url: h.URL, served: "http.inbound.downstream_rq_total",
		gray: upstreamTotal(lane), base: upstreamTotal(other), mix: hop.Mix, stop: h.Stop})
	return ts, nil
}

func stopAll(ts []*target) {
	for _, t := range ts {
		t.stop()
	}
}

// counters reads the served counter and the clusters' request counters.
func (t *target) counters(ctx context.Context) (map[string]uint64, error) {
	m, err := t.proc.Counters(ctx, "cluster.upstream-")
	if err != nil {
		return nil, err
	}
	served, err := t.proc.Counters(ctx, t.served)
	if err != nil {
		return nil, err
	}
	v, ok := served[t.served]
	if !ok {
		return nil, fmt.Errorf("%s: Envoy has no counter %s", t.name, t.served)
	}
	m[t.served] = v
	return m, nil
}

// stick gives every setup its sticky cookie: those whose filter issues one
// get a real one by sending a request the tail rule dyes; the setups
// without a cookie of their own carry lanedye's (browsers hold it, and the
// request bytes stay the same). Then it checks that each issued cookie
// works: a request that went to the default cluster goes to the lane's
// with it.
func stick(ctx context.Context, ts []*target, run uint32) error {
	var shared string
	for _, t := range ts {
		if t.sticky == "" || t.mix.Cookie != "" {
			continue
		}
		c, err := issue(ctx, t, run)
		if err != nil {
			return err
		}
		t.mix.Cookie, shared = c, c
	}
	for _, t := range ts {
		if t.mix.Cookie == "" {
			t.mix.Cookie = shared
		}
		if t.sticky == "" {
			continue
		}
		if err := checkSticky(ctx, t, run); err != nil {
			return err
		}
	}
	return nil
}

// issue returns the cookie (name=value) the setup sets on request 0,
// which the tail rule dyes.
func issue(ctx context.Context, t *target, run uint32) (string, error) {
	c := client()
	defer c.CloseIdleConnections()
	h, err := send(ctx, c, t.url, Request(0, run, t.mix))
	if err != nil {
		return "", fmt.Errorf("%s: %w", t.name, err)
	}
	for _, sc := range h.Values("Set-Cookie") {
		if strings.HasPrefix(sc, t.sticky+"=") {
			return strings.TrimSpace(strings.SplitN(sc, ";", 2)[0]), nil
		}
	}
	return "", fmt.Errorf("%s: a dyed request got no %s cookie (Set-Cookie: %q)", t.name, t.sticky, h.Values("Set-Cookie"))
}

// checkSticky finds a request (without the cookie) that goes to the
// default cluster and checks that it goes to the lane's with the cookie.
func checkSticky(ctx context.Context, t *target, run uint32) error {
	c := client()
	defer c.CloseIdleConnections()
	for i := 3; i < 1000; i += 10 { // user ids ending in 3, no cookie
		h := Request(i, run, t.mix)
		gray, err := routed(ctx, t, c, h)
		if err != nil {
			return err
		}
		if gray {
			continue
		}
		h.Set("cookie", h.Get("cookie")+"; "+t.mix.Cookie)
		if gray, err = routed(ctx, t, c, h); err != nil {
			return err
		}
		if !gray {
			return fmt.Errorf("%s: the sticky cookie %q did not route a request to the lane's cluster", t.name, t.mix.Cookie)
		}
		return nil
	}
	return errors.New(t.name + ": no request went to the default cluster")
}

// routed sends one request and reports whether it reached the lane's
// cluster.
func routed(ctx context.Context, t *target, c *http.Client, h http.Header) (bool, error) {
	before, err := t.counters(ctx)
	if err != nil {
		return false, err
	}
	if _, err := send(ctx, c, t.url, h); err != nil {
		return false, fmt.Errorf("%s: %w", t.name, err)
	}
	after, err := t.counters(ctx)
	if err != nil {
		return false, err
	}
	gray, base := after[t.gray]-before[t.gray], after[t.base]-before[t.base]
	if gray+base != 1 {
		return false, fmt.Errorf("%s: one request, %d upstream requests to %s and %d to %s", t.name, gray, t.gray, base, t.base)
	}
	return gray == 1, nil
}
