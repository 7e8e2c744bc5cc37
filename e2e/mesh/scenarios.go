package mesh

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
)

// The demo's scenarios, shared by every suite that runs deploy/'s example
// through a gateway: the e2e suite on hand-written bootstraps and e2e/istio
// on the configuration Istio generates. Each request is checked hop by hop
// against the Ledger.

// The paths a gray and an undyed request take through the example: checkout
// has no gray deployment.
const (
	GrayPath = "frontend-gray > checkout-base > payment-gray"
	BasePath = "frontend-base > checkout-base > payment-base"
)

// Browser is one user agent in front of the gateway; it keeps the cookies
// it is given.
type Browser interface {
	// Get sends one request through the gateway (kv: extra headers; fwd "":
	// what the applications forward by default) and returns the response
	// and the hops the applications report.
	Get(path string, fwd Forwarding, kv ...string) (*http.Response, []Hop, error)
}

// GatewayRequest is a request to the example's host through the gateway at
// gatewayURL: kv are extra headers, and fwd ("": the applications' default)
// what the applications forward.
func GatewayRequest(gatewayURL, path string, fwd Forwarding, kv ...string) (*http.Request, error) {
	if fwd != "" {
		sep := "?"
		if strings.Contains(path, "?") {
			sep = "&"
		}
		path += sep + "forward=" + string(fwd)
	}
	req, err := http.NewRequest(http.MethodGet, gatewayURL+path, nil)
	if err != nil {
		return nil, err
	}
	req.Host = GatewayHost
	for i := 0; i+1 < len(kv); i += 2 {
		req.Header.Add(kv[i], kv[i+1])
	}
	return req, nil
}

// Suite runs the scenarios against a mesh.
type Suite struct {
	Ledger  *Ledger
	Forward Forwarding // what the applications forward by default
	// NewBrowser starts a user agent with no cookies; h2 asks for HTTP/2
	// where the suite runs both.
	NewBrowser func(h2 bool) Browser
}

// Send makes one request and checks its hops against the ledger's
// expectation for decision dec. It returns the response and the path taken.
func (s *Suite) Send(t *testing.T, b Browser, path string, dec Decision, fwd Forwarding, kv ...string) (*http.Response, string) {
	t.Helper()
	resp, hops, err := b.Get(path, fwd, kv...)
	if err != nil {
		t.Fatalf("%s %v: %v", path, kv, err)
	}
	if fwd == "" {
		fwd = s.Forward
	}
	want := s.Ledger.Expect(dec, fwd, s.Forward == ForwardTraceparent)
	if got, w := PathOf(hops, true), PathOf(want, true); got != w {
		t.Errorf("%s %v:\n got  %s\n want %s", path, kv, got, w)
	}
	return resp, PathOf(hops, false)
}

// Scenarios runs the demo's scenarios, each as a subtest.
func (s *Suite) Scenarios(t *testing.T, h2 bool) {
	rule := func(name string) Decision {
		return Decision{Lane: "gray", Source: "rule", Rule: name, Issued: true}
	}
	undyed := Decision{Lane: "base", Source: "default"}
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
	t.Run("dyed by rule, through a service without gray (route header base), back into gray", func(t *testing.T) {
		resp, path := s.Send(t, s.NewBrowser(h2), "/", rule("user-tail-012"), "", "x-user-id", "12340")
		check(t, resp, "x-sticky-version", path, GrayPath)
	})
	t.Run("undyed", func(t *testing.T) {
		resp, path := s.Send(t, s.NewBrowser(h2), "/", undyed, "")
		check(t, resp, "", path, BasePath)
	})
	t.Run("sticky cookie round trip", func(t *testing.T) {
		b := s.NewBrowser(h2)
		resp, _ := s.Send(t, b, "/", rule("beijing-region"), "", "x-user-region", "beijing")
		check(t, resp, "x-sticky-version")
		// The cookie comes back; nothing else dyes the request.
		resp, path := s.Send(t, b, "/orders", Decision{Lane: "gray", Source: "cookie"}, "")
		check(t, resp, "", path, GrayPath)
	})
	t.Run("the application's own Set-Cookie survives beside the sticky one", func(t *testing.T) {
		b := s.NewBrowser(h2)
		resp, _ := s.Send(t, b, "/?set-cookie=1", rule("user-tail-012"), "", "x-user-id", "12342")
		if n := len(resp.Header.Values("Set-Cookie")); n != 2 {
			t.Errorf("%d Set-Cookie headers, want 2 separate ones: %q", n, resp.Header.Values("Set-Cookie"))
		}
		check(t, resp, AppCookie+",x-sticky-version")
		// Both come back.
		again, _ := s.Send(t, b, "/", Decision{Lane: "gray", Source: "cookie"}, "")
		check(t, again, "")
	})
	t.Run("forged cookies and spoofed lane, route and baggage headers", func(t *testing.T) {
		b := s.NewBrowser(h2)
		s.Send(t, b, "/", undyed, "", "cookie", "x-sticky-version=gray.Zm9yZ2Vk")
		s.Send(t, b, "/", undyed, "", "cookie", "x-sticky-version=gray")
		s.Send(t, b, "/", Decision{Lane: "base", Source: "default", Rejected: true}, "", "x-swimlane", "gray")
		s.Send(t, b, "/", undyed, "", "x-lane-route", "gray")
		s.Send(t, b, "/", undyed, "", "baggage", "lane=gray")
	})
	t.Run("applications that forward no id: the workload lane", func(t *testing.T) {
		// frontend-gray's pod is labelled gray: its sidecar gives its
		// call to checkout that lane (checkout sees it); checkout-base's
		// pod is in no lane, so its call to payment carries none.
		resp, path := s.Send(t, s.NewBrowser(h2), "/", rule("user-tail-012"), ForwardNone, "x-user-id", "12340")
		check(t, resp, "x-sticky-version", path, "frontend-gray > checkout-base > payment-base")
	})
}

// Concurrent sends n requests at once, alternating gray (by rule) and
// undyed, each from a new browser (h2 for request i), and checks every one.
func (s *Suite) Concurrent(t *testing.T, n int, h2 func(i int) bool) {
	var wg sync.WaitGroup
	var mu sync.Mutex
	var wrong []string
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			dec, kv, want := Decision{Lane: "base", Source: "default"}, []string(nil), BasePath
			if i%2 == 0 {
				dec = Decision{Lane: "gray", Source: "rule", Rule: "beijing-region", Issued: true}
				kv, want = []string{"x-user-region", "beijing"}, GrayPath
			}
			_, hops, err := s.NewBrowser(h2(i)).Get(fmt.Sprintf("/r/%d", i), "", kv...)
			exp := s.Ledger.Expect(dec, s.Forward, s.Forward == ForwardTraceparent)
			if err != nil || PathOf(hops, true) != PathOf(exp, true) || PathOf(hops, false) != want {
				mu.Lock()
				wrong = append(wrong, fmt.Sprintf("request %d: %s (%v), want %s", i, PathOf(hops, true), err, PathOf(exp, true)))
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(wrong) > 0 {
		t.Errorf("%d of %d requests in the wrong lane, e.g.\n%s", len(wrong), n, strings.Join(wrong[:min(5, len(wrong))], "\n"))
	}
}

// PathOf renders hops as "frontend-gray > checkout-base > payment-gray",
// with the lane and route headers each application saw when full.
func PathOf(hops []Hop, full bool) string {
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
