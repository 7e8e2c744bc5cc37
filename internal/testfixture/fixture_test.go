package testfixture

import (
	"testing"

	"github.com/tidwall/gjson"
)

func TestShippedGatewayConfig(t *testing.T) {
	cfg, err := ShippedGatewayConfig("../..")
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{
		"role":              "gateway",
		"sticky.secret":     "change-me-to-32-random-bytes!!!!",
		"sticky.secret_env": "",
	} {
		if got := gjson.GetBytes(cfg, path).String(); got != want {
			t.Errorf("%s = %q, want %q", path, got, want)
		}
	}
}
