// Package e2e runs lanedye end to end in real Envoy: the example lane
// topology of deploy/ (e2e/mesh), the configuration lifecycle through an xDS
// server, and the bootstraps' validity. The tests fail, never skip, without
// an Envoy: `make test` installs one with `make envoy`.
package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/lanedye/lanedye/e2e/envoy"
	"github.com/lanedye/lanedye/e2e/mesh"
)

// root is the repository root seen from this directory.
const root = ".."

func envoyBinary(t *testing.T) string {
	t.Helper()
	bin, err := envoy.Binary(root)
	if err != nil {
		t.Fatal(err)
	}
	v, err := envoy.Version(bin)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("Envoy %s (%s)", v, bin)
	return bin
}

func TestMesh(t *testing.T) {
	bin := envoyBinary(t)
	for _, fwd := range []mesh.Forwarding{mesh.ForwardRequestID, mesh.ForwardTraceparent} {
		t.Run("apps forward "+string(fwd), func(t *testing.T) {
			m, err := mesh.Start(mesh.Options{Root: root, Envoy: bin, Dir: t.TempDir(), Forward: fwd})
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			d := &driver{m: m, fwd: fwd, ledger: mesh.NewLedger(m.Topology)}
			for _, h2 := range []bool{false, true} {
				t.Run(map[bool]string{false: "HTTP/1.1", true: "HTTP/2"}[h2], func(t *testing.T) {
					d.scenarios(t, h2)
				})
			}
			t.Run("200 concurrent mixed-lane requests", d.concurrent)
			t.Run("counters in each Envoy's /stats", func(t *testing.T) {
				if err := d.ledger.Check(m.Envoys()); err != nil {
					t.Error(err)
				}
			})
		})
	}
}

// driver sends requests through a mesh and checks each against the ledger.
type driver struct {
	m      *mesh.Mesh
	fwd    mesh.Forwarding
	ledger *mesh.Ledger
}

// browser is one user agent: a client with a cookie jar.
type browser struct {
	d    *driver
	http *http.Client
	h2   bool
}

func (d *driver) browser(h2 bool) *browser {
	c := d.m.Client(h2)
	c.Jar, _ = cookiejar.New(nil)
	return &browser{d: d, http: c, h2: h2}
}

// send makes one request through the gateway (kv: extra headers; fwd "":
// what the applications forward by default) and checks the hops against the
// ledger's expectation for decision d.
func (b *browser) send(t *testing.T, path string, dec mesh.Decision, fwd mesh.Forwarding, kv ...string) (*http.Response, string) {
	t.Helper()
	resp, hops, err := b.get(path, fwd, kv...)
	if err != nil {
		t.Fatalf("%s %v: %v", path, kv, err)
	}
	if fwd == "" {
		fwd = b.d.fwd
	}
	want := b.d.ledger.Expect(dec, fwd, b.d.fwd == mesh.ForwardTraceparent)
	if got, w := pathOf(hops, true), pathOf(want, true); got != w {
		t.Errorf("%s %v:\n got  %s\n want %s", path, kv, got, w)
	}
	return resp, pathOf(hops, false)
}

func (b *browser) get(path string, fwd mesh.Forwarding, kv ...string) (*http.Response, []mesh.Hop, error) {
	if fwd != "" {
		sep := "?"
		if strings.Contains(path, "?") {
			sep = "&"
		}
		path += sep + "forward=" + string(fwd)
	}
	req, err := http.NewRequest(http.MethodGet, b.d.m.GatewayURL+path, nil)
	if err != nil {
		return nil, nil, err
	}
	req.Host = mesh.GatewayHost
	for i := 0; i+1 < len(kv); i += 2 {
		req.Header.Add(kv[i], kv[i+1])
	}
	if b.d.fwd == mesh.ForwardTraceparent {
		req.Header.Set("traceparent", mesh.NewTraceparent())
	}
	resp, err := b.http.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	if (resp.ProtoMajor == 2) != b.h2 {
		return resp, nil, fmt.Errorf("answered over %s", resp.Proto)
	}
	if resp.StatusCode != http.StatusOK {
		return resp, nil, fmt.Errorf("status %d", resp.StatusCode)
	}
	var hops []mesh.Hop
	err = json.NewDecoder(resp.Body).Decode(&hops)
	return resp, hops, err
}

// pathOf renders hops as "frontend-gray > checkout-base > payment-gray", with
// the lane and route headers each application saw when full.
func pathOf(hops []mesh.Hop, full bool) string {
	var parts []string
	for _, h := range hops {
		p := h.Service + "-" + h.Version
		if full {
			p += fmt.Sprintf("[lane=%s route=%s]", h.Lane, h.Route)
		}
		parts = append(parts, p)
	}
	return strings.Join(parts, " > ")
}

const (
	grayPath = "frontend-gray > checkout-base > payment-gray"
	basePath = "frontend-base > checkout-base > payment-base"
)

