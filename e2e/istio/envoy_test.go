package istioe2e

import (
	"encoding/json"
	"net"
	"strconv"
	"strings"
)

// IstioVersion is the ISTIO_VERSION node metadata of every proxy: the
// release of the istio.io/istio commit this module pins.
const IstioVersion = "1.30.4"

// bootstrap is a proxy's Envoy bootstrap as istio-agent would write it, in
// the parts that matter here: Istio's node id, cluster and metadata, ADS
// through the agent (xds-grpc), everything else from istiod.
func bootstrap(w workload, agentAddr string) []byte {
	host, port, _ := net.SplitHostPort(agentAddr)
	p, _ := strconv.Atoi(port)
	typ, cluster := "sidecar", w.Service+"."+w.Namespace
	meta := map[string]any{
		"NAMESPACE": w.Namespace, "NAME": w.Name, "LABELS": w.Labels, "INSTANCE_IPS": w.IP,
		"ISTIO_VERSION": IstioVersion, "CLUSTER_ID": "Kubernetes", "SERVICE_ACCOUNT": "default",
		"WORKLOAD_NAME": strings.TrimSuffix(w.Name, "-0"), "MESH_ID": "cluster.local",
	}
	if w.Service == "" {
		typ, cluster = "router", "istio-ingressgateway.istio-system"
	} else {
		// No iptables: the Sidecar resources bind real addresses.
		meta["INTERCEPTION_MODE"] = "NONE"
	}
	b := map[string]any{
		"node": map[string]any{
			"id":       typ + "~" + w.IP + "~" + w.Name + "." + w.Namespace + "~" + w.Namespace + ".svc.cluster.local",
			"cluster":  cluster,
			"metadata": meta,
		},
		"admin": map[string]any{"address": sockAddr("127.0.0.1", 0)},
		"dynamic_resources": map[string]any{
			"ads_config": map[string]any{
				"api_type": "GRPC", "transport_api_version": "V3", "set_node_on_first_message_only": true,
				"grpc_services": []any{map[string]any{"envoy_grpc": map[string]any{"cluster_name": "xds-grpc"}}},
			},
			"cds_config": map[string]any{"ads": map[string]any{}, "resource_api_version": "V3", "initial_fetch_timeout": "0s"},
			"lds_config": map[string]any{"ads": map[string]any{}, "resource_api_version": "V3", "initial_fetch_timeout": "0s"},
		},
		"static_resources": map[string]any{"clusters": []any{map[string]any{
			"name": "xds-grpc", "type": "STATIC", "connect_timeout": "1s",
			"typed_extension_protocol_options": map[string]any{"envoy.extensions.upstreams.http.v3.HttpProtocolOptions": map[string]any{
				"@type":                "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
				"explicit_http_config": map[string]any{"http2_protocol_options": map[string]any{}},
			}},
			"load_assignment": map[string]any{"cluster_name": "xds-grpc", "endpoints": []any{map[string]any{
				"lb_endpoints": []any{map[string]any{"endpoint": map[string]any{"address": sockAddr(host, p)}}},
			}}},
		}}},
	}
	out, _ := json.MarshalIndent(b, "", "  ")
	return out
}

func sockAddr(ip string, port int) map[string]any {
	return map[string]any{"socket_address": map[string]any{"address": ip, "port_value": port}}
}
