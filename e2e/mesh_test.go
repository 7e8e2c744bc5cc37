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
			d := &driver{m: m, fwd: fwd}
			s := &mesh.Suite{Ledger: mesh.NewLedger(m.Topology), Forward: fwd,
				NewBrowser: func(h2 bool) mesh.Browser { return d.browser(h2) }}
			for _, h2 := range []bool{false, true} {
				t.Run(map[bool]string{false: "HTTP/1.1", true: "HTTP/2"}[h2], func(t *testing.T) {
					s.Scenarios(t, h2)
					t.Run("the cookie jar keeps both cookies", func(t *testing.T) {
						b := d.browser(h2)
						s.Send(t, b, "/?set-cookie=1", mesh.Decision{Lane: "gray", Source: "rule", Rule: "user-tail-012", Issued: true},
							"", "x-user-id", "12342")
						// The client keys cookies by the Host header it sent.
						site := &url.URL{Scheme: "https", Host: mesh.GatewayHost, Path: "/"}
						if n := len(b.http.Jar.Cookies(site)); n != 2 {
							t.Errorf("%d cookies in the jar, want 2", n)
						}
					})
				})
			}
			t.Run("200 concurrent mixed-lane requests", func(t *testing.T) {
				s.Concurrent(t, 200, func(i int) bool { return i%4 == 0 })
			})
			t.Run("counters in each Envoy's /stats", func(t *testing.T) {
				if err := s.Ledger.Check(m.Envoys()); err != nil {
					t.Error(err)
				}
			})
		})
	}
}

// driver starts browsers on a mesh.
type driver struct {
	m   *mesh.Mesh
	fwd mesh.Forwarding
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

// Get implements mesh.Browser.
func (b *browser) Get(path string, fwd mesh.Forwarding, kv ...string) (*http.Response, []mesh.Hop, error) {
	req, err := mesh.GatewayRequest(b.d.m.GatewayURL, path, fwd, kv...)
	if err != nil {
		return nil, nil, err
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
