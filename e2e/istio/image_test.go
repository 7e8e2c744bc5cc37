package istioe2e

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	core "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	listener "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	httpwasm "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/wasm/v3"
	hcm "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	discovery "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"istio.io/istio/pilot/pkg/model"
	v3 "istio.io/istio/pilot/pkg/xds/v3"
	"istio.io/istio/pkg/wasm"
)

// The image path: each role's image of make image, pushed to an OCI
// registry, reaches Envoy as istio-agent delivers it. istiod's ECDS
// resource for the plugin names the image (a remote code source);
// Istio's Wasm module cache fetches it from the registry over plain HTTP
// (WASM_INSECURE_REGISTRIES) and MaybeConvertWasmExtensionConfig rewrites
// the resource to load the cached file, whose bytes are the built module;
// the plugin's configuration is deploy/'s pluginConfig. Once per API.
func TestImagePath(t *testing.T) {
	root := repoRoot(t)
	reg := startRegistry(t, "127.0.0.1:0")
	refs := pushImages(t, root, reg)
	for _, a := range []api{wasmPluginAPI, trafficExtensionAPI} {
		t.Run(string(a), func(t *testing.T) {
			s := newSubnet(t)
			objs := kustomize(t, root, a.kustomization())
			gw, apps := workloads(objs, s)
			configs := istioConfigs(t, root, meshOptions{API: a}, objs, apps, refs)
			d := startIstiod(t, "", configs, kubeObjects(t, objs, gw, apps, 8080))
			for _, w := range []workload{gw, apps[0]} {
				r := "gateway"
				if w.Service != "" {
					r = "sidecar"
				}
				t.Run(r, func(t *testing.T) {
					want := module(t, root, r)
					var wantConfig map[string]any
					for _, x := range objs {
						if x.kind() == string(a) && role(x) == r {
							wantConfig = pluginConfig(x)
						}
					}
					checkImagePath(t, d, w, reg, "oci://"+refs[r], want, wantConfig)
				})
			}
		})
	}
}

func checkImagePath(t *testing.T, d *istiod, w workload, reg, url string, want []byte, wantConfig map[string]any) {
	t.Helper()
	names := ecdsNames(t, d, w)
	if len(names) != 1 {
		t.Fatalf("%s: %d ECDS filters %v, want lanedye's alone", w.Name, len(names), names)
	}
	resp := adsRequest(t, d, w, v3.ExtensionConfigurationType, names)
	if len(resp.Resources) != 1 {
		t.Fatalf("ECDS %v: %d resources", names, len(resp.Resources))
	}
	before := wasmFilter(t, resp.Resources[0])
	if got := before.GetConfig().GetVmConfig().GetCode().GetRemote().GetHttpUri().GetUri(); got != url {
		t.Fatalf("istiod's ECDS code source %q, want the image %q", got, url)
	}
	if got := pluginConfiguration(t, before); !reflect.DeepEqual(got, wantConfig) {
		t.Errorf("plugin configuration %v, want deploy/'s pluginConfig %v", got, wantConfig)
	}

	cache := wasm.NewLocalFileCache(t.TempDir(), wasm.Options{InsecureRegistries: map[string]struct{}{reg: {}},
		PurgeInterval: wasm.DefaultPurgeInterval, ModuleExpiry: wasm.DefaultModuleExpiry,
		HTTPRequestTimeout: wasm.DefaultHTTPRequestTimeout, HTTPRequestMaxRetries: wasm.DefaultHTTPRequestMaxRetries})
	t.Cleanup(cache.Cleanup)
	// Get, as the conversion calls it for this resource.
	path, err := cache.Get(url, wasm.GetOptions{ResourceName: names[0], ResourceVersion: resp.VersionInfo,
		RequestTimeout: 30 * time.Second, PullPolicy: wasm.IfNotPresent})
	if err != nil {
		t.Fatalf("Istio's Wasm cache cannot fetch %s: %v", url, err)
	}
	if got, err := os.ReadFile(path); err != nil || !bytes.Equal(got, want) {
		t.Fatalf("cached module %s: %d bytes (%v), want the built module's %d", path, len(got), err, len(want))
	}
	// The conversion istio-agent applies to every ECDS response.
	if err := wasm.MaybeConvertWasmExtensionConfig(resp.Resources, cache); err != nil {
		t.Fatal(err)
	}
	after := wasmFilter(t, resp.Resources[0])
	local := after.GetConfig().GetVmConfig().GetCode().GetLocal().GetFilename()
	if local == "" || after.GetConfig().GetVmConfig().GetCode().GetRemote() != nil {
		t.Fatalf("converted code source %v, want a local file", after.GetConfig().GetVmConfig().GetCode())
	}
	got, err := os.ReadFile(local)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("converted module %s: %d bytes (%v), want the built module's %d", local, len(got), err, len(want))
	}
	sum := sha256.Sum256(want)
	t.Logf("%s: %s -> %s (%d bytes, sha256 %s)", w.Name, url, local, len(got), hex.EncodeToString(sum[:]))
	if !reflect.DeepEqual(pluginConfiguration(t, after), wantConfig) {
		t.Error("the conversion changed the plugin configuration")
	}
}

