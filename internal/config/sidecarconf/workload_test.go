package sidecarconf

import (
	"testing"

	"github.com/lanedye/lanedye/internal/gjson"
)

func TestLabelKey(t *testing.T) {
	for key, ok := range map[string]bool{
		"lanedye.io/lane": true, "lane": true, "app.kubernetes.io/version": true, "Lane_1.x": true, "a": true,
		"": false, "lane dye": false, "-lane": false, "lane-": false, "Lanedye.IO/lane": false, "/lane": false,
		"lanedye.io/": false, "a..b/lane": false, "x/y/z": false, "-a.io/lane": false,
	} {
		var dst string
		err := labelKey(&dst)(gjson.Parse(`"`+key+`"`), "workload.lane_label")
		if (err == nil) != ok {
			t.Errorf("%q: %v, want ok %v", key, err, ok)
		}
	}
}
