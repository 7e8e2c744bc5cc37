package envoy

import (
	"path/filepath"
	"strings"
	"testing"

	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/router/v3"
	wasmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/wasm/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/wrapperspb"
	"sigs.k8s.io/yaml"

	"github.com/lanedye/lanedye/e2e/mesh"
	"github.com/lanedye/lanedye/internal/config"
)

// The bootstraps are checked on every run, Envoy or not: rendered from the
// template, parsed against Envoy's own protobuf schema (unknown fields and
// wrong types fail), validated with its generated rules, and the plugin
// configuration they carry is one the plugin accepts.
func TestBootstrapsAreValidEnvoyConfig(t *testing.T) {
	topo, err := mesh.LoadTopology(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	next := 20000
	gateway, sidecars, _ := plan(topo, func() int { next++; return next })
	all := map[string]bootstrap{"gateway": gateway}
	for k, v := range sidecars {
		all[k] = v
	}
	for name, b := range all {
		cfg := topo.Sidecar
		if name == "gateway" {
			cfg = topo.Gateway
		}
		data, err := render(b, cfg, "/tmp/lanedye.wasm", "/tmp/cert.pem", "/tmp/key.pem")
		if err != nil {
			t.Fatal(err)
		}
		js, err := yaml.YAMLToJSON(data)
		if err != nil {
			t.Fatalf("%s: not YAML: %v\n%s", name, err, data)
		}
		var bs bootstrapv3.Bootstrap
		if err := protojson.Unmarshal(js, &bs); err != nil {
			t.Fatalf("%s: not an Envoy bootstrap: %v\n%s", name, err, data)
		}
		if err := bs.ValidateAll(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		for _, l := range bs.GetStaticResources().GetListeners() {
			var hcm hcmv3.HttpConnectionManager
			if err := l.GetFilterChains()[0].GetFilters()[0].GetTypedConfig().UnmarshalTo(&hcm); err != nil {
				t.Fatal(err)
			}
			var w wasmv3.Wasm
			if err := hcm.GetHttpFilters()[0].GetTypedConfig().UnmarshalTo(&w); err != nil {
				t.Fatal(err)
			}
			if w.GetConfig().GetVmConfig().GetVmId() != "lanedye" {
				t.Errorf("%s/%s: vm_id %q", name, l.GetName(), w.GetConfig().GetVmConfig().GetVmId())
			}
			var sv wrapperspb.StringValue
			if err := w.GetConfig().GetConfiguration().UnmarshalTo(&sv); err != nil {
				t.Fatal(err)
			}
			if _, err := config.Parse([]byte(sv.GetValue())); err != nil {
				t.Errorf("%s/%s: plugin configuration: %v", name, l.GetName(), err)
			}
			if name != "gateway" && !strings.Contains(l.GetTrafficDirection().String(), "BOUND") {
				t.Errorf("%s/%s: traffic_direction %v", name, l.GetName(), l.GetTrafficDirection())
			}
		}
	}
	if len(sidecars) != 5 {
		t.Errorf("%d sidecars, want 5", len(sidecars))
	}
}
