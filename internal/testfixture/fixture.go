// Package testfixture holds what several packages' tests share: a
// browser-like request and the gateway configuration deploy/ ships. It is
// imported by tests only, and imports no e2e or bench code, so that a domain
// package's unit test links little more than the package itself.
package testfixture

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"
	"sigs.k8s.io/yaml"
)

// Browser returns the headers of a typical browser request to the seed
// application, plus extra.
func Browser(extra ...[2]string) [][2]string {
	hs := [][2]string{
		{":authority", "myapp.example.com"}, {":path", "/api/orders?page=2&sort=desc"},
		{":method", "GET"}, {":scheme", "https"},
		{"user-agent", "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"},
		{"accept", "application/json, text/plain, */*"}, {"accept-language", "zh-CN,zh;q=0.9,en;q=0.8"},
		{"accept-encoding", "gzip, deflate, br"}, {"referer", "https://myapp.example.com/orders"},
		{"x-forwarded-for", "203.0.113.7"}, {"x-forwarded-proto", "https"},
		{"x-request-id", "0f6c2b2e-3d0a-4f5e-9b7c-1a2b3c4d5e6f"}, {"x-envoy-external-address", "203.0.113.7"},
		{"traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"},
	}
	return append(hs, extra...)
}

// The deploy/ files the shipped gateway configuration comes from.
const (
	gatewayPlugin = "deploy/plugins/wasmplugin-gateway.yaml"
	stickySecret  = "deploy/plugins/sticky-secret.yaml"
)

// ShippedGatewayConfig returns the pluginConfig of deploy/'s gateway
// WasmPlugin (root is the repository root), as users deploy it. The sticky
// key, which Envoy's VM takes from its environment (sticky.secret_env), is
// put inline from deploy/'s Secret: test hosts give the module no
// environment, and where the key comes from changes no decision.
func ShippedGatewayConfig(root string) ([]byte, error) {
	var plugin struct {
		Spec struct {
			PluginConfig json.RawMessage `json:"pluginConfig"`
		} `json:"spec"`
	}
	if err := readYAML(root, gatewayPlugin, &plugin); err != nil {
		return nil, err
	}
	cfg := []byte(plugin.Spec.PluginConfig)
	if !gjson.GetBytes(cfg, "role").Exists() {
		return nil, errors.New(gatewayPlugin + ": no spec.pluginConfig")
	}
	name := gjson.GetBytes(cfg, "sticky.secret_env")
	if !name.Exists() {
		return cfg, nil
	}
	var secret struct {
		StringData map[string]string `json:"stringData"`
	}
	if err := readYAML(root, stickySecret, &secret); err != nil {
		return nil, err
	}
	key, ok := secret.StringData[name.Str]
	if !ok {
		return nil, fmt.Errorf("%s does not hold %s, which %s takes from the proxy", stickySecret, name.Str, gatewayPlugin)
	}
	cfg, err := sjson.DeleteBytes(cfg, "sticky.secret_env")
	if err != nil {
		return nil, err
	}
	return sjson.SetBytes(cfg, "sticky.secret", key)
}

func readYAML(root, name string, dst any) error {
	b, err := os.ReadFile(filepath.Join(root, name))
	if err != nil {
		return err
	}
	if err := yaml.Unmarshal(b, dst); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}
