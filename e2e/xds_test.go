package e2e

import (
	"bytes"
	"context"
	"net"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	rbacv3 "github.com/envoyproxy/go-control-plane/envoy/config/rbac/v3"
	rbacfilterv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/rbac/v3"
	wasmfilterv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/wasm/v3"
	wasmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/wasm/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	extensionv3 "github.com/envoyproxy/go-control-plane/envoy/service/extension/v3"
	"github.com/envoyproxy/go-control-plane/pkg/cache/types"
	cachev3 "github.com/envoyproxy/go-control-plane/pkg/cache/v3"
	resourcev3 "github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	serverv3 "github.com/envoyproxy/go-control-plane/pkg/server/v3"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// filterName is the name of the HTTP filter the gateway's listener
// discovers (ECDS), as Istio gives each WasmPlugin one TypedExtensionConfig.
const filterName = "lanedye"

// xdsServer is an ECDS server, standing where istiod and the istio-agent
// stand for a WasmPlugin. It serves each Envoy (node) its own snapshot and
// records Envoy's answer to every version: an ACK, or a NACK with its error
// detail. Versions count up across nodes, so a version names one push.
type xdsServer struct {
	port  int
	cache cachev3.SnapshotCache

	mu      sync.Mutex
	version int
	sent    map[sentNonce]string // response -> version
	answers map[string]string    // version -> "" (ACK) or the NACK's error detail
}

// sentNonce names one response: nonces count per stream, so two Envoys'
// streams reuse them.
type sentNonce struct {
	stream int64
	nonce  string
}

func startXDS(t *testing.T) *xdsServer {
	t.Helper()
	x := &xdsServer{cache: cachev3.NewSnapshotCache(false, cachev3.IDHash{}, nil),
		sent: map[sentNonce]string{}, answers: map[string]string{}}
	cb := serverv3.CallbackFuncs{
		StreamResponseFunc: func(_ context.Context, stream int64, _ *discoveryv3.DiscoveryRequest, r *discoveryv3.DiscoveryResponse) {
			x.mu.Lock()
			defer x.mu.Unlock()
			x.sent[sentNonce{stream, r.GetNonce()}] = r.GetVersionInfo()
		},
		StreamRequestFunc: func(stream int64, r *discoveryv3.DiscoveryRequest) error {
			x.mu.Lock()
			defer x.mu.Unlock()
			// The first answer counts: after a NACK the server sends the
			// version again, and Envoy acknowledges the repeat without
			// applying it (the configuration it rejected is unchanged).
			if v, ok := x.sent[sentNonce{stream, r.GetResponseNonce()}]; ok && !answered(x.answers, v) {
				x.answers[v] = r.GetErrorDetail().GetMessage()
			}
			return nil
		},
	}
	srv := serverv3.NewServer(context.Background(), x.cache, cb)
	g := grpc.NewServer()
	extensionv3.RegisterExtensionConfigDiscoveryServiceServer(g, srv)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	x.port = l.Addr().(*net.TCPAddr).Port
	go func() { _ = g.Serve(l) }()
	t.Cleanup(g.Stop)
	return x
}

func answered(m map[string]string, v string) bool { _, ok := m[v]; return ok }

// answerOf returns Envoy's answer to version v so far ("" ACK, else the
// NACK's error detail), and whether it answered: a version superseded
// before it was sent is never answered.
func (x *xdsServer) answerOf(v string) (string, bool) {
	x.mu.Lock()
	defer x.mu.Unlock()
	a, ok := x.answers[v]
	return a, ok
}

// push serves filter as the next version of the filter's configuration.
func (x *xdsServer) push(t *testing.T, node string, filter proto.Message) string {
	t.Helper()
	a, err := anypb.New(filter)
	if err != nil {
		t.Fatal(err)
	}
	x.mu.Lock()
	x.version++
	v := strconv.Itoa(x.version)
	x.mu.Unlock()
	snap, err := cachev3.NewSnapshot(v, map[resourcev3.Type][]types.Resource{
		resourcev3.ExtensionConfigType: {&corev3.TypedExtensionConfig{Name: filterName, TypedConfig: a}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := x.cache.SetSnapshot(context.Background(), node, snap); err != nil {
		t.Fatal(err)
	}
	return v
}

// answer waits for Envoy's answer to version v: "" for an ACK, else the
// NACK's error detail.
func (x *xdsServer) answer(t *testing.T, v string) string {
	t.Helper()
	for deadline := time.Now().Add(90 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if a, ok := x.answerOf(v); ok {
			return a
		}
	}
	t.Fatalf("Envoy answered version %s with neither an ACK nor a NACK", v)
	return ""
}

// wasmFilter is the filter configuration istiod generates for a WasmPlugin
// once the istio-agent has fetched its module to a local file; env is the
// VM's environment (vmConfig.env, with the proxy's values for HOST).
func wasmFilter(module, pluginConfig string, env map[string]string, policy wasmv3.FailurePolicy) *wasmfilterv3.Wasm {
	cfg, _ := anypb.New(wrapperspb.String(pluginConfig))
	return &wasmfilterv3.Wasm{Config: &wasmv3.PluginConfig{
		Name: "lanedye", RootId: "lanedye", Configuration: cfg, FailurePolicy: policy,
		Vm: &wasmv3.PluginConfig_VmConfig{VmConfig: &wasmv3.VmConfig{
			VmId: "lanedye", Runtime: "envoy.wasm.runtime.v8",
			EnvironmentVariables: &wasmv3.EnvironmentVariables{KeyValues: env},
			Code: &corev3.AsyncDataSource{Specifier: &corev3.AsyncDataSource_Local{
				Local: &corev3.DataSource{Specifier: &corev3.DataSource_Filename{Filename: module}},
			}},
		}},
	}}
}

// istioFilter is what Envoy receives for a WasmPlugin: the istio-agent
// fetches the module, and serves the Wasm filter only when it got a Wasm
// binary (it checks the magic number, nothing more). Otherwise it serves an
// RBAC filter in its place: without rules (every request passes, untouched)
// for failStrategy FAIL_OPEN, with empty rules (every request is denied) for
// FAIL_CLOSE.
func istioFilter(module, pluginConfig string, env map[string]string, policy wasmv3.FailurePolicy) proto.Message {
	b, err := os.ReadFile(module)
	if err == nil && bytes.HasPrefix(b, []byte("\x00asm")) {
		return wasmFilter(module, pluginConfig, env, policy)
	}
	if policy == wasmv3.FailurePolicy_FAIL_OPEN {
		return &rbacfilterv3.RBAC{RulesStatPrefix: "wasm-default-allow"}
	}
	return &rbacfilterv3.RBAC{Rules: &rbacv3.RBAC{}, RulesStatPrefix: "wasm-default-deny"}
}
