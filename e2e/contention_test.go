package e2e

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lanedye/lanedye/e2e/envoy"
	"github.com/lanedye/lanedye/e2e/mesh"
	"github.com/lanedye/lanedye/internal/propagation"
)

// Shared data under contention: one sidecar Envoy with four workers, its
// inbound and outbound listeners loading build/lanedye-sidecar.wasm with one
// vm_id, and four clients that store (inbound: a lane header and a
// correlation id of their own) and restore (outbound: the same id) at the
// same moment, each on an inbound connection and an outbound connection that
// two different workers accepted: every mapping crosses workers through
// Envoy's shared data. In each round the four clients' ids share one slot, so
// their four read-modify-writes race for one key: the slot is new in the
// first half of the rounds (four first writes), and holds the mappings of an
// earlier round in the second half. Every outbound call must get its lane
// back, and the counters must account for every id: stored and hit equal to
// what was sent, nothing given up, the CAS retries counted.
func TestSharedDataUnderContention(t *testing.T) {
	bin := envoyBinary(t)
	wasm, err := mesh.Module(root, "sidecar")
	if err != nil {
		t.Fatal(err)
	}
	const (
		workers = 4
		clients = 4
		rounds  = 1000
		// Half as many slots as rounds: round r uses slot r % slots, new
		// in the first half, reused in the second. Sixteen ways hold a
		// slot's two rounds of four ids: no mapping is ever evicted.
		slots = rounds / 2
	)
	lanes := []string{"gray", "blue", "green", "base"}
	cfg := fmt.Sprintf(`{"role":"sidecar","lanes":["gray","blue","green"],
	  "propagation":{"keys":["header:x-corr"],"ttl":600,"slots":%d,"ways":16}}`, slots)
	sc := startContentionSidecar(t, bin, wasm, cfg, workers)

	// One connection per client and direction, inbound and outbound on
	// different workers.
	in := spread(t, sc.envoy, sc.in, workers)
	out := spread(t, sc.envoy, sc.out, workers)
	pairs := make([][2]*pinned, clients)
	for c := range clients {
		pairs[c] = [2]*pinned{in[c%workers], out[(c+1)%workers]}
		t.Logf("client %d: inbound on worker %d, outbound on worker %d", c, pairs[c][0].worker, pairs[c][1].worker)
	}

	ids := contendingIDs(clients, rounds, slots)
	var (
		mu   sync.Mutex
		lost []string
		errs []string
		sent = map[string]uint64{}
	)
	start := time.Now()
	for r := range rounds {
		var wg sync.WaitGroup
		gate := make(chan struct{})
		for c := range clients {
			lane := lanes[(c+r)%len(lanes)]
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-gate
				got, err := roundTrip(pairs[c], lane, ids[r][c])
				mu.Lock()
				defer mu.Unlock()
				sent[lane]++
				switch {
				case err != nil:
					errs = append(errs, fmt.Sprintf("round %d client %d: %v", r, c, err))
				case got != lane:
					lost = append(lost, fmt.Sprintf("round %d client %d (slot %d, %s): stored %s, restored %q",
						r, c, r%slots, map[bool]string{true: "new", false: "reused"}[r < slots], lane, got))
				}
			}()
		}
		close(gate) // the four clients start together
		wg.Wait()
	}
	elapsed := time.Since(start)
	n := uint64(clients * rounds)
	if len(errs) > 0 {
		t.Errorf("%d of %d exchanges failed, e.g.\n%s", len(errs), n, strings.Join(errs[:min(5, len(errs))], "\n"))
	}
	if len(lost) > 0 {
		t.Errorf("%d of %d mappings lost, e.g.\n%s", len(lost), n, strings.Join(lost[:min(5, len(lost))], "\n"))
	}

	want := map[string]uint64{"lanedye.propagation.stored": n, "lanedye.propagation.hit": n,
		"lanedye.source.propagated.requests": n}
	for l, k := range sent {
		want["lanedye.lane."+l+".requests"] = k
	}
	got := settle(t, sc.envoy, func(got map[string]uint64) bool { return len(counterDiff(without(got, casRetries), want)) == 0 })
	retries, defined := got[casRetries]
	if !defined {
		t.Errorf("%s is not defined", casRetries)
	}
	if d := counterDiff(without(got, casRetries), want); len(d) > 0 {
		t.Errorf("counters: %s", strings.Join(d, "; "))
	}
	// stored counts every id once, written or given up
	// (docs/contract.md#propagation), so the ids lost are those of stores
	// given up (counted in retries_exhausted) and those overwritten. With
	// four writers a store meets at most three conflicts, within its three
	// retries: none is given up, and in a round the k-th writer to succeed
	// retried at most k-1 times, 0+1+2+3 in all.
	if st, ex := got["lanedye.propagation.stored"], got["lanedye.propagation.retries_exhausted"]; st != n || ex != 0 {
		t.Errorf("stored %d, given up %d: want %d, 0", st, ex, n)
	}
	if maxRetries := uint64(rounds * 6); retries > maxRetries {
		t.Errorf("%s = %d: more than the %d that %d rounds of four writers can cause", casRetries, retries, maxRetries, rounds)
	}
	t.Logf("%d rounds of %d clients in %v: %d ids stored and restored across workers, %d lost, %d CAS retries, %d given up",
		rounds, clients, elapsed.Round(time.Millisecond), got["lanedye.propagation.stored"], len(lost), retries, got["lanedye.propagation.retries_exhausted"])
}

