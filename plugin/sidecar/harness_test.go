package main

import (
	"testing"

	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"

	"github.com/lanedye/lanedye/plugin"
	"github.com/lanedye/lanedye/plugin/plugintest"
)

// mod is this module under test: natively and as build/lanedye-sidecar.wasm.
var mod = &plugintest.Module{File: "lanedye-sidecar.wasm",
	Native: func(now func() int64) types.VMContext { return plugin.NewVM(module, now) }}

// host is a started plugin; this package's tests add helpers to it.
type host struct{ *plugintest.Host }

type (
	exchange = plugintest.Exchange
	clock    = plugintest.Clock
)

func vmTest(t *testing.T, f func(*testing.T, types.VMContext)) {
	t.Helper()
	mod.VMTest(t, f)
}

func clockTest(t *testing.T, f func(*testing.T, types.VMContext, *clock)) {
	t.Helper()
	mod.ClockTest(t, f)
}

func startPlugin(t *testing.T, vm types.VMContext, cfg string, props ...plugintest.Property) *host {
	t.Helper()
	return &host{plugintest.StartPlugin(t, vm, cfg, props...)}
}

var (
	get = plugintest.Get
	one = plugintest.One
	req = plugintest.Req
)
