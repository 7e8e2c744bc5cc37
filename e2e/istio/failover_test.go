package istioe2e

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Fallback on unhealthy lanes, through Istio's translation in real Envoy:
// lanedye render --health-fallback's EnvoyFilters are loaded into istiod
// with the rest of deploy/'s example; istiod adds the aggregate clusters
// and points the gray routes at them. Gray requests go through the gateway
// without pause while payment's only gray endpoint fails readiness
// (Kubernetes marks it not ready in its EndpointSlice), then is removed
// (its pod deleted) and the application stops; they must be served by
// payment-base with no 5xx, and come back to payment-gray when the pod is
// ready again. Without --health-fallback the same failure gives 503s: the
// check can fail.
func TestHealthFallback(t *testing.T) {
	t.Run("with --health-fallback", func(t *testing.T) {
		m := startMesh(t, meshOptions{API: wasmPluginAPI, RenderArgs: []string{"--health-fallback", "--port", "8000"}})
		m.checkFallbackConfig(t)
		r := m.failover(t, true)
		t.Log(r)
		if r.failed > 0 {
			t.Errorf("%d requests failed (%d 5xx); want none", r.failed, r.status5xx)
		}
		if r.toBase < 0 || r.toGray < 0 {
			t.Errorf("gray requests never settled on payment-base (%v) or back on payment-gray (%v)", r.toBase, r.toGray)
		}
		if r.grayWhileDown > 0 {
			t.Errorf("payment-gray served %d requests after its endpoint was removed", r.grayWhileDown)
		}
	})
	t.Run("without: the same failure answers 5xx", func(t *testing.T) {
		m := startMesh(t, meshOptions{API: wasmPluginAPI})
		r := m.failover(t, false)
		t.Log(r)
		if r.status5xx == 0 {
			t.Error("no 5xx without the aggregate clusters: the failure does not reach the gray route, so the test above proves nothing")
		}
	})
}

// checkFallbackConfig checks what istiod made of the EnvoyFilter in
// checkout's sidecar (the caller of payment): the aggregate cluster, gray
// subset first, and the gray route pointing at it.
func (m *istioMesh) checkFallbackConfig(t *testing.T) {
	t.Helper()
	const agg = "lanedye-fallback|8000|gray|payment.lanedye-demo.svc.cluster.local"
	sc := m.Sidecars["checkout-base"]
	b, err := sc.Get(context.Background(), "/config_dump?resource=dynamic_active_clusters")
	if err != nil {
		t.Fatal(err)
	}
	want := `"clusters":["outbound|8000|gray|payment.lanedye-demo.svc.cluster.local","outbound|8000|base|payment.lanedye-demo.svc.cluster.local"]`
	if !strings.Contains(compact(b), `"name":"`+agg+`"`) || !strings.Contains(compact(b), want) {
		t.Fatalf("checkout's sidecar has no aggregate cluster %s over gray then base:\n%.3000s", agg, b)
	}
	b, err = sc.Get(context.Background(), "/config_dump?resource=dynamic_route_configs")
	if err != nil {
		t.Fatal(err)
	}
	var dump struct {
		Configs []struct {
			RouteConfig struct {
				Name         string `json:"name"`
				VirtualHosts []struct {
					Routes []struct {
						Name  string `json:"name"`
						Route struct {
							Cluster string `json:"cluster"`
						} `json:"route"`
					} `json:"routes"`
				} `json:"virtual_hosts"`
			} `json:"route_config"`
		} `json:"configs"`
	}
	if err := json.Unmarshal(b, &dump); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range dump.Configs {
		for _, vh := range c.RouteConfig.VirtualHosts {
			for _, r := range vh.Routes {
				if r.Name == "lanedye.gray.payment.lanedye-demo" {
					got = append(got, r.Route.Cluster)
				}
			}
		}
	}
	if len(got) != 1 || got[0] != agg {
		t.Fatalf("checkout's gray routes to payment go to %v, want [%s]", got, agg)
	}
}

func compact(b []byte) string {
	var v any
	if json.Unmarshal(b, &v) != nil {
		return string(b)
	}
	out, _ := json.Marshal(v)
	return string(out)
}

// failoverResult is what a client saw while payment-gray failed and
// recovered.
type failoverResult struct {
	sent, failed, status5xx int
	byPhase                 map[string]map[string]int // phase -> outcome (payment-VERSION, status, error) -> requests
	// toBase and toGray run from the API change to the first request after
	// which every request is served by the new lane (-1: never).
	toBase, toGray time.Duration
	// grayWhileDown counts requests payment-gray served between its
	// endpoint's removal and its return.
	grayWhileDown int
}

func (r failoverResult) String() string {
	after := func(d time.Duration) string {
		if d < 0 {
			return "never"
		}
		return d.Round(time.Millisecond).String() + " after"
	}
	return fmt.Sprintf("%d gray requests, %d failed (%d of them 5xx); on payment-base %s the endpoint went not ready, back on payment-gray %s it was ready; per phase %v",
		r.sent, r.failed, r.status5xx, after(r.toBase), after(r.toGray), r.byPhase)
}

// event is one request's outcome: "gray" or "base" (payment's version that
// served it), an HTTP status, or "error".
type event struct {
	at      time.Time
	outcome string
}