const casRetries = "lanedye.propagation.cas_retries"

// without returns m without key k.
func without(m map[string]uint64, k string) map[string]uint64 {
	out := make(map[string]uint64, len(m))
	for n, v := range m {
		if n != k {
			out[n] = v
		}
	}
	return out
}

// contendingIDs returns, per round and client, a correlation id of its own
// whose slot is round % slots, as the sidecar computes it for a header key.
func contendingIDs(clients, rounds, slots int) [][]string {
	ids := make([][]string, rounds)
	for r := range ids {
		ids[r] = make([]string, clients)
		for c := range clients {
			for k := 0; ; k++ {
				id := fmt.Sprintf("c%d-r%d-%d", c, r, k)
				if propagation.SlotOf(propagation.ID{S: id, Skip: -1}, slots) == r%slots {
					ids[r][c] = id
					break
				}
			}
		}
	}
	return ids
}

// roundTrip stores lane under id inbound, then calls outbound with the id
// alone, and returns the lane header the upstream received.
func roundTrip(p [2]*pinned, lane, id string) (string, error) {
	if _, err := p[0].get("app", "x-swimlane", lane, "x-corr", id); err != nil {
		return "", fmt.Errorf("inbound: %w", err)
	}
	body, err := p[1].get("upstream", "x-corr", id)
	if err != nil {
		return "", fmt.Errorf("outbound: %w", err)
	}
	return string(body), nil
}

type contentionSidecar struct {
	envoy   *envoy.Process
	in, out int
}

// startContentionSidecar starts a sidecar Envoy with workers workers: its
// inbound listener in front of an application that answers 200, its
// outbound listener in front of an upstream that answers with the lane
// header it received.
func startContentionSidecar(t *testing.T, bin, wasm, cfg string, workers int) *contentionSidecar {
	t.Helper()
	app := serve(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "stored") }))
	up := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, r.Header.Get("x-swimlane")) }))
	s := &contentionSidecar{in: freePort(t), out: freePort(t)}
	b := mesh.Bootstrap{
		Listeners: []mesh.Listener{
			{Name: "inbound", Direction: "INBOUND", Port: s.in, Hosts: []mesh.VirtualHost{{Name: "local", Domains: []string{"*"}, Default: "app"}}},
			{Name: "outbound", Direction: "OUTBOUND", Port: s.out, Hosts: []mesh.VirtualHost{{Name: "upstream", Domains: []string{"*"}, Default: "upstream"}}},
		},
		Clusters: []mesh.Cluster{{Name: "app", Port: app}, {Name: "upstream", Port: up}},
		Plugin:   mesh.Plugin{Wasm: wasm, Config: cfg},
	}
	data, err := b.Render()
	if err != nil {
		t.Fatal(err)
	}
	p, err := envoy.Start(bin, envoy.Options{Name: "sidecar", Dir: t.TempDir(), Bootstrap: data, Concurrency: workers, Module: wasm})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Stop)
	s.envoy = p
	return s
}

