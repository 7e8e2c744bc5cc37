package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tidwall/sjson"

	"github.com/lanedye/lanedye/e2e/envoy"
	"github.com/lanedye/lanedye/e2e/mesh"
)

// Configuration under load: a gateway Envoy and a sidecar hop behind it
// (--concurrency 2 each), both with their lanedye filter over ECDS from the
// test's xDS server (as Istio delivers a WasmPlugin), take a new
// pluginConfig every 200 ms for 30 s while 330 requests a second flow
// through them (at least 9,000 in all). Every generation of either
// configuration has an effect of its own that a response shows (the
// sidecar's, on the application's outbound call), so each response is
// checked to be the whole effect of exactly one gateway generation and one
// sidecar generation pushed by then: never a mix of two, never none. The
// sticky key rotates with the generations (the new key signs, the previous
// one still verifies), and cookies are presented zero, one and two
// generations after they were issued. Mappings the sidecar stored before an
// update of its configuration (same vm_id) restore after it. Then a bad
// configuration of each is pushed under load: NACKed, and the last good ones
// keep serving. Each phase ends with the counters of both Envoys, which
// must add up exactly to what the responses showed, and with Envoy's own
// error and reset counters unchanged.
func TestConfigUnderLoad(t *testing.T) {
	r := startLoadRig(t, envoyBinary(t))
	t.Run("sidecar mappings stored before an update are restored after it", r.mappingsAcrossUpdate)
	t.Run("a new configuration every 200 ms for 30 s under load", r.updatesUnderLoad)
	t.Run("a bad configuration under load is rejected and the last good one serves", r.badUnderLoad)
}

const (
	loadRate    = 330 // requests per second, paced
	loadWorkers = 24  // requests in flight at most
	// The update phase pushes a generation to each Envoy every
	// updatePeriod, updates times, and lasts until minRequests were sent
	// (300 a second for 30 s): a slow machine stretches it, never fails it.
	updatePeriod = 200 * time.Millisecond
	updates      = 150
	minRequests  = 300 * 30
	// The debug header of both roles, and the host the application calls.
	decisionHeader = "x-lanedye-decision"
	upstreamHost   = "upstream"
)

// A generation of the gateway's configuration shows in every response: its
// rules are named g<n>-a and g<n>-b (the debug header names the rule that
// decided), the route header is x-route-g<n>, odd generations dye x-kind a
// into gray and b into blue and even ones the other way round, and myapp's
// fallback lists gray on odd generations and blue on even ones. Generation
// n signs sticky cookies with key n and still accepts key n-1's.
func gatewayConfig(n int) string {
	return fmt.Sprintf(`{"role":"gateway","lanes":["gray","blue"],"debug":true,
	  "rules":[{"name":"g%[1]d-a","lane":%[2]q,"match":[{"headers":{"x-kind":{"exact":"a"}}}]},
	           {"name":"g%[1]d-b","lane":%[3]q,"match":[{"headers":{"x-kind":{"exact":"b"}}}]}],
	  "sticky":{"cookie":"x-lane","max_age":3600,"secret":[%[4]q,%[5]q]},
	  "fallback":{"route_header":"x-route-g%[1]d","services":{"myapp":[%[6]q]}}}`,
		n, dyed(n, "a"), dyed(n, "b"), stickyKey(n), stickyKey(n-1), listed(n))
}

// A generation of the sidecar's configuration shows on the outbound call:
// the route header is x-hop-route-s<n>, the upstream's fallback lists gray on
// odd generations and blue on even ones, and even generations add the debug
// header. Its vm_id stays: mappings outlive generations.
func sidecarConfig(n int) string {
	return fmt.Sprintf(`{"role":"sidecar","lanes":["gray","blue"],"debug":%t,
	  "propagation":{"keys":["header:x-corr","x-request-id"],"ttl":300,"slots":1048576,"ways":4},
	  "fallback":{"route_header":"x-hop-route-s%d","services":{%q:[%q]}}}`,
		n%2 == 0, n, upstreamHost, listed(n))
}

func stickyKey(n int) string { return fmt.Sprintf("lanedye-load-key-%04d", n) }

// dyed is the lane generation n dyes a request of kind ("a" or "b") into.
func dyed(n int, kind string) string {
	if (kind == "a") == (n%2 == 1) {
		return "gray"
	}
	return "blue"
}

// listed is the lane generation n's fallback lists for its one service.
func listed(n int) string {
	if n%2 == 1 {
		return "gray"
	}
	return "blue"
}

// routeOf is the route lane of generation n for a request in lane.
func routeOf(n int, lane string) string {
	if lane == listed(n) {
		return lane
	}
	return defaultLane
}

