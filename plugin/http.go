package plugin

import (
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"

	"github.com/lanedye/lanedye/internal/config"
)

type httpContext struct {
	types.DefaultHttpContext
	s Stream
}

// OnHttpRequestHeaders hands the request to the role's handler; whatever
// goes wrong there, the request goes on, and when the handler did not
// finish, its FailClosed runs.
func (h *httpContext) OnHttpRequestHeaders(int, bool) types.Action {
	p := h.s.p
	if !p.guard(p.h.Request, &h.s) {
		p.guard(func(s *Stream) bool { p.h.FailClosed(s); return true }, &h.s)
	}
	poison()
	return types.ActionContinue
}

// OnHttpResponseHeaders hands the response to the role's handler.
func (h *httpContext) OnHttpResponseHeaders(int, bool) types.Action {
	p := h.s.p
	p.guard(func(s *Stream) bool { p.h.Response(s); return true }, &h.s)
	poison()
	return types.ActionContinue
}

// OnHttpStreamDone (proxy_on_log, the stream's last callback) hands the
// context back for a new stream.
func (h *httpContext) OnHttpStreamDone() {
	h.s = Stream{p: h.s.p}
	h.s.p.free = append(h.s.p.free, h)
}

// guard runs f and reports whether it finished: the one place a panic is
// recovered, counted and logged, so that the request goes on.
func (p *pluginContext) guard(f func(*Stream) bool, s *Stream) (done bool) {
	defer func() {
		if r := recover(); r != nil {
			done = false
			p.c.Failed()
			proxywasm.LogError("lanedye: internal error: " + panicText(r))
		}
	}()
	return f(s)
}

// panicText describes a recovered value without fmt.
func panicText(r any) string {
	switch v := r.(type) {
	case string:
		return v
	case error:
		return v.Error()
	}
	return "panic"
}

// Stream is one request and its response, as a Handler sees them.
type Stream struct {
	p *pluginContext
	// Values the request phase leaves for the response phase.
	SetCookie string
	Debug     string
}

// Config returns the plugin's configuration.
func (s *Stream) Config() *config.Config { return s.p.cfg }

// Now returns the plugin clock: milliseconds since the Unix epoch.
func (s *Stream) Now() int64 { return s.p.now() }

// Headers reads the request headers in one host call. They are valid until
// the callback returns: nothing may keep a header string beyond it.
func (s *Stream) Headers() ([][2]string, error) { return s.p.hdr.read() }

// Failed counts an internal error.
func (s *Stream) Failed() { s.p.c.Failed() }

// AddDebug adds the debug header to the response when there is one.
func (s *Stream) AddDebug() {
	if s.Debug == "" {
		return
	}
	if err := proxywasm.ReplaceHttpResponseHeader(DebugHeader, s.Debug); err != nil {
		s.Failed()
	}
}

// DebugHeader is the response header that explains a decision when debug is
// on (docs/contract.md, Debug header).
const DebugHeader = "x-lanedye-decision"