func (d *driver) scenarios(t *testing.T, h2 bool) {
	rule := func(name string) mesh.Decision {
		return mesh.Decision{Lane: "gray", Source: "rule", Rule: name, Issued: true}
	}
	undyed := mesh.Decision{Lane: "base", Source: "default"}
	check := func(t *testing.T, resp *http.Response, want string, path ...string) {
		t.Helper()
		if len(path) == 2 && path[0] != path[1] {
			t.Errorf("path %s, want %s", path[0], path[1])
		}
		var got []string
		for _, c := range resp.Cookies() {
			got = append(got, c.Name)
		}
		if strings.Join(got, ",") != want {
			t.Errorf("Set-Cookie %q, want cookies %q", resp.Header.Values("Set-Cookie"), want)
		}
	}
	t.Run("dyed by rule, through a service without gray, back into gray", func(t *testing.T) {
		resp, path := d.browser(h2).send(t, "/", rule("user-tail-012"), "", "x-user-id", "12340")
		check(t, resp, "x-sticky-version", path, grayPath)
	})
	t.Run("undyed", func(t *testing.T) {
		resp, path := d.browser(h2).send(t, "/", undyed, "")
		check(t, resp, "", path, basePath)
	})
	t.Run("sticky cookie round trip", func(t *testing.T) {
		b := d.browser(h2)
		resp, _ := b.send(t, "/", rule("beijing-region"), "", "x-user-region", "beijing")
		check(t, resp, "x-sticky-version")
		// The jar sends the cookie back; nothing else dyes the request.
		resp, path := b.send(t, "/orders", mesh.Decision{Lane: "gray", Source: "cookie"}, "")
		check(t, resp, "", path, grayPath)
	})
	t.Run("the application's own Set-Cookie survives beside the sticky one", func(t *testing.T) {
		b := d.browser(h2)
		resp, _ := b.send(t, "/?set-cookie=1", rule("user-tail-012"), "", "x-user-id", "12342")
		if n := len(resp.Header.Values("Set-Cookie")); n != 2 {
			t.Errorf("%d Set-Cookie headers, want 2 separate ones: %q", n, resp.Header.Values("Set-Cookie"))
		}
		check(t, resp, mesh.AppCookie+",x-sticky-version")
		// Both are in the jar and both come back.
		again, _ := b.send(t, "/", mesh.Decision{Lane: "gray", Source: "cookie"}, "")
		check(t, again, "")
		// The client keys cookies by the Host header it sent.
		site := &url.URL{Scheme: "https", Host: mesh.GatewayHost, Path: "/"}
		if n := len(b.http.Jar.Cookies(site)); n != 2 {
			t.Errorf("%d cookies in the jar, want 2", n)
		}
	})
	t.Run("forged cookies and spoofed headers", func(t *testing.T) {
		b := d.browser(h2)
		b.send(t, "/", undyed, "", "cookie", "x-sticky-version=gray.Zm9yZ2Vk")
		b.send(t, "/", undyed, "", "cookie", "x-sticky-version=gray")
		b.send(t, "/", mesh.Decision{Lane: "base", Source: "default", Rejected: true}, "", "x-swimlane", "gray")
		b.send(t, "/", undyed, "", "x-lane-route", "gray")
		b.send(t, "/", undyed, "", "baggage", "lane=gray")
	})
	t.Run("applications that forward no id: the workload lane", func(t *testing.T) {
		// frontend-gray's pod is labelled gray: its sidecar gives its
		// call to checkout that lane (checkout sees it); checkout-base's
		// pod is in no lane, so its call to payment carries none.
		resp, path := d.browser(h2).send(t, "/", rule("user-tail-012"), mesh.ForwardNone, "x-user-id", "12340")
		check(t, resp, "x-sticky-version", path, "frontend-gray > checkout-base > payment-base")
	})
}

func (d *driver) concurrent(t *testing.T) {
	var wg sync.WaitGroup
	var mu sync.Mutex
	var wrong []string
	for i := range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b := d.browser(i%4 == 0)
			dec, kv, want := mesh.Decision{Lane: "base", Source: "default"}, []string(nil), basePath
			if i%2 == 0 {
				dec = mesh.Decision{Lane: "gray", Source: "rule", Rule: "beijing-region", Issued: true}
				kv, want = []string{"x-user-region", "beijing"}, grayPath
			}
			_, hops, err := b.get(fmt.Sprintf("/r/%d", i), "", kv...)
			exp := d.ledger.Expect(dec, d.fwd, d.fwd == mesh.ForwardTraceparent)
			if err != nil || pathOf(hops, true) != pathOf(exp, true) || pathOf(hops, false) != want {
				mu.Lock()
				wrong = append(wrong, fmt.Sprintf("request %d: %s (%v), want %s", i, pathOf(hops, true), err, pathOf(exp, true)))
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(wrong) > 0 {
		t.Errorf("%d of 200 requests in the wrong lane, e.g.\n%s", len(wrong), strings.Join(wrong[:min(5, len(wrong))], "\n"))
	}
}
