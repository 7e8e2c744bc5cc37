package istioe2e

import (
	"bytes"
	"fmt"
	"sort"
	"strings"
	"testing"

	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

// obj is one manifest as a generic value.
type obj map[string]any

func (o obj) kind() string { s, _ := o["kind"].(string); return s }

func (o obj) meta(k string) string {
	m, _ := o["metadata"].(map[string]any)
	s, _ := m[k].(string)
	return s
}

func (o obj) key() string { return o.kind() + "/" + o.meta("namespace") + "/" + o.meta("name") }

// path returns the map at a path of keys, creating nothing.
func (o obj) path(keys ...string) map[string]any {
	m := map[string]any(o)
	for _, k := range keys {
		m, _ = m[k].(map[string]any)
	}
	return m
}

// splitObjects parses multi-document YAML.
func splitObjects(t testing.TB, data []byte) []obj {
	t.Helper()
	var out []obj
	for _, doc := range bytes.Split(data, []byte("\n---")) {
		if len(bytes.TrimSpace(doc)) == 0 {
			continue
		}
		var o obj
		if err := yaml.Unmarshal(doc, &o); err != nil {
			t.Fatalf("%v\n%s", err, doc)
		}
		if o != nil && o.kind() != "" {
			out = append(out, o)
		}
	}
	return out
}

// kustomize renders a kustomization of deploy/ as kubectl apply -k would.
func kustomize(t testing.TB, root, dir string) []obj {
	t.Helper()
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	m, err := k.Run(filesys.MakeFsOnDisk(), root+"/deploy/"+dir)
	if err != nil {
		t.Fatalf("kustomize deploy/%s: %v", dir, err)
	}
	y, err := m.AsYaml()
	if err != nil {
		t.Fatal(err)
	}
	return splitObjects(t, y)
}

// marshalAll writes objects as multi-document YAML, in a stable order.
func marshalAll(t testing.TB, objs []obj) string {
	t.Helper()
	sort.SliceStable(objs, func(i, j int) bool { return objs[i].key() < objs[j].key() })
	var b strings.Builder
	for _, o := range objs {
		y, err := yaml.Marshal(o)
		if err != nil {
			t.Fatal(err)
		}
		b.WriteString("---\n")
		b.Write(y)
	}
	return b.String()
}

// api is how lanedye is configured: WasmPlugin (Istio <= 1.29, still read
// by 1.30) or TrafficExtension (Istio >= 1.30).
type api string

const (
	wasmPluginAPI       api = "WasmPlugin"
	trafficExtensionAPI api = "TrafficExtension"
)

// kustomization is deploy/'s example for the API.
func (a api) kustomization() string {
	if a == trafficExtensionAPI {
		return "example-trafficextension"
	}
	return "example"
}

// setURL points a plugin manifest at an image of the test registry.
func setURL(o obj, url string) {
	spec := o.path("spec")
	if o.kind() == string(trafficExtensionAPI) {
		spec = o.path("spec", "wasm")
	}
	spec["url"] = url
}

// pluginConfig returns a plugin manifest's pluginConfig.
func pluginConfig(o obj) map[string]any {
	if o.kind() == string(trafficExtensionAPI) {
		return o.path("spec", "wasm", "pluginConfig")
	}
	return o.path("spec", "pluginConfig")
}

// role is a plugin manifest's role: gateway, or the sidecar module's.
func role(o obj) string {
	if pluginConfig(o)["role"] == "gateway" {
		return "gateway"
	}
	return "sidecar"
}

// renderRouting runs `lanedye render` on the sidecar plugin of deploy/
// (args: more flags) and returns its resources.
func renderRouting(t testing.TB, root string, args ...string) []obj {
	t.Helper()
	out, err := lanedyeCmd(root, append([]string{"render", "-f", root + "/deploy/plugins/wasmplugin-sidecar.yaml"}, args...)...).Output()
	if err != nil {
		t.Fatalf("lanedye render: %v", err)
	}
	return splitObjects(t, out)
}

// workload is one pod of the example: a Deployment's application behind its
// sidecar (or the ingress gateway), at its own loopback address.
type workload struct {
	Name, Namespace string
	Service         string // the app label: frontend, checkout, payment; "" for the gateway
	Version         string
	Labels          map[string]string
	IP              string // the pod IP: the sidecar's inbound listener, the app at AppPort
	EgressIP        string // the sidecar's outbound listener (captureMode NONE)
	// Bare is a replica without a sidecar: its application listens on
	// the pod IP's ServicePort itself (see meshOptions.Replicas).
	Bare bool
}

// AppPort is where each application listens on its pod IP; each Sidecar's
// ingress defaultEndpoint 0.0.0.0:AppPort sends there.
const AppPort = 9000

// ServicePort is the example Services' port (and targetPort).
const ServicePort = 8000

// workloads derives the pods from the example's Deployments, numbered from
// host 11 of the subnet, outbound listeners from host 111; the gateway is
// host 2.
func workloads(objs []obj, s subnet) (gw workload, apps []workload) {
	gw = workload{Name: "istio-ingressgateway-0", Namespace: "istio-system", IP: s.ip(2),
		Labels: map[string]string{"istio": "ingressgateway", "app": "istio-ingressgateway"}}
	var deps []obj
	for _, o := range objs {
		if o.kind() == "Deployment" {
			deps = append(deps, o)
		}
	}
	sort.Slice(deps, func(i, j int) bool { return deps[i].meta("name") < deps[j].meta("name") })
	for i, d := range deps {
		labels := map[string]string{}
		for k, v := range d.path("spec", "template", "metadata", "labels") {
			labels[k], _ = v.(string)
		}
		apps = append(apps, workload{Name: d.meta("name") + "-0", Namespace: d.meta("namespace"),
			Service: labels["app"], Version: labels["version"], Labels: labels, IP: s.ip(11 + i), EgressIP: s.ip(111 + i)})
	}
	return gw, apps
}

// addReplicas adds n bare replicas of the Deployment "service-version" to
// apps, numbered from host 61 of the subnet.
func addReplicas(apps []workload, s subnet, replicas map[string]int) []workload {
	next := 61
	for _, a := range append([]workload(nil), apps...) {
		for i := 1; i <= replicas[a.Service+"-"+a.Version]; i++ {
			r := a
			r.Name = fmt.Sprintf("%s-%d", strings.TrimSuffix(a.Name, "-0"), i)
			r.IP, r.EgressIP, r.Bare = s.ip(next), "", true
			next++
			apps = append(apps, r)
		}
	}
	return apps
}

// kubeObjects are the fake Kubernetes API's objects: the example's
// Services, one ready Pod per Deployment and the EndpointSlices the
// endpoint controller would write, and the ingress gateway's Service (80 ->
// gatewayPort, as Istio installs it) and Pod.
func kubeObjects(t testing.TB, objs []obj, gw workload, apps []workload, gatewayPort int) string {
	t.Helper()
	var out []obj
	for _, o := range objs {
		if o.kind() == "Service" || o.kind() == "Namespace" {
			out = append(out, o)
		}
	}
	out = append(out, obj{"apiVersion": "v1", "kind": "Service",
		"metadata": map[string]any{"name": "istio-ingressgateway", "namespace": "istio-system", "labels": gw.Labels},
		"spec": map[string]any{"selector": map[string]any{"istio": "ingressgateway"},
			"ports": []any{map[string]any{"name": "http2", "port": 80, "targetPort": gatewayPort, "protocol": "TCP"}}}})
	out = append(out, pod(gw), endpointSlice("istio-ingressgateway", "istio-system", "http2", gatewayPort, []workload{gw}))
	bySvc := map[string][]workload{}
	for _, a := range apps {
		out = append(out, pod(a))
		bySvc[a.Service] = append(bySvc[a.Service], a)
	}
	for svc, ws := range bySvc {
		out = append(out, endpointSlice(svc, ws[0].Namespace, "http", ServicePort, ws))
	}
	return marshalAll(t, out)
}

func pod(w workload) obj {
	return obj{"apiVersion": "v1", "kind": "Pod",
		"metadata": map[string]any{"name": w.Name, "namespace": w.Namespace, "labels": w.Labels},
		"spec":     map[string]any{"containers": []any{map[string]any{"name": "app", "image": "app"}}, "serviceAccountName": "default"},
		"status": map[string]any{"phase": "Running", "podIP": w.IP, "podIPs": []any{map[string]any{"ip": w.IP}},
			"conditions": []any{map[string]any{"type": "Ready", "status": "True"}}}}
}

// endpointSlice lists ws as ready endpoints of a Service port.
func endpointSlice(svc, ns, portName string, port int, ws []workload) obj {
	var eps []any
	for _, w := range ws {
		eps = append(eps, map[string]any{"addresses": []any{w.IP}, "conditions": map[string]any{"ready": true},
			"targetRef": map[string]any{"kind": "Pod", "name": w.Name, "namespace": w.Namespace}})
	}
	return obj{"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice", "addressType": "IPv4",
		"metadata":  map[string]any{"name": svc + "-0", "namespace": ns, "labels": map[string]any{"kubernetes.io/service-name": svc}},
		"endpoints": eps, "ports": []any{map[string]any{"name": portName, "port": port, "protocol": "TCP"}}}
}

// sidecars are the Sidecar resources that make each workload's proxy bind
// real addresses instead of relying on iptables: inbound on the pod IP, the
// Service port, forwarding to the app; outbound on its own address.
func sidecars(apps []workload) []obj {
	var out []obj
	for _, a := range apps {
		if a.Bare {
			continue
		}
		out = append(out, obj{"apiVersion": "networking.istio.io/v1", "kind": "Sidecar",
			"metadata": map[string]any{"name": a.Service + "-" + a.Version, "namespace": a.Namespace},
			"spec": map[string]any{
				"workloadSelector": map[string]any{"labels": map[string]any{"app": a.Service, "version": a.Version}},
				"ingress": []any{map[string]any{"port": map[string]any{"number": ServicePort, "protocol": "HTTP", "name": "http"},
					"bind": a.IP, "defaultEndpoint": fmt.Sprintf("0.0.0.0:%d", AppPort), "captureMode": "NONE"}},
				"egress": []any{map[string]any{"port": map[string]any{"number": ServicePort, "protocol": "HTTP", "name": "http"},
					"bind": a.EgressIP, "captureMode": "NONE", "hosts": []any{"./*"}}},
			}})
	}
	return out
}
