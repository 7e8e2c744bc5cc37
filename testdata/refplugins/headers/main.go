// Command headers is a reference plugin for `make bench`: it reads the
// request headers once and writes one header, the least any header-routing
// plugin does. lanedye's cost is reported as a ratio to it.
package main

import (
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"
)

func init() { proxywasm.SetVMContext(&vm{}) }

func main() {}

type vm struct{ types.DefaultVMContext }

func (*vm) NewPluginContext(uint32) types.PluginContext { return &plugin{} }

type plugin struct{ types.DefaultPluginContext }

func (*plugin) OnPluginStart(int) types.OnPluginStartStatus { return types.OnPluginStartStatusOK }

func (*plugin) NewHttpContext(uint32) types.HttpContext { return &http{} }

type http struct{ types.DefaultHttpContext }

func (*http) OnHttpRequestHeaders(int, bool) types.Action {
	hs, err := proxywasm.GetHttpRequestHeaders()
	if err == nil && len(hs) > 0 {
		_ = proxywasm.ReplaceHttpRequestHeader("x-ref-lane", hs[0][0])
	}
	return types.ActionContinue
}