// settledAt returns the time of the first event in [from, to) after which
// every event of the window is want, or the zero time.
func settledAt(evs []event, from, to time.Time, want string) time.Time {
	var at time.Time
	for _, e := range evs {
		if e.at.Before(from) || !e.at.Before(to) {
			continue
		}
		if e.outcome != want {
			at = time.Time{}
		} else if at.IsZero() {
			at = e.at
		}
	}
	return at
}

// failover sends gray requests without pause while payment-gray's
// endpoint fails readiness, is removed and its app stops, then comes back.
// With wait, the not-ready and ready steps last until the requests have
// moved (at most 20 s); without, 3 s.
func (m *istioMesh) failover(t *testing.T, wait bool) failoverResult {
	t.Helper()
	var mu sync.Mutex
	var evs []event
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		b := &browser{d: &driver{m: m}, cookies: map[string]string{}}
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			resp, hops, err := b.get(fmt.Sprintf("/failover/%d", i), "", "x-user-id", "12340")
			e := event{at: time.Now(), outcome: "error"}
			switch {
			case resp != nil && resp.StatusCode != 200:
				e.outcome = fmt.Sprint(resp.StatusCode)
			case err == nil && len(hops) == 3:
				e.outcome = hops[2].Version
			}
			mu.Lock()
			evs = append(evs, e)
			mu.Unlock()
			time.Sleep(5 * time.Millisecond)
		}
	}()
	// moved waits until the requests since from have settled on want for
	// a second.
	moved := func(from time.Time, want string) {
		limit := 3 * time.Second
		if wait {
			limit = 20 * time.Second
		}
		for deadline := time.Now().Add(limit); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			mu.Lock()
			at := settledAt(evs, from, time.Now(), want)
			mu.Unlock()
			if wait && !at.IsZero() && time.Since(at) > time.Second {
				return
			}
		}
	}

	gray := m.Apps["payment-gray"]
	time.Sleep(time.Second) // every gray request on payment-gray
	tNotReady := time.Now()
	m.setPaymentGray(t, "not ready")
	moved(tNotReady, "base")
	tRemoved := time.Now()
	m.setPaymentGray(t, "removed")
	time.Sleep(500 * time.Millisecond)
	gray.down.Store(true) // the pod is gone: its app answers only 503
	servedBefore := gray.served.Load()
	time.Sleep(time.Second)
	grayWhileDown := int(gray.served.Load() - servedBefore)
	gray.down.Store(false)
	tReady := time.Now()
	m.setPaymentGray(t, "ready")
	moved(tReady, "gray")
	close(stop)
	<-done
	tEnd := time.Now()

	r := failoverResult{byPhase: map[string]map[string]int{}, grayWhileDown: grayWhileDown, toBase: -1, toGray: -1}
	if at := settledAt(evs, tNotReady, tRemoved, "base"); !at.IsZero() {
		r.toBase = at.Sub(tNotReady)
	}
	if at := settledAt(evs, tReady, tEnd, "gray"); !at.IsZero() {
		r.toGray = at.Sub(tReady)
	}
	for _, e := range evs {
		ph := "1 healthy"
		switch {
		case !e.at.Before(tReady):
			ph = "4 ready again"
		case !e.at.Before(tRemoved):
			ph = "3 removed, app down"
		case !e.at.Before(tNotReady):
			ph = "2 not ready"
		}
		if r.byPhase[ph] == nil {
			r.byPhase[ph] = map[string]int{}
		}
		r.byPhase[ph][e.outcome]++
		r.sent++
		if e.outcome != "gray" && e.outcome != "base" {
			r.failed++
			if strings.HasPrefix(e.outcome, "5") {
				r.status5xx++
			}
		}
	}
	return r
}

// setPaymentGray changes payment-gray's endpoint in Kubernetes as the
// endpoint controller does: "not ready" (its readiness probe fails),
// "removed" (its pod is deleted), "ready".
func (m *istioMesh) setPaymentGray(t *testing.T, state string) {
	t.Helper()
	ctx := context.Background()
	slices := m.Istiod.KubeClient().Kube().DiscoveryV1().EndpointSlices("lanedye-demo")
	es, err := slices.Get(ctx, "payment-0", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var ip string
	for _, w := range m.Workloads {
		if w.Service == "payment" && w.Version == "gray" {
			ip = w.IP
		}
	}
	var eps []discoveryv1.Endpoint
	found := false
	for _, ep := range es.Endpoints {
		if ep.Addresses[0] != ip {
			eps = append(eps, ep)
			continue
		}
		found = true
		if state != "removed" {
			ready := state == "ready"
			ep.Conditions.Ready = &ready
			eps = append(eps, ep)
		}
	}
	if !found && state == "ready" {
		ready := true
		eps = append(eps, discoveryv1.Endpoint{Addresses: []string{ip}, Conditions: discoveryv1.EndpointConditions{Ready: &ready},
			TargetRef: &corev1.ObjectReference{Kind: "Pod", Name: "payment-gray-0", Namespace: "lanedye-demo"}})
	}
	es.Endpoints = eps
	if _, err := slices.Update(ctx, es, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}
