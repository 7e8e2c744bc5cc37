package wasmhost

import (
	"context"
	"fmt"
	"strings"

	"github.com/tetratelabs/wazero/api"
)

// exportHost defines the "env" host module: the Proxy-Wasm imports lanedye's
// module uses (calls.go).
func (m *Module) exportHost(ctx context.Context) error {
	b := m.rt.NewHostModuleBuilder("env")
	for _, h := range []struct {
		name string
		f    any
	}{
		{"proxy_log", m.log},
		{"proxy_set_effective_context", m.setEffectiveContext},
		{"proxy_set_tick_period_milliseconds", m.setTickPeriodMilliseconds},
		{"proxy_get_buffer_bytes", m.getBufferBytes},
		{"proxy_get_property", m.getProperty},
		{"proxy_get_header_map_pairs", m.getHeaderMapPairs},
		{"proxy_get_header_map_value", m.getHeaderMapValue},
		{"proxy_replace_header_map_value", m.replaceHeaderMapValue},
		{"proxy_add_header_map_value", m.addHeaderMapValue},
		{"proxy_remove_header_map_value", m.removeHeaderMapValue},
		{"proxy_get_shared_data", m.getSharedData},
		{"proxy_set_shared_data", m.setSharedData},
		{"proxy_define_metric", m.defineMetric},
		{"proxy_increment_metric", m.incrementMetric},
	} {
		call, params, err := adapt(h.name, h.f)
		if err != nil {
			return err
		}
		b.NewFunctionBuilder().WithGoModuleFunction(m.failable(h.name, call), params, []api.ValueType{api.ValueTypeI32}).Export(h.name)
	}
	_, err := b.Instantiate(ctx)
	return err
}

// failable makes a host function answer InternalFailure while its name is
// in the calling Instance's Fail set.
func (m *Module) failable(name string, call api.GoModuleFunc) api.GoModuleFunc {
	return func(ctx context.Context, mod api.Module, st []uint64) {
		if v, ok := m.instances.Load(mod.Name()); ok && v.(*Instance).Fail[name] {
			st[0] = statusInternalFailure
			return
		}
		call(ctx, mod, st)
	}
}

// adapt wraps a typed host function as a stack-based one (GoModuleFunc):
// wazero's reflective WithFunc costs microseconds per call, which would
// swamp what the harness is there to measure.
func adapt(name string, f any) (api.GoModuleFunc, []api.ValueType, error) {
	i32 := api.ValueTypeI32
	switch f := f.(type) {
	case func(context.Context, api.Module, uint32) uint32:
		return func(ctx context.Context, mod api.Module, st []uint64) {
			st[0] = uint64(f(ctx, mod, uint32(st[0])))
		}, []api.ValueType{i32}, nil
	case func(context.Context, api.Module, uint32, uint32, uint32) uint32:
		return func(ctx context.Context, mod api.Module, st []uint64) {
			st[0] = uint64(f(ctx, mod, uint32(st[0]), uint32(st[1]), uint32(st[2])))
		}, []api.ValueType{i32, i32, i32}, nil
	case func(context.Context, api.Module, uint32, uint32, uint32, uint32) uint32:
		return func(ctx context.Context, mod api.Module, st []uint64) {
			st[0] = uint64(f(ctx, mod, uint32(st[0]), uint32(st[1]), uint32(st[2]), uint32(st[3])))
		}, []api.ValueType{i32, i32, i32, i32}, nil
	case func(context.Context, api.Module, uint32, uint32, uint32, uint32, uint32) uint32:
		return func(ctx context.Context, mod api.Module, st []uint64) {
			st[0] = uint64(f(ctx, mod, uint32(st[0]), uint32(st[1]), uint32(st[2]), uint32(st[3]), uint32(st[4])))
		}, []api.ValueType{i32, i32, i32, i32, i32}, nil
	case func(context.Context, api.Module, uint32, int64) uint32:
		return func(ctx context.Context, mod api.Module, st []uint64) {
			st[0] = uint64(f(ctx, mod, uint32(st[0]), int64(st[1])))
		}, []api.ValueType{i32, api.ValueTypeI64}, nil
	}
	return nil, nil, fmt.Errorf("wasmhost: no adapter for %s (%T)", name, f)
}

// instance returns the Instance a call comes from and counts the call.
func (m *Module) instance(mod api.Module, call string) *Instance {
	v, _ := m.instances.Load(mod.Name())
	in := v.(*Instance)
	in.HostCalls[call]++
	return in
}

// returnData hands data to the guest: it asks the guest to allocate (a
// re-entrant call, the expensive part of every data-returning host call),
// copies the data in, and writes the pointer and size where the guest asked.
func (in *Instance) returnData(ctx context.Context, data []byte, retPtr, retSize uint32) uint32 {
	in.DataCalls++
	mem := in.mod.Memory()
	var ptr uint32
	if len(data) > 0 {
		r, err := in.alloc.Call(ctx, uint64(len(data)))
		if err != nil {
			return statusBadArgument
		}
		ptr = uint32(r[0])
		if !mem.Write(ptr, data) {
			return statusBadArgument
		}
	}
	if !mem.WriteUint32Le(retPtr, ptr) || !mem.WriteUint32Le(retSize, uint32(len(data))) {
		return statusBadArgument
	}
	return statusOK
}

func (in *Instance) headerMap(typ uint32) *[][2]string {
	if in.current == nil {
		return nil
	}
	switch typ {
	case mapRequestHeaders:
		return &in.current.Req
	case mapResponseHeaders:
		return &in.current.Rsp
	}
	return nil
}

func (in *Instance) headerArgs(mod api.Module, typ, kPtr, kSize, vPtr, vSize uint32) (*[][2]string, string, string, bool) {
	hs := in.headerMap(typ)
	k, ok1 := mod.Memory().Read(kPtr, kSize)
	v, ok2 := mod.Memory().Read(vPtr, vSize)
	if hs == nil || !ok1 || !ok2 {
		return nil, "", "", false
	}
	return hs, strings.ToLower(string(k)), string(v), true
}
