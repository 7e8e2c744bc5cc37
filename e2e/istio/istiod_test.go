package istioe2e

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	discovery "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"

	"istio.io/istio/pilot/pkg/config/kube/crd"
	v3 "istio.io/istio/pilot/pkg/xds/v3"
	"istio.io/istio/pilot/test/xds"
	"istio.io/istio/pkg/util/sets"
	"istio.io/istio/pkg/wasm"
)

// istiod is Istio's discovery server (pilot/test/xds's fake: istiod's
// config pipeline on an in-memory config store and a fake Kubernetes API),
// serving ADS on a real TCP address.
type istiod struct {
	*xds.FakeDiscoveryServer
	Addr string
}

// startIstiod loads Istio configuration (configs: YAML of Istio resources)
// and Kubernetes objects (kube: YAML) and listens on addr (TCP), or in
// memory for ConnectADS alone when addr is "".
func startIstiod(t *testing.T, addr, configs, kube string) *istiod {
	t.Helper()
	var bound string
	var listen func() (net.Listener, error)
	if addr != "" {
		listen = func() (net.Listener, error) {
			l, err := net.Listen("tcp", addr)
			if err == nil {
				bound = l.Addr().String()
			}
			return l, err
		}
	}
	parsed, _, err := crd.ParseInputs(configs)
	if err != nil {
		t.Fatalf("Istio cannot read the configuration: %v", err)
	}
	now := time.Now()
	for i := range parsed {
		// As Istio's Kubernetes config controller stores every resource:
		// with the cluster's domain suffix, which resolves the short hosts
		// of VirtualServices ("payment" in namespace lanedye-demo is
		// payment.lanedye-demo.svc.cluster.local, not payment.lanedye-demo).
		parsed[i].Domain = "cluster.local"
		parsed[i].CreationTimestamp = now
	}
	s := xds.NewFakeDiscoveryServer(t, xds.FakeOptions{
		Configs:                parsed,
		KubernetesObjectString: kube,
		ListenerBuilder:        listen,
		// istiod's default debounce: pushes batch config changes as in a
		// real control plane.
		DebounceTime: 100 * time.Millisecond,
	})
	return &istiod{FakeDiscoveryServer: s, Addr: bound}
}

// agent stands in for istio-agent's xDS proxy in front of one Envoy: it
// forwards the Envoy's ADS stream to istiod and istiod's responses back,
// and rewrites every ECDS response with Istio's Wasm module cache as
// istio-agent does (pkg/istio-agent/xds_proxy.go, rewriteAndForward): the
// remote (oci://) module is fetched through wasm.LocalFileCache and the
// filter's code source becomes the local file; a failed conversion is
// NACKed to istiod. No certificates, no SDS: the mesh here runs plaintext.
type agent struct {
	Addr  string
	cache *wasm.LocalFileCache
	mu    sync.Mutex
	// converted counts the ECDS responses rewritten, failed those NACKed.
	converted, failed int
	lastErr           error
}

// startAgent listens on addr and proxies to istiod at upstream. registry is
// the test registry's host:port, which the agent reaches over plain HTTP
// (WASM_INSECURE_REGISTRIES).
func startAgent(t *testing.T, addr, upstream, registry, cacheDir string) *agent {
	t.Helper()
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	// istio-agent's cache lives in the proxy's data directory, which exists.
	if err := os.MkdirAll(cacheDir, 0o755); err != nil {
		t.Fatal(err)
	}
	a := &agent{Addr: l.Addr().String(), cache: wasm.NewLocalFileCache(cacheDir, wasm.Options{
		InsecureRegistries:    sets.New(registry),
		PurgeInterval:         wasm.DefaultPurgeInterval,
		ModuleExpiry:          wasm.DefaultModuleExpiry,
		HTTPRequestTimeout:    wasm.DefaultHTTPRequestTimeout,
		HTTPRequestMaxRetries: wasm.DefaultHTTPRequestMaxRetries,
	})}
	srv := grpc.NewServer()
	discovery.RegisterAggregatedDiscoveryServiceServer(srv, &adsProxy{a: a, upstream: upstream})
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() {
		srv.Stop()
		a.cache.Cleanup()
	})
	return a
}

func (a *agent) stats() (converted, failed int, last error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.converted, a.failed, a.lastErr
}

type adsProxy struct {
	discovery.UnimplementedAggregatedDiscoveryServiceServer
	a        *agent
	upstream string
}

func (p *adsProxy) StreamAggregatedResources(down discovery.AggregatedDiscoveryService_StreamAggregatedResourcesServer) error {
	conn, err := grpc.NewClient(p.upstream, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	defer conn.Close()
	ctx, cancel := context.WithCancel(down.Context())
	defer cancel()
	up, err := discovery.NewAggregatedDiscoveryServiceClient(conn).StreamAggregatedResources(ctx)
	if err != nil {
		return err
	}
	s := &adsStream{a: p.a, down: down, up: up}
	errc := make(chan error, 2)
	go func() { errc <- s.requests() }()
	go func() { errc <- s.responses() }()
	err = <-errc
	if errors.Is(err, io.EOF) || strings.Contains(fmt.Sprint(err), "context canceled") {
		return nil
	}
	return err
}

// adsStream is one Envoy's stream through the agent.
type adsStream struct {
	a      *agent
	down   discovery.AggregatedDiscoveryService_StreamAggregatedResourcesServer
	up     discovery.AggregatedDiscoveryService_StreamAggregatedResourcesClient
	sendUp sync.Mutex
}

func (s *adsStream) toIstiod(req *discovery.DiscoveryRequest) error {
	s.sendUp.Lock()
	defer s.sendUp.Unlock()
	return s.up.Send(req)
}

// requests forwards Envoy's requests to istiod.
func (s *adsStream) requests() error {
	for {
		req, err := s.down.Recv()
		if err != nil {
			return err
		}
		if err := s.toIstiod(req); err != nil {
			return err
		}
	}
}

// responses forwards istiod's responses to Envoy, ECDS rewritten.
func (s *adsStream) responses() error {
	var ecdsAcked string
	for {
		resp, err := s.up.Recv()
		if err != nil {
			return err
		}
		if resp.GetTypeUrl() == v3.ExtensionConfigurationType {
			if err := wasm.MaybeConvertWasmExtensionConfig(resp.Resources, s.a.cache); err != nil {
				s.a.record(err)
				nack := &discovery.DiscoveryRequest{VersionInfo: ecdsAcked, TypeUrl: resp.TypeUrl, ResponseNonce: resp.Nonce,
					ErrorDetail: &status.Status{Code: int32(codes.Internal), Message: err.Error()}}
				if err := s.toIstiod(nack); err != nil {
					return err
				}
				continue
			}
			s.a.record(nil)
			ecdsAcked = resp.VersionInfo
		}
		if err := s.down.Send(resp); err != nil {
			return err
		}
	}
}

func (a *agent) record(err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if err != nil {
		a.failed++
		a.lastErr = err
		return
	}
	a.converted++
}