// loadRig is a gateway Envoy in front of a sidecar hop (a sidecar Envoy, its
// application and the application's upstream), both Envoys under one xDS
// server, and the generations pushed to each so far.
type loadRig struct {
	x                 *xdsServer
	gwWasm, scWasm    string
	gateway, sidecar  *envoy.Process
	gwURL, in, out    string // the gateway's and the sidecar's listeners
	gwGen, scGen      atomic.Int64
	gwBase, scBase    map[string]uint64 // counters at the last check
	gwStats, scStats  map[string]uint64 // Envoy's error and reset counters at the last check
	pushedGW, pushedS []string          // xDS versions of the phase
}

func startLoadRig(t *testing.T, bin string) *loadRig {
	t.Helper()
	gwWasm, err := mesh.Module(root, "gateway")
	if err != nil {
		t.Fatal(err)
	}
	scWasm, err := mesh.Module(root, "sidecar")
	if err != nil {
		t.Fatal(err)
	}
	r := &loadRig{x: startXDS(t), gwWasm: gwWasm, scWasm: scWasm}
	in, out, gw := freePort(t), freePort(t), freePort(t)
	up := serve(t, http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		w.Header().Set("content-type", "application/json")
		_ = json.NewEncoder(w).Encode(seen(req, "x-hop-route-s"))
	}))
	app := serve(t, &loadApp{egress: fmt.Sprintf("127.0.0.1:%d", out), client: &http.Client{Timeout: 30 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: 2 * loadWorkers}}})
	sidecar := mesh.Bootstrap{Node: "sidecar",
		Listeners: []mesh.Listener{
			{Name: "inbound", Direction: "INBOUND", Port: in, Hosts: []mesh.VirtualHost{{Name: "local", Domains: []string{"*"}, Default: "app"}}},
			{Name: "outbound", Direction: "OUTBOUND", Port: out, Hosts: []mesh.VirtualHost{{Name: upstreamHost, Domains: []string{"*"}, Default: "upstream"}}},
		},
		Clusters: []mesh.Cluster{{Name: "app", Port: app}, {Name: "upstream", Port: up}, {Name: "xds", Port: r.x.port, HTTP2: true}},
		Plugin:   mesh.Plugin{XDSCluster: "xds"},
	}
	gateway := mesh.Bootstrap{Node: "gateway",
		Listeners: []mesh.Listener{{Name: "gateway", Port: gw, Hosts: []mesh.VirtualHost{{Name: "all", Domains: []string{"*"}, Default: "hop"}}}},
		Clusters:  []mesh.Cluster{{Name: "hop", Port: in}, {Name: "xds", Port: r.x.port, HTTP2: true}},
		Plugin:    mesh.Plugin{XDSCluster: "xds"},
	}
	// Served before the Envoys start: their listeners warm until the
	// first generation arrives.
	_, v1 := r.nextGateway(t)
	_, v2 := r.nextSidecar(t)
	procs := startEnvoys(t, bin, []startJob{{"gateway", gateway, gwWasm}, {"sidecar", sidecar, scWasm}})
	r.gateway, r.sidecar = procs[0], procs[1]
	for _, v := range []string{v1, v2} {
		if nack := r.x.answer(t, v); nack != "" {
			t.Fatalf("first generation rejected: %s", nack)
		}
	}
	r.gwURL = fmt.Sprintf("http://127.0.0.1:%d", gw)
	r.in, r.out = fmt.Sprintf("http://127.0.0.1:%d", in), fmt.Sprintf("http://127.0.0.1:%d", out)
	r.gwBase, r.scBase = map[string]uint64{}, map[string]uint64{}
	r.gwStats, r.scStats = envoyErrors(t, r.gateway), envoyErrors(t, r.sidecar)
	return r
}

type startJob struct {
	name string
	b    mesh.Bootstrap
	wasm string
}

// startEnvoys starts one Envoy (--concurrency 2) per job, at once, and
// stops them when the test ends.
func startEnvoys(t *testing.T, bin string, jobs []startJob) []*envoy.Process {
	t.Helper()
	procs := make([]*envoy.Process, len(jobs))
	errs := make([]error, len(jobs))
	var wg sync.WaitGroup
	for i, j := range jobs {
		data, err := j.b.Render()
		if err != nil {
			t.Fatal(err)
		}
		o := envoy.Options{Name: j.name, Dir: t.TempDir(), Bootstrap: data, Concurrency: 2, Module: j.wasm}
		wg.Add(1)
		go func() {
			defer wg.Done()
			procs[i], errs[i] = envoy.Start(bin, o)
		}()
	}
	wg.Wait()
	for i, p := range procs {
		if p != nil {
			t.Cleanup(p.Stop)
		}
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
	}
	return procs
}