// adsRequest asks istiod for resources of a type as proxy w.
func adsRequest(t *testing.T, d *istiod, w workload, typeURL string, names []string) *discovery.DiscoveryResponse {
	t.Helper()
	meta := model.NodeMetadata{Namespace: w.Namespace, Labels: w.Labels, IstioVersion: IstioVersion,
		InstanceIPs: []string{w.IP}, ClusterID: "Kubernetes"}
	id := "router~" + w.IP + "~" + w.Name + "." + w.Namespace + "~" + w.Namespace + ".svc.cluster.local"
	if w.Service != "" {
		meta.InterceptionMode = model.InterceptionNone
		id = "sidecar" + strings.TrimPrefix(id, "router")
	}
	ads := d.ConnectADS().WithType(typeURL).WithID(id).WithMetadata(meta)
	return ads.RequestResponseAck(t, &discovery.DiscoveryRequest{ResourceNames: names})
}

// ecdsNames returns the ECDS resources the HTTP filters of a proxy's
// listeners refer to.
func ecdsNames(t *testing.T, d *istiod, w workload) []string {
	t.Helper()
	seen := map[string]bool{}
	var names []string
	for _, r := range adsRequest(t, d, w, v3.ListenerType, nil).Resources {
		var l listener.Listener
		if err := r.UnmarshalTo(&l); err != nil {
			t.Fatal(err)
		}
		for _, fc := range l.GetFilterChains() {
			for _, f := range fc.GetFilters() {
				var m hcm.HttpConnectionManager
				if f.GetTypedConfig().UnmarshalTo(&m) != nil {
					continue
				}
				for _, hf := range m.GetHttpFilters() {
					if n := hf.GetConfigDiscovery(); n != nil && !seen[hf.GetName()] {
						seen[hf.GetName()] = true
						names = append(names, hf.GetName())
					}
				}
			}
		}
	}
	return names
}

// wasmFilter decodes an ECDS resource holding a Wasm HTTP filter.
func wasmFilter(t *testing.T, r *anypb.Any) *httpwasm.Wasm {
	t.Helper()
	var ec core.TypedExtensionConfig
	var w httpwasm.Wasm
	if err := r.UnmarshalTo(&ec); err != nil {
		t.Fatal(err)
	}
	if err := ec.GetTypedConfig().UnmarshalTo(&w); err != nil {
		t.Fatalf("ECDS %s is no Wasm HTTP filter: %v", ec.GetName(), err)
	}
	return &w
}

// pluginConfiguration is the JSON configuration a Wasm filter hands the
// plugin.
func pluginConfiguration(t *testing.T, w *httpwasm.Wasm) map[string]any {
	t.Helper()
	var s wrapperspb.StringValue
	if err := w.GetConfig().GetConfiguration().UnmarshalTo(&s); err != nil {
		t.Fatalf("configuration %v: %v", w.GetConfig().GetConfiguration(), err)
	}
	var out map[string]any
	if err := json.Unmarshal([]byte(s.GetValue()), &out); err != nil {
		t.Fatal(err)
	}
	return out
}
