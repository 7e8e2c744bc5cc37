package inenvoy

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/lanedye/lanedye/e2e/mesh"
)

// The setups Compare measures, in the order it reports them.
const (
	None              = "none"                // the router only
	NoopWasm          = "noop_wasm"           // the no-op Go module: the floor of any Go Proxy-Wasm filter
	LuaSeed           = "lua_seed"            // the seed article's EnvoyFilter + Lua gray router
	LanedyeGateway    = "lanedye_gateway"     // lanedye with the shipped gateway configuration
	LanedyeSidecarHop = "lanedye_sidecar_hop" // one sidecar, inbound plus outbound, shipped sidecar configuration
	grayLane          = "gray"
	luaLane           = "v2"
	luaHeader         = "x-target-version"
	luaCookie         = "x-sticky-version=v2"
	hopService        = "payment" // in the sidecar's fallback table with a gray deployment
	luaScript         = "testdata/lua/seed-gray-router.lua"
	noopModule        = "build/ref-noop.wasm"
)

// Names returns the setups in report order.
func Names() []string { return []string{None, NoopWasm, LuaSeed, LanedyeGateway, LanedyeSidecarHop} }

// Setups returns the four gateway setups and the sidecar hop, from the
// repository at root: each role's module and build/ref-noop.wasm (built
// before), the Lua script of testdata/lua and the pluginConfigs of
// deploy/plugins.
func Setups(root string) ([]Setup, HopSetup, error) {
	topo, err := mesh.LoadTopology(root)
	if err != nil {
		return nil, HopSetup{}, err
	}
	lua, err := os.ReadFile(filepath.Join(root, luaScript))
	if err != nil {
		return nil, HopSetup{}, err
	}
	gateway, sidecar, noop, err := modules(root)
	if err != nil {
		return nil, HopSetup{}, err
	}
	// Setups without a dyeing filter get the lane header from the client,
	// so every setup routes about the same share of requests to gray.
	predyed := Mix{Lane: topo.LaneHeader}
	gws := []Setup{
		{Name: None, RouteHeader: topo.LaneHeader, Lane: grayLane, Mix: predyed},
		{Name: NoopWasm, RouteHeader: topo.LaneHeader, Lane: grayLane, Mix: predyed, Plugin: mesh.Plugin{Wasm: noop}},
		{Name: LuaSeed, RouteHeader: luaHeader, Lane: luaLane, Lua: string(lua), Mix: Mix{Cookie: luaCookie}, StickyCookie: "x-sticky-version"},
		{Name: LanedyeGateway, RouteHeader: topo.LaneHeader, Lane: grayLane, Plugin: mesh.Plugin{Wasm: gateway, Config: string(topo.Gateway), Env: topo.GatewayEnv}, StickyCookie: "x-sticky-version"},
	}
	hop := HopSetup{
		Name: LanedyeSidecarHop, Plugin: mesh.Plugin{Wasm: sidecar, Config: string(topo.Sidecar)},
		Service: hopService, RouteHeader: topo.RouteHeader, Lane: grayLane, Mix: predyed,
	}
	return gws, hop, nil
}

func modules(root string) (gateway, sidecar, noop string, err error) {
	if gateway, err = mesh.Module(root, "gateway"); err != nil {
		return
	}
	if sidecar, err = mesh.Module(root, "sidecar"); err != nil {
		return
	}
	if noop, err = filepath.Abs(filepath.Join(root, noopModule)); err != nil {
		return
	}
	if _, err = os.Stat(noop); err != nil {
		err = fmt.Errorf("%s is needed (the report builds it): %w", noopModule, err)
	}
	return
}