// serve serves h on a port of 127.0.0.1 for the test's duration.
func serve(t *testing.T, h http.Handler) int {
	t.Helper()
	s := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = s.Serve(l) }()
	t.Cleanup(func() { _ = s.Close() })
	return l.Addr().(*net.TCPAddr).Port
}

// pinned is one HTTP/1.1 connection to a listener, and the worker that
// accepted it: every request sent on it runs on that worker.
type pinned struct {
	conn   net.Conn
	r      *bufio.Reader
	worker int
}

// get sends a GET with headers kv to host and returns the body of a 200.
func (p *pinned) get(host string, kv ...string) ([]byte, error) {
	req, _ := http.NewRequest(http.MethodGet, "http://"+host+"/", nil)
	for i := 0; i+1 < len(kv); i += 2 {
		req.Header.Set(kv[i], kv[i+1])
	}
	_ = p.conn.SetDeadline(time.Now().Add(30 * time.Second))
	if err := req.Write(p.conn); err != nil {
		return nil, err
	}
	resp, err := http.ReadResponse(p.r, req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("status %d: %s", resp.StatusCode, body)
	}
	return body, err
}

// spread opens connections to port, one at a time, until each of p's
// workers has accepted one, and returns one connection per worker; the
// others are closed. The worker that accepted a connection is the one whose
// listener counter downstream_cx_total moved.
func spread(t *testing.T, p *envoy.Process, port, workers int) []*pinned {
	t.Helper()
	prefix := "listener.127.0.0.1_" + strconv.Itoa(port) + ".worker_"
	byWorker := map[int]*pinned{}
	var extra []net.Conn
	defer func() {
		for _, c := range extra {
			_ = c.Close()
		}
	}()
	before := acceptedBy(t, p, prefix)
	for dials := 0; len(byWorker) < workers && dials < 64; dials++ {
		conn, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = conn.Close() })
		var w int
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(10 * time.Millisecond) {
			now := acceptedBy(t, p, prefix)
			if w = movedWorker(before, now); w >= 0 {
				before = now
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("port %d: no worker counted connection %d", port, dials+1)
			}
		}
		if _, ok := byWorker[w]; ok {
			extra = append(extra, conn)
			continue
		}
		byWorker[w] = &pinned{conn: conn, r: bufio.NewReader(conn), worker: w}
	}
	if len(byWorker) < workers {
		t.Fatalf("port %d: 64 connections reached only workers %v of %d", port, keys(byWorker), workers)
	}
	out := make([]*pinned, 0, workers)
	for _, w := range keys(byWorker) {
		out = append(out, byWorker[w])
	}
	return out
}

// acceptedBy returns the connections each worker's listener accepted, by
// worker index.
func acceptedBy(t *testing.T, p *envoy.Process, prefix string) map[int]uint64 {
	t.Helper()
	m, err := p.Counters(context.Background(), prefix)
	if err != nil {
		t.Fatal(err)
	}
	out := map[int]uint64{}
	for name, v := range m {
		w, stat, _ := strings.Cut(strings.TrimPrefix(name, prefix), ".")
		if i, err := strconv.Atoi(w); err == nil && stat == "downstream_cx_total" {
			out[i] = v
		}
	}
	return out
}

// movedWorker returns the one worker whose count went up by one, or -1.
func movedWorker(before, now map[int]uint64) int {
	moved := -1
	for w, v := range now {
		switch d := v - before[w]; {
		case d == 0:
		case d == 1 && moved < 0:
			moved = w
		default:
			return -1
		}
	}
	return moved
}

func keys[V any](m map[int]V) []int {
	out := make([]int, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Ints(out)
	return out
}

// settle polls p's lanedye counters until done holds for them or they stop
// changing (the same for three seconds: counts reach Envoy on the plugin's
// one-second tick, and when a configuration's plugin context ends), at most
// a minute, and returns the last read.
func settle(t *testing.T, p *envoy.Process, done func(map[string]uint64) bool) map[string]uint64 {
	t.Helper()
	const quiet = 3 * time.Second
	var last map[string]uint64
	since := time.Now()
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(200 * time.Millisecond) {
		got, err := p.Lanedye(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if !sameCounts(got, last) {
			last, since = got, time.Now()
		}
		if done(got) || time.Since(since) >= quiet || time.Now().After(deadline) {
			return got
		}
	}
}

func sameCounts(a, b map[string]uint64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}