// nextGateway pushes the gateway's next generation; it counts as pushed
// before Envoy can apply it.
func (r *loadRig) nextGateway(t *testing.T) (int, string) {
	t.Helper()
	n := int(r.gwGen.Add(1))
	v := r.x.push(t, "gateway", wasmFilter(r.gwWasm, gatewayConfig(n), nil, open))
	r.pushedGW = append(r.pushedGW, v)
	return n, v
}

func (r *loadRig) nextSidecar(t *testing.T) (int, string) {
	t.Helper()
	n := int(r.scGen.Add(1))
	v := r.x.push(t, "sidecar", wasmFilter(r.scWasm, sidecarConfig(n), nil, open))
	r.pushedS = append(r.pushedS, v)
	return n, v
}

// acked waits for Envoy's answer to each version and fails on a NACK.
func (r *loadRig) acked(t *testing.T, vs ...string) {
	t.Helper()
	for _, v := range vs {
		if nack := r.x.answer(t, v); nack != "" {
			t.Fatalf("version %s rejected: %s", v, nack)
		}
	}
}

// view is what one application saw of a request: the lane header, the
// route headers whose names start with the generation's prefix
// ("name=value"), and the sidecar's debug header on the answer to the
// application's call.
type view struct {
	Lane   string   `json:"lane"`
	Routes []string `json:"routes"`
	Debug  string   `json:"debug,omitempty"`
}

func seen(r *http.Request, prefix string) view {
	v := view{Lane: strings.Join(r.Header.Values("x-swimlane"), ",")}
	for name, vals := range r.Header {
		if name = strings.ToLower(name); strings.HasPrefix(name, prefix) {
			v.Routes = append(v.Routes, name+"="+strings.Join(vals, ","))
		}
	}
	sort.Strings(v.Routes)
	return v
}

// hopView is the application's answer: what it saw inbound, and what its
// upstream saw of its call (absent with ?hold=1: it makes no call).
type hopView struct {
	In  view  `json:"in"`
	Out *view `json:"out,omitempty"`
}

// loadApp is the application behind the sidecar: it calls upstreamHost
// through the sidecar's outbound listener forwarding x-request-id and
// x-corr only, and reports what both sides saw.
type loadApp struct {
	egress string
	client *http.Client
}

func (a *loadApp) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	v := hopView{In: seen(r, "x-route-g")}
	if r.URL.Query().Get("hold") == "" {
		out, err := callOut(r.Context(), a.client, "http://"+a.egress+"/", "x-request-id", r.Header.Get("x-request-id"), "x-corr", r.Header.Get("x-corr"))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		v.Out = &out
	}
	w.Header().Set("content-type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// callOut calls upstreamHost at url with the non-empty headers of kv and
// returns what the upstream saw, with the debug header of the answer.
func callOut(ctx context.Context, c *http.Client, url string, kv ...string) (view, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return view{}, err
	}
	req.Host = upstreamHost
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] != "" {
			req.Header.Set(kv[i], kv[i+1])
		}
	}
	resp, err := c.Do(req)
	if err != nil {
		return view{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return view{}, fmt.Errorf("upstream: status %d", resp.StatusCode)
	}
	var v view
	err = json.NewDecoder(resp.Body).Decode(&v)
	v.Debug = strings.Join(resp.Header.Values(decisionHeader), " | ")
	return v, err
}

// sidecarShows reports whether an outbound call that restored lane shows
// the whole effect of sidecar generation n.
func sidecarShows(v view, lane string, n int) bool {
	if len(v.Routes) != 1 || v.Routes[0] != "x-hop-route-s"+strconv.Itoa(n)+"="+routeOf(n, lane) {
		return false
	}
	debug := ""
	if n%2 == 0 {
		debug = "lane=" + lane + "; source=propagated"
	}
	return v.Lane == lane && v.Debug == debug
}

// deciding returns the generations among 1..upTo for which shows holds.
func deciding(upTo int, shows func(int) bool) []int {
	var out []int
	for n := 1; n <= upTo; n++ {
		if shows(n) {
			out = append(out, n)
		}
	}
	return out
}

