// Command demo runs the example lane topology of deploy/ on real Envoy (a
// TLS ingress gateway and a sidecar Envoy per application, every one loading
// its role's module with deploy/'s configuration), sends a handful of
// requests through the gateway, and prints which version served each hop
// and the lanedye counters each Envoy's admin endpoint reports.
//
//	make demo      (or: make build envoy && go run ./e2e/demo)
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/cookiejar"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/lanedye/lanedye/e2e/envoy"
	"github.com/lanedye/lanedye/e2e/mesh"
)

type step struct {
	what    string
	path    string
	headers []string
	want    string // expected frontend, checkout, payment versions
	browser int    // requests of one browser share a cookie jar
}

var steps = []step{
	{"undyed user", "/", nil, "base base base", 0},
	{"rule user-tail-012 (x-user-id: 12340)", "/", []string{"x-user-id", "12340"}, "gray base gray", 1},
	{"same browser, sticky cookie only", "/cart", nil, "gray base gray", 1},
	{"rule beijing-region", "/", []string{"x-user-region", "beijing"}, "gray base gray", 2},
	{"spoofed x-swimlane: gray", "/", []string{"x-swimlane", "gray"}, "base base base", 3},
	{"forged sticky cookie", "/", []string{"cookie", "x-sticky-version=gray.Zm9yZ2Vk"}, "base base base", 4},
	{"gray, apps forward nothing: workload lane", "/?forward=none", []string{"x-user-id", "12340"}, "gray base base", 5},
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

func run() error {
	bin, err := envoy.Binary(".")
	if err != nil {
		return err
	}
	version, err := envoy.Version(bin)
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "lanedye-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	fmt.Printf("starting Envoy %s: a TLS gateway (lanedye-gateway.wasm) and 5 sidecars (lanedye-sidecar.wasm), each compiling its module ...\n", version)
	start := time.Now()
	m, err := mesh.Start(mesh.Options{Root: ".", Envoy: bin, Dir: dir, Forward: mesh.ForwardRequestID})
	if err != nil {
		return err
	}
	defer m.Close()
	fmt.Printf("ready in %.1fs; gateway %s; the apps forward only x-request-id; checkout has no gray deployment\n\n",
		time.Since(start).Seconds(), m.GatewayURL)

	bad, err := table(m)
	if err != nil {
		return err
	}
	fmt.Println()
	if err := settle(m, len(steps)); err != nil {
		return err
	}
	if err := counters(m); err != nil {
		return err
	}
	if bad > 0 {
		return fmt.Errorf("%d requests did not take the expected lanes", bad)
	}
	return nil
}

func table(m *mesh.Mesh) (bad int, err error) {
	browsers := map[int]*http.Client{}
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "REQUEST\tFRONTEND\tCHECKOUT\tPAYMENT\tLANE SEEN BY EACH APP\tSET-COOKIE\tOK")
	for _, s := range steps {
		c := browsers[s.browser]
		if c == nil {
			c = m.Client(false)
			c.Jar, _ = cookiejar.New(nil)
			browsers[s.browser] = c
		}
		hops, cookie, err := get(c, m.GatewayURL+s.path, s.headers)
		if err != nil {
			return 0, fmt.Errorf("%s: %w", s.what, err)
		}
		var vs, lanes []string
		for _, h := range hops {
			vs = append(vs, h.Version)
			lanes = append(lanes, or(h.Lane, "-"))
		}
		ok := "yes"
		if strings.Join(vs, " ") != s.want {
			ok, bad = "NO, want "+s.want, bad+1
		}
		for len(vs) < 3 {
			vs = append(vs, "-")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", s.what, vs[0], vs[1], vs[2], strings.Join(lanes, " "), cookie, ok)
	}
	return bad, tw.Flush()
}

// settle polls until the counters have reached Envoy (the plugin hands them
// over on its 1 s tick): the gateway's lane counters add up to the requests
// sent, and no Envoy's counters change from one poll to the next, a tick
// apart.
func settle(m *mesh.Mesh, sent int) error {
	ctx := context.Background()
	prev := map[string]map[string]uint64{}
	for deadline := time.Now().Add(time.Minute); ; {
		stable := true
		for name, p := range m.Envoys() {
			cs, err := p.Lanedye(ctx)
			if err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			stable = stable && maps.Equal(cs, prev[name])
			prev[name] = cs
		}
		var total uint64
		for k, v := range prev["gateway"] {
			if strings.HasPrefix(k, "lanedye.lane.") {
				total += v
			}
		}
		if stable && total == uint64(sent) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("counters did not settle: the gateway counted %d of %d requests", total, sent)
		}
		time.Sleep(1200 * time.Millisecond) // a tick apart
	}
}

// counters prints every non-zero lanedye counter of every Envoy.
func counters(m *mesh.Mesh) error {
	envoys := m.Envoys()
	names := make([]string, 0, len(envoys))
	for n := range envoys {
		names = append(names, n)
	}
	sort.Strings(names)
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ENVOY\tCOUNTER (admin /stats, without the wasmcustom. prefix)\tVALUE")
	for _, n := range names {
		cs, err := envoys[n].Lanedye(context.Background())
		if err != nil {
			return fmt.Errorf("%s: %w", n, err)
		}
		keys := make([]string, 0, len(cs))
		for k, v := range cs {
			if v != 0 {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(tw, "%s\t%s\t%d\n", n, k, cs[k])
		}
	}
	return tw.Flush()
}

func get(c *http.Client, url string, kv []string) ([]mesh.Hop, string, error) {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return nil, "", err
	}
	req.Host = mesh.GatewayHost
	for i := 0; i+1 < len(kv); i += 2 {
		req.Header.Add(kv[i], kv[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, "", fmt.Errorf("status %d", resp.StatusCode)
	}
	cookie := "-"
	if cs := resp.Cookies(); len(cs) > 0 {
		cookie = cs[0].Name + "=" + cs[0].Value[:min(len(cs[0].Value), 12)] + "…"
	}
	var hops []mesh.Hop
	return hops, cookie, json.NewDecoder(resp.Body).Decode(&hops)
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
