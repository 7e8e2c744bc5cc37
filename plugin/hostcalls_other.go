//go:build !wasip1

package plugin

import "github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"

// Natively the host is the SDK's emulator, reached through the SDK; the
// module makes these calls itself (hostcalls_wasip1.go).

type metricID = proxywasm.MetricCounter

// hostString copies: the SDK's emulator keeps the strings it is given.
func hostString(b []byte) string { return string(b) }

func defineCounter(name string) metricID { return proxywasm.DefineCounterMetric(name) }

// incrementCounter adds n; the SDK panics when the host refuses.
func incrementCounter(m metricID, n uint64) (ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	m.Increment(n)
	return true
}

// headerReader reads the request headers through the SDK.
type headerReader struct{}

func (headerReader) read() ([][2]string, error) { return proxywasm.GetHttpRequestHeaders() }

// GetSharedData reads a key of the VM's shared data.
func GetSharedData(key string) ([]byte, uint32, error) { return proxywasm.GetSharedData(key) }

// Property reads a property.
func Property(path PropertyPath) ([]byte, error) { return proxywasm.GetProperty(path.segments()) }