// mappingsAcrossUpdate stores ids in the sidecar, pushes its next
// generation (same vm_id), and restores them with calls the new
// generation decides.
func (r *loadRig) mappingsAcrossUpdate(t *testing.T) {
	const ids = 20
	client := &http.Client{Timeout: 30 * time.Second}
	before := int(r.scGen.Load())
	sc := map[string]uint64{}
	for i := range ids {
		req, _ := http.NewRequest(http.MethodGet, r.in+"/?hold=1", nil)
		req.Header.Set("x-swimlane", []string{"gray", "blue"}[i%2])
		req.Header.Set("x-corr", fmt.Sprintf("kept-%d", i))
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("inbound: status %d", resp.StatusCode)
		}
		sc["lanedye.propagation.stored"] += 2 // x-corr, and the x-request-id Envoy adds
	}
	after, v := r.nextSidecar(t)
	r.acked(t, v)
	var calls, old int
	for i := range ids {
		lane := []string{"gray", "blue"}[i%2]
		// A call the previous generation still decided (a worker not yet
		// updated) must restore the lane too; repeat until the new one
		// decides.
		for deadline := time.Now().Add(time.Minute); ; {
			out, err := callOut(context.Background(), client, r.out+"/", "x-corr", fmt.Sprintf("kept-%d", i))
			if err != nil {
				t.Fatal(err)
			}
			calls++
			gens := deciding(after, func(n int) bool { return sidecarShows(out, lane, n) })
			if len(gens) != 1 || gens[0] < before {
				t.Fatalf("kept-%d, stored in %s: the upstream saw %+v, the whole effect of generations %v (want %d or %d)", i, lane, out, gens, before, after)
			}
			countOutbound(sc, gens[0], lane)
			if gens[0] == after {
				break
			}
			if old++; time.Now().After(deadline) {
				t.Fatalf("generation %d never decided a call", after)
			}
		}
	}
	t.Logf("%d ids stored under sidecar generation %d, restored by generation %d in %d calls (%d decided by %d before the update reached the worker)",
		ids, before, after, calls, old, before)
	r.checkCounters(t, map[string]uint64{}, sc)
}

// countOutbound adds to sc the counters of an outbound call that sidecar
// generation n decided, restoring lane.
func countOutbound(sc map[string]uint64, n int, lane string) {
	sc["lanedye.propagation.hit"]++
	sc["lanedye.lane."+lane+".requests"]++
	sc["lanedye.source.propagated.requests"]++
	sc["lanedye.route."+routeOf(n, lane)+".requests"]++
}

// updatesUnderLoad pushes a generation to each Envoy every updatePeriod
// while the load runs.
func (r *loadRig) updatesUnderLoad(t *testing.T) {
	r.pushedGW, r.pushedS = nil, nil
	l := r.startLoad(t)
	tick := time.NewTicker(updatePeriod)
	for range updates {
		<-tick.C
		r.nextGateway(t)
		r.nextSidecar(t)
	}
	tick.Stop()
	g, s := int(r.gwGen.Load()), int(r.scGen.Load())
	r.acked(t, r.pushedGW[len(r.pushedGW)-1], r.pushedS[len(r.pushedS)-1])
	l.waitFor(t, "the last generations to serve", func(tl *tally) bool { return tl.gwGen[g] >= 50 && tl.scGen[s] >= 50 })
	l.waitFor(t, strconv.Itoa(minRequests)+" requests", func(tl *tally) bool { return tl.requests >= minRequests })
	l.stop()
	r.report(t, l, "update")
	r.answers(t, r.pushedGW, r.pushedS)
	if tl := l.tally; tl.rotation[1].recognised == 0 || tl.rotation[2].rejected == 0 {
		t.Errorf("no cookie presented one generation after its key signed (%d), or none two after (%d): the rotation was not exercised",
			tl.rotation[1].recognised, tl.rotation[2].rejected)
	}
	r.checkSent(t, l)
}

