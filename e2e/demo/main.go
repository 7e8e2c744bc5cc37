// Command demo starts the loopback mesh with the example configuration
// (deploy/plugins, deploy/example) on the built module, sends a handful of
// requests through the gateway and prints which version served each hop.
//
//	make demo      (or: make build && go run ./e2e/demo)
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/lanedye/lanedye/e2e/mesh"
)

type step struct {
	what    string
	path    string
	headers []string
	want    string // expected frontend > checkout > payment versions
}

func main() {
	wasm, err := os.ReadFile("build/lanedye.wasm")
	if err != nil {
		fail("run make build first: %v", err)
	}
	topo, err := mesh.LoadTopology(".")
	if err != nil {
		fail("%v", err)
	}
	m, err := mesh.Start(context.Background(), wasm, topo, mesh.ForwardRequestID)
	if err != nil {
		fail("%v", err)
	}
	defer m.Close()

	browser := m.Client()
	browser.Jar, _ = cookiejar.New(nil)
	steps := []step{
		{"undyed user", "/", nil, "base base base"},
		{"rule user-tail-012 (x-user-id: 12340)", "/", []string{"x-user-id", "12340"}, "gray base gray"},
		{"same browser, sticky cookie only", "/cart", nil, "gray base gray"},
		{"rule beijing-region", "/", []string{"x-user-region", "beijing"}, "gray base gray"},
		{"spoofed x-swimlane: gray", "/", []string{"x-swimlane", "gray"}, "base base base"},
		{"forged sticky cookie", "/", []string{"cookie", "x-sticky-version=gray.Zm9yZ2Vk"}, "base base base"},
		{"gray, app forwards no id (the limit)", "/?forward=none", []string{"x-user-id", "12340"}, "gray base base"},
	}
	fmt.Printf("lanedye demo: gateway %s, apps forward only x-request-id; checkout has no gray deployment\n\n", m.GatewayURL)
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "REQUEST\tFRONTEND\tCHECKOUT\tPAYMENT\tSET-COOKIE\tOK")
	bad := 0
	for i, s := range steps {
		c := browser
		if i != 1 && i != 2 { // only the sticky pair shares a browser
			c = m.Client()
		}
		hops, cookie, err := get(c, m.GatewayURL+s.path, s.headers)
		if err != nil {
			fail("%s: %v", s.what, err)
		}
		var vs []string
		for _, h := range hops {
			vs = append(vs, h.Version)
		}
		ok := "yes"
		if strings.Join(vs, " ") != s.want {
			ok, bad = "NO, want "+s.want, bad+1
		}
		for len(vs) < 3 {
			vs = append(vs, "-")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", s.what, vs[0], vs[1], vs[2], cookie, ok)
	}
	tw.Flush()
	gw := m.Gateway()
	_ = gw.Tick() // the plugin hands its counts to the host on every tick
	fmt.Println()
	for _, n := range []string{"lanedye.lane.gray.requests", "lanedye.lane.base.requests", "lanedye.source.cookie.requests", "lanedye.lane_header.rejected", "lanedye.sticky.issued"} {
		v, _ := gw.Counter(n)
		fmt.Printf("gateway %-34s %d\n", n, v)
	}
	for _, sc := range []struct{ svc, ver string }{{"frontend", "gray"}, {"checkout", "base"}} {
		in := m.Sidecar(sc.svc, sc.ver)
		_ = in.Tick()
		for _, n := range []string{"lanedye.propagation.stored", "lanedye.propagation.hit"} {
			v, _ := in.Counter(n)
			fmt.Printf("%-8s %-25s %-26s %d\n", sc.svc+"-"+sc.ver, "sidecar", n, v)
		}
	}
	if bad > 0 {
		fail("%d requests did not take the expected lanes", bad)
	}
}

func get(c *http.Client, url string, kv []string) ([]mesh.Hop, string, error) {
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Host = "myapp.example.com"
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
	var hops []mesh.Hop
	cookie := "-"
	if cs := resp.Cookies(); len(cs) > 0 {
		cookie = cs[0].Name + "=" + cs[0].Value[:min(len(cs[0].Value), 12)] + "…"
	}
	return hops, cookie, json.NewDecoder(resp.Body).Decode(&hops)
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "demo: "+format+"\n", args...)
	os.Exit(1)
}
