package mesh

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"sync"
	"testing"
)

// Target is a running gateway to drive: the loopback mesh or real Envoy.
type Target struct {
	GatewayURL string
	// NewClient returns a fresh HTTP client that trusts the gateway.
	NewClient func() *http.Client
	// Forward is what the applications forward.
	Forward Forwarding
}

// Paths every scenario expects, frontend > checkout > payment.
const (
	GrayPath = "frontend-gray > checkout-base > payment-gray"
	BasePath = "frontend-base > checkout-base > payment-base"
)

// browser is one user agent: a cookie jar, and with traceparent a new trace
// per request, as an instrumented front end starts.
type browser struct {
	tg   Target
	http *http.Client
}

func (tg Target) browser() *browser {
	c := tg.NewClient()
	c.Jar, _ = cookiejar.New(nil)
	return &browser{tg: tg, http: c}
}

func (b *browser) get(path string, kv ...string) ([]Hop, *http.Response, error) {
	req, _ := http.NewRequest(http.MethodGet, b.tg.GatewayURL+path, nil)
	req.Host = "myapp.example.com"
	for i := 0; i+1 < len(kv); i += 2 {
		req.Header.Add(kv[i], kv[i+1])
	}
	if b.tg.Forward == ForwardTraceparent {
		req.Header.Set("traceparent", NewTraceparent())
	}
	resp, err := b.http.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, resp, fmt.Errorf("status %d", resp.StatusCode)
	}
	var hops []Hop
	err = json.NewDecoder(resp.Body).Decode(&hops)
	return hops, resp, err
}

// PathOf renders hops as "frontend-gray > checkout-base > payment-gray".
func PathOf(hops []Hop) string {
	var parts []string
	for _, h := range hops {
		parts = append(parts, h.Service+"-"+h.Version)
	}
	return strings.Join(parts, " > ")
}

// RunScenarios checks the product's central claims against a gateway
// configured from deploy/: rule dyeing through a service without a gray
// deployment, undyed traffic, the sticky cookie round trip, forged cookies
// and spoofed headers, 200 concurrent mixed-lane requests, and the
// documented limit of an application that forwards no id.
func RunScenarios(t *testing.T, tg Target) {
	expect := func(b *browser, want, name, p string, kv ...string) *http.Response {
		t.Helper()
		hops, resp, err := b.get(p, kv...)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got := PathOf(hops); got != want {
			t.Errorf("%s: %s, want %s", name, got, want)
		}
		return resp
	}
	t.Run("dyed by rule, through a service without gray", func(t *testing.T) {
		expect(tg.browser(), GrayPath, "x-user-id 12340", "/", "x-user-id", "12340")
	})
	t.Run("undyed", func(t *testing.T) {
		expect(tg.browser(), BasePath, "no rule", "/")
	})
	t.Run("sticky cookie round trip", func(t *testing.T) {
		b := tg.browser()
		resp := expect(b, GrayPath, "first request", "/", "x-user-id", "12341")
		if len(resp.Cookies()) != 1 || resp.Cookies()[0].Name != "x-sticky-version" {
			t.Fatalf("cookies %v", resp.Cookies())
		}
		// The jar sends the cookie; nothing else dyes the request.
		resp = expect(b, GrayPath, "second request, cookie only", "/orders")
		if len(resp.Cookies()) != 0 {
			t.Errorf("cookie re-issued: %v", resp.Cookies())
		}
	})
	t.Run("forged cookie and spoofed header", func(t *testing.T) {
		b := tg.browser()
		expect(b, BasePath, "forged cookie", "/", "cookie", "x-sticky-version=gray.Zm9yZ2Vk")
		expect(b, BasePath, "unsigned cookie", "/", "cookie", "x-sticky-version=gray")
		expect(b, BasePath, "spoofed lane header", "/", "x-swimlane", "gray")
		expect(b, BasePath, "spoofed route header", "/", "x-lane-route", "gray")
	})
	t.Run("application forwards no id", func(t *testing.T) {
		// Without a correlation id the lane is lost after the first hop.
		expect(tg.browser(), "frontend-gray > checkout-base > payment-base", "forward=none", "/?forward=none", "x-user-id", "12340")
	})
	t.Run("200 concurrent mixed-lane requests", func(t *testing.T) {
		var wg sync.WaitGroup
		var mu sync.Mutex
		mixups := 0
		for i := 0; i < 200; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				var kv []string
				want := BasePath
				if i%2 == 0 {
					kv, want = []string{"x-user-region", "beijing"}, GrayPath
				}
				hops, _, err := tg.browser().get(fmt.Sprintf("/r/%d", i), kv...)
				if err != nil || PathOf(hops) != want {
					mu.Lock()
					mixups++
					if mixups < 5 {
						t.Errorf("request %d: %s (%v), want %s", i, PathOf(hops), err, want)
					}
					mu.Unlock()
				}
			}(i)
		}
		wg.Wait()
		if mixups != 0 {
			t.Errorf("%d of 200 requests in the wrong lane", mixups)
		}
	})
}