// badUnderLoad pushes a good generation of each, then a bad configuration
// of each, then a good one again, all under load.
func (r *loadRig) badUnderLoad(t *testing.T) {
	r.pushedGW, r.pushedS = nil, nil
	l := r.startLoad(t)
	g, v1 := r.nextGateway(t)
	s, v2 := r.nextSidecar(t)
	r.acked(t, v1, v2)
	l.waitFor(t, "the good generations to serve", func(tl *tally) bool { return tl.gwGen[g] >= 200 && tl.scGen[s] >= 200 })

	badGW, _ := sjson.Set(gatewayConfig(g+1), "rules.0.match.0.headers.x-kind", map[string]string{"regex": "a("})
	badSC, _ := sjson.Set(sidecarConfig(s+1), "propagation.ways", 17)
	for _, bad := range []struct {
		p          *envoy.Process
		node, cfg  string
		wasm, path string
	}{
		{r.gateway, "gateway", badGW, r.gwWasm, "rules[0].match[0].headers.x-kind.regex"},
		{r.sidecar, "sidecar", badSC, r.scWasm, "propagation.ways"},
	} {
		nack := r.x.answer(t, r.x.push(t, bad.node, wasmFilter(bad.wasm, bad.cfg, nil, open)))
		if nack == "" {
			t.Errorf("%s: Envoy accepted a bad configuration", bad.node)
		}
		t.Logf("%s: bad configuration (%s) NACKed: %s", bad.node, bad.path, nack)
		if !criticalLine(bad.p.LogText(), "lanedye: invalid configuration: "+bad.path+": ") {
			t.Errorf("%s: no critical log line naming %s; log:\n%s", bad.node, bad.path, bad.p.LogTail(10))
		}
	}
	mark := l.seq.Load() // requests from here on were sent after both NACKs
	l.waitFor(t, "600 requests after the NACKs", func(tl *tally) bool { return tl.after(mark) >= 600 })
	until := l.seq.Load()
	g2, v3 := r.nextGateway(t)
	s2, v4 := r.nextSidecar(t)
	r.acked(t, v3, v4)
	l.waitFor(t, "the next good generations to serve", func(tl *tally) bool { return tl.gwGen[g2] >= 50 && tl.scGen[s2] >= 50 })
	l.stop()
	r.report(t, l, "bad-configuration")
	r.answers(t, r.pushedGW, r.pushedS)
	var window int
	var others []string
	for _, d := range l.tally.decided {
		if d.seq < mark || d.seq >= until {
			continue
		}
		window++
		if d.gw != g || d.sc != s {
			others = append(others, fmt.Sprintf("request %d: gateway %d, sidecar %d", d.seq, d.gw, d.sc))
		}
	}
	if len(others) > 0 {
		t.Errorf("after the NACKs, %d requests were not decided by the last good generations (gateway %d, sidecar %d), e.g. %s",
			len(others), g, s, strings.Join(others[:min(5, len(others))], "; "))
	}
	t.Logf("after the NACKs and before the next push: %d requests, %d of them decided by gateway generation %d and sidecar generation %d",
		window, window-len(others), g, s)
	r.checkSent(t, l)
}

// report logs a phase's figures and fails on any request that failed or
// did not show one generation's whole effect, and on Envoy's own error and
// reset counters.
func (r *loadRig) report(t *testing.T, l *load, phase string) {
	t.Helper()
	tl := &l.tally
	secs := l.end.Sub(l.start).Seconds()
	t.Logf("%s phase: %d requests in %.1f s (%.0f/s), %d gateway and %d sidecar configurations pushed, %d failed, %d not one generation's effect",
		phase, tl.requests, secs, float64(tl.requests)/secs, len(r.pushedGW), len(r.pushedS), tl.failed, tl.mixed)
	logGenerations(t, "gateway", tl.gwGen)
	logGenerations(t, "sidecar", tl.scGen)
	for d, name := range []string{"the generation that issued it", "the next generation (previous key)", "two or more generations later (key dropped)"} {
		t.Logf("cookies presented to %s: %d recognised, %d not", name, tl.rotation[d].recognised, tl.rotation[d].rejected)
	}
	if tl.older > 0 {
		t.Logf("cookies presented to a generation older than the one that issued them (a worker not yet updated): %d, not recognised", tl.older)
	}
	if tl.failed > 0 || tl.mixed > 0 {
		t.Errorf("%d requests failed and %d showed no single generation's effect, e.g.\n%s", tl.failed, tl.mixed, strings.Join(l.bad, "\n"))
	}
	r.gwStats = noNewErrors(t, r.gateway, r.gwStats)
	r.scStats = noNewErrors(t, r.sidecar, r.scStats)
}

func logGenerations(t *testing.T, role string, byGen map[int]int) {
	t.Helper()
	gens := keys(byGen)
	var line []string
	for i, n := range gens {
		line = append(line, fmt.Sprintf("%d:%d", n, byGen[n]))
		if len(line) == 15 || i == len(gens)-1 {
			t.Logf("requests per %s generation: %s", role, strings.Join(line, " "))
			line = nil
		}
	}
}

// answers checks Envoy's answers to a phase's versions: no NACK; a version
// superseded before the server sent it has none.
func (r *loadRig) answers(t *testing.T, vs ...[]string) {
	t.Helper()
	var acks, skipped int
	for _, list := range vs {
		for _, v := range list {
			switch a, ok := r.x.answerOf(v); {
			case !ok:
				skipped++
			case a != "":
				t.Errorf("version %s NACKed: %s", v, a)
			default:
				acks++
			}
		}
	}
	t.Logf("xDS: %d versions acknowledged, %d superseded before they were sent", acks, skipped)
}

// envoyErrors returns an Envoy's counters of failed and reset requests on
// the data path (its listeners and the clusters they route to).
func envoyErrors(t *testing.T, p *envoy.Process) map[string]uint64 {
	t.Helper()
	m, err := p.Matching(context.Background(),
		`^(http\.(gateway|inbound|outbound)|cluster\.(hop|app|upstream))\.(downstream_rq_[45]xx|downstream_rq_(rx|tx)_reset|downstream_cx_destroy_remote_active_rq|upstream_rq_(rx|tx)_reset|upstream_rq_timeout|upstream_rq_pending_failure_eject|upstream_cx_destroy_with_active_rq|upstream_cx_connect_fail)$`)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func noNewErrors(t *testing.T, p *envoy.Process, before map[string]uint64) map[string]uint64 {
	t.Helper()
	now := envoyErrors(t, p)
	if len(now) == 0 {
		t.Errorf("%s: none of the error counters exist", p.Name)
	}
	for k, v := range now {
		if v != before[k] {
			t.Errorf("%s: %s went from %d to %d", p.Name, k, before[k], v)
		}
	}
	return now
}

// checkCounters waits for both Envoys' lanedye counters to settle and
// compares what they gained since the last check with gw and sc (every
// other counter unchanged; cas_retries, which no request decides, is
// reported). It returns what each gained.
func (r *loadRig) checkCounters(t *testing.T, gw, sc map[string]uint64) (gwGained, scGained map[string]uint64) {
	t.Helper()
	var now map[string]uint64
	r.gwBase, gwGained = expectGained(t, r.gateway, r.gwBase, gw)
	now, scGained = expectGained(t, r.sidecar, r.scBase, sc)
	t.Logf("sidecar %s: %d", casRetries, now[casRetries]-r.scBase[casRetries])
	r.scBase = now
	return gwGained, scGained
}

// checkSent checks that the counters a load phase moved add up to the
// requests it sent: one gateway decision, one id stored and one restored
// each.
func (r *loadRig) checkSent(t *testing.T, l *load) {
	t.Helper()
	gw, sc := r.checkCounters(t, l.tally.gw, l.tally.sc)
	var decided uint64
	for k, v := range gw {
		if strings.HasPrefix(k, "lanedye.lane.") {
			decided += v
		}
	}
	sent, stored, hit := uint64(l.tally.requests), sc["lanedye.propagation.stored"], sc["lanedye.propagation.hit"]
	if decided != sent || stored != sent || hit != sent {
		t.Errorf("%d requests sent: %d gateway decisions, %d ids stored and %d restored in the sidecar", sent, decided, stored, hit)
	}
	t.Logf("counters: %d gateway decisions, %d ids stored and %d restored in the sidecar, for %d requests sent", decided, stored, hit, sent)
}

// expectGained returns p's lanedye counters once settled and what they
// gained since base, and fails unless the gains are want.
func expectGained(t *testing.T, p *envoy.Process, base, want map[string]uint64) (now, gained map[string]uint64) {
	t.Helper()
	gain := func(got map[string]uint64) map[string]uint64 {
		g := map[string]uint64{}
		for k, v := range got {
			if k != casRetries {
				g[k] = v - base[k]
			}
		}
		return g
	}
	now = settle(t, p, func(got map[string]uint64) bool { return len(counterDiff(gain(got), want)) == 0 })
	gained = gain(now)
	if d := counterDiff(gained, want); len(d) > 0 {
		t.Errorf("%s /stats, gained since the last check: %d counters off: %s", p.Name, len(d), strings.Join(d[:min(20, len(d))], "; "))
	}
	return now, gained
}

// load is paced traffic through the gateway, each response checked as it
// comes back against the generations pushed by then.
type load struct {
	r          *loadRig
	client     *http.Client
	quit       chan struct{}
	once       sync.Once
	done       sync.WaitGroup
	seq        atomic.Int64 // requests handed to a worker so far
	jar        cookieJar
	start, end time.Time

	mu    sync.Mutex
	tally tally
	bad   []string // the first failures
}

// tally is what a phase's responses showed.
type tally struct {
	requests, failed, mixed int
	gwGen, scGen            map[int]int       // requests by the generation that decided them
	gw, sc                  map[string]uint64 // the counters they must have moved
	// Cookie requests by generations between the cookie's and the one
	// that decided (0, 1, 2 or more), recognised or not; older: decided
	// by a generation older than the one that issued the cookie.
	rotation [3]struct{ recognised, rejected int }
	older    int
	decided  []decidedBy
}

type decidedBy struct {
	seq    int64
	gw, sc int
}

// after counts the requests from seq on that were decided.
func (tl *tally) after(seq int64) int {
	n := 0
	for _, d := range tl.decided {
		if d.seq >= seq {
			n++
		}
	}
	return n
}

// plan is one request: a kind the rules dye (x-kind a or b), or a sticky
// cookie issued earlier, or neither.
type plan struct {
	seq    int64
	kind   string
	cookie *issued
}

// issued is a sticky cookie a generation issued.
type issued struct {
	gen  int
	lane string
	pair string // "x-lane=<value>"
}

// cookieJar keeps the last cookie each generation issued.
type cookieJar struct {
	mu     sync.Mutex
	byGen  map[int]*issued
	newest int
}

func (j *cookieJar) keep(c *issued) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.byGen[c.gen] = c
	j.newest = max(j.newest, c.gen)
}

// pick returns a cookie of the generation age generations before the newest
// that issued one, else the newest's; nil before any.
func (j *cookieJar) pick(age int) *issued {
	j.mu.Lock()
	defer j.mu.Unlock()
	if c := j.byGen[j.newest-age]; c != nil {
		return c
	}
	return j.byGen[j.newest]
}

// observed is what came back for a request.
type observed struct {
	err        error
	hop        hopView
	debug      string   // the gateway's decision header
	setCookies []string // Set-Cookie values
}

// gatewayEffect is what a gateway generation makes of a request.
type gatewayEffect struct {
	lane, source, rule string
	issued             bool // a Set-Cookie for lane, signed with the generation's key
}

func expectGateway(p plan, n int) gatewayEffect {
	switch {
	case p.cookie != nil && (p.cookie.gen == n || p.cookie.gen == n-1): // its key is listed
		return gatewayEffect{lane: p.cookie.lane, source: "cookie"}
	case p.kind != "":
		return gatewayEffect{lane: dyed(n, p.kind), source: "rule", rule: "g" + strconv.Itoa(n) + "-" + p.kind, issued: true}
	}
	return gatewayEffect{lane: defaultLane, source: "default"}
}

func (e gatewayEffect) debug() string {
	d := "lane=" + e.lane + "; source=" + e.source
	if e.rule != "" {
		d += "; rule=" + e.rule
	}
	return d
}

// gatewayShows reports whether o shows the whole effect of gateway
// generation n on p: lane and route header upstream, decision header and
// Set-Cookie downstream.
func gatewayShows(p plan, o observed, n int) bool {
	e := expectGateway(p, n)
	in := o.hop.In
	if len(in.Routes) != 1 || in.Routes[0] != "x-route-g"+strconv.Itoa(n)+"="+routeOf(n, e.lane) || in.Lane != e.lane || o.debug != e.debug() {
		return false
	}
	if !e.issued {
		return len(o.setCookies) == 0
	}
	return len(o.setCookies) == 1 && strings.HasPrefix(o.setCookies[0], "x-lane="+e.lane+".") && signedBy(o.setCookies[0], stickyKey(n))
}

// startLoad sends loadRate requests a second through the gateway from
// loadWorkers workers until stop.
func (r *loadRig) startLoad(t *testing.T) *load {
	t.Helper()
	l := &load{r: r, quit: make(chan struct{}),
		client: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: loadWorkers}},
		jar:    cookieJar{byGen: map[int]*issued{}},
		tally:  tally{gwGen: map[int]int{}, scGen: map[int]int{}, gw: map[string]uint64{}, sc: map[string]uint64{}},
	}
	jobs := make(chan int64)
	for range loadWorkers {
		l.done.Add(1)
		go func() {
			defer l.done.Done()
			for i := range jobs {
				p := l.plan(i)
				l.check(p, l.send(p))
			}
		}()
	}
	l.start = time.Now()
	l.done.Add(1)
	go l.pace(jobs)
	t.Cleanup(l.stop)
	return l
}

// pace hands request i to a worker at start + i/loadRate; behind schedule
// (every worker busy), it hands them out as workers free up.
func (l *load) pace(jobs chan<- int64) {
	defer l.done.Done()
	defer close(jobs)
	interval := time.Second / loadRate
	timer := time.NewTimer(0)
	defer timer.Stop()
	for i := int64(0); ; i++ {
		timer.Reset(time.Until(l.start.Add(time.Duration(i) * interval)))
		select {
		case <-l.quit:
			return
		case <-timer.C:
		}
		l.seq.Store(i + 1) // before the request can leave
		select {
		case <-l.quit:
			return
		case jobs <- i:
		}
	}
}

// stop ends the load once the requests in flight have come back.
func (l *load) stop() {
	l.once.Do(func() {
		close(l.quit)
		l.done.Wait()
		l.end = time.Now()
	})
}

// waitFor polls the tally until cond holds.
func (l *load) waitFor(t *testing.T, what string, cond func(*tally) bool) {
	t.Helper()
	for deadline := time.Now().Add(3 * time.Minute); ; time.Sleep(50 * time.Millisecond) {
		l.mu.Lock()
		ok := cond(&l.tally)
		l.mu.Unlock()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waited 3 minutes for %s", what)
		}
	}
}

// plan: three in eight requests are of kind a, two of kind b, one neither,
// and two present the cookie of the newest generation that issued one, of
// the one before, or of the one before that, in turn.
func (l *load) plan(i int64) plan {
	p := plan{seq: i}
	switch i % 8 {
	case 0, 1, 2:
		p.kind = "a"
	case 3, 4:
		p.kind = "b"
	case 6, 7:
		p.cookie = l.jar.pick(int(i/8) % 3)
	}
	return p
}

func (l *load) send(p plan) observed {
	req, _ := http.NewRequest(http.MethodGet, l.r.gwURL+"/r/"+strconv.FormatInt(p.seq, 10), nil)
	req.Host = mesh.GatewayHost
	if p.kind != "" {
		req.Header.Set("x-kind", p.kind)
	}
	if p.cookie != nil {
		req.Header.Set("cookie", p.cookie.pair)
	}
	resp, err := l.client.Do(req)
	if err != nil {
		return observed{err: err}
	}
	defer resp.Body.Close()
	var o observed
	if resp.StatusCode != http.StatusOK {
		return observed{err: fmt.Errorf("status %d", resp.StatusCode)}
	}
	if o.err = json.NewDecoder(resp.Body).Decode(&o.hop); o.err == nil && o.hop.Out == nil {
		o.err = fmt.Errorf("the application made no call: %+v", o.hop)
	}
	o.debug = strings.Join(resp.Header.Values(decisionHeader), " | ")
	o.setCookies = resp.Header.Values("Set-Cookie")
	return o
}

// check finds the generations whose whole effect the response shows, among
// those pushed by the time it came back: there must be exactly one of each
// role.
func (l *load) check(p plan, o observed) {
	gwUpTo, scUpTo := int(l.r.gwGen.Load()), int(l.r.scGen.Load())
	var gws, scs []int
	if o.err == nil {
		gws = deciding(gwUpTo, func(n int) bool { return gatewayShows(p, o, n) })
		scs = deciding(scUpTo, func(n int) bool { return sidecarShows(*o.hop.Out, o.hop.In.Lane, n) })
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	tl := &l.tally
	tl.requests++
	switch {
	case o.err != nil:
		tl.failed++
		l.note(fmt.Sprintf("request %d: %v", p.seq, o.err))
	case len(gws) != 1 || len(scs) != 1:
		tl.mixed++
		l.note(fmt.Sprintf("request %d (kind %q, cookie %+v): whole effect of gateway generations %v (of 1..%d) and sidecar generations %v (of 1..%d): %+v, upstream %+v, decision %q, Set-Cookie %q",
			p.seq, p.kind, p.cookie, gws, gwUpTo, scs, scUpTo, o.hop.In, *o.hop.Out, o.debug, o.setCookies))
	default:
		if c := tl.count(p, gws[0], scs[0]); c != nil {
			nv, _, _ := strings.Cut(o.setCookies[0], ";")
			c.pair = nv
			l.jar.keep(c)
		}
	}
}

func (l *load) note(s string) {
	if len(l.bad) < 10 {
		l.bad = append(l.bad, s)
	}
}

// count records a request gateway generation g and sidecar generation s
// decided, and returns the cookie it was issued, if any.
func (tl *tally) count(p plan, g, s int) *issued {
	e := expectGateway(p, g)
	tl.gwGen[g]++
	tl.scGen[s]++
	tl.decided = append(tl.decided, decidedBy{p.seq, g, s})
	tl.gw["lanedye.lane."+e.lane+".requests"]++
	tl.gw["lanedye.source."+e.source+".requests"]++
	tl.gw["lanedye.route."+routeOf(g, e.lane)+".requests"]++
	if e.rule != "" {
		tl.gw["lanedye.rule."+e.rule+".matched"]++
	}
	tl.sc["lanedye.propagation.stored"]++
	countOutbound(tl.sc, s, e.lane)
	if c := p.cookie; c != nil {
		if g < c.gen {
			tl.older++
		} else if rot := &tl.rotation[min(g-c.gen, 2)]; e.source == "cookie" {
			rot.recognised++
		} else {
			rot.rejected++
		}
	}
	if !e.issued {
		return nil
	}
	tl.gw["lanedye.sticky.issued"]++
	return &issued{gen: g, lane: e.lane}
}
