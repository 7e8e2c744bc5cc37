package wasmhost

import (
	"context"
	"fmt"
	"strings"

	"github.com/tetratelabs/wazero/api"
)

// exportHost defines the "env" host module: the Proxy-Wasm imports lanedye's
// module uses. Each call finds its Instance by the calling module's name.
func (m *Module) exportHost(ctx context.Context) error {
	b := m.rt.NewHostModuleBuilder("env")
	// Host functions are stack-based (GoModuleFunc): wazero's reflective
	// WithFunc costs microseconds per call, which would swamp what the
	// harness is there to measure.
	i32 := api.ValueTypeI32
	fn := func(name string, f any) {
		var call api.GoModuleFunc
		var params []api.ValueType
		switch f := f.(type) {
		case func(context.Context, api.Module, uint32) uint32:
			params = []api.ValueType{i32}
			call = func(ctx context.Context, mod api.Module, st []uint64) {
				st[0] = uint64(f(ctx, mod, uint32(st[0])))
			}
		case func(context.Context, api.Module, uint32, uint32, uint32) uint32:
			params = []api.ValueType{i32, i32, i32}
			call = func(ctx context.Context, mod api.Module, st []uint64) {
				st[0] = uint64(f(ctx, mod, uint32(st[0]), uint32(st[1]), uint32(st[2])))
			}
		case func(context.Context, api.Module, uint32, uint32, uint32, uint32) uint32:
			params = []api.ValueType{i32, i32, i32, i32}
			call = func(ctx context.Context, mod api.Module, st []uint64) {
				st[0] = uint64(f(ctx, mod, uint32(st[0]), uint32(st[1]), uint32(st[2]), uint32(st[3])))
			}
		case func(context.Context, api.Module, uint32, uint32, uint32, uint32, uint32) uint32:
			params = []api.ValueType{i32, i32, i32, i32, i32}
			call = func(ctx context.Context, mod api.Module, st []uint64) {
				st[0] = uint64(f(ctx, mod, uint32(st[0]), uint32(st[1]), uint32(st[2]), uint32(st[3]), uint32(st[4])))
			}
		case func(context.Context, api.Module, uint32, int64) uint32:
			params = []api.ValueType{i32, api.ValueTypeI64}
			call = func(ctx context.Context, mod api.Module, st []uint64) {
				st[0] = uint64(f(ctx, mod, uint32(st[0]), int64(st[1])))
			}
		default:
			panic(fmt.Sprintf("wasmhost: no adapter for %s (%T)", name, f))
		}
		inner := call
		call = func(ctx context.Context, mod api.Module, st []uint64) {
			if v, ok := m.instances.Load(mod.Name()); ok && v.(*Instance).Fail[name] {
				st[0] = statusInternalFailure
				return
			}
			inner(ctx, mod, st)
		}
		b.NewFunctionBuilder().WithGoModuleFunction(call, params, []api.ValueType{i32}).Export(name)
	}

	fn("proxy_log", func(ctx context.Context, mod api.Module, level, ptr, size uint32) uint32 {
		in := m.instance(mod, "proxy_log")
		msg, ok := mod.Memory().Read(ptr, size)
		if !ok {
			return statusBadArgument
		}
		if len(in.logs) == maxLogs {
			in.logs = in.logs[1:]
		}
		in.logs = append(in.logs, Log{Level: int(level), Message: string(msg)})
		return statusOK
	})
	fn("proxy_set_effective_context", func(ctx context.Context, mod api.Module, id uint32) uint32 {
		in := m.instance(mod, "proxy_set_effective_context")
		if s, ok := in.streams[id]; ok {
			in.current = s
			return statusOK
		}
		if id == in.root {
			return statusOK
		}
		return statusBadArgument
	})
	fn("proxy_set_tick_period_milliseconds", func(ctx context.Context, mod api.Module, ms uint32) uint32 {
		m.instance(mod, "proxy_set_tick_period_milliseconds").TickPeriodMillis = ms
		return statusOK
	})
	fn("proxy_get_buffer_bytes", func(ctx context.Context, mod api.Module, typ, start, max, retPtr, retSize uint32) uint32 {
		in := m.instance(mod, "proxy_get_buffer_bytes")
		if typ != bufferPluginConfiguration {
			return statusNotFound
		}
		data := in.config
		if int(start) > len(data) {
			return statusBadArgument
		}
		data = data[start:]
		if int(max) < len(data) {
			data = data[:max]
		}
		return in.returnData(ctx, data, retPtr, retSize)
	})
	fn("proxy_get_property", func(ctx context.Context, mod api.Module, pathPtr, pathSize, retPtr, retSize uint32) uint32 {
		in := m.instance(mod, "proxy_get_property")
		path, ok := mod.Memory().Read(pathPtr, pathSize)
		if !ok {
			return statusBadArgument
		}
		if in.current == nil {
			return statusNotFound
		}
		v, ok := in.current.Props[string(path)]
		if !ok {
			return statusNotFound
		}
		return in.returnData(ctx, v, retPtr, retSize)
	})
	fn("proxy_get_header_map_pairs", func(ctx context.Context, mod api.Module, typ, retPtr, retSize uint32) uint32 {
		in := m.instance(mod, "proxy_get_header_map_pairs")
		hs := in.headerMap(typ)
		if hs == nil {
			return statusNotFound
		}
		return in.returnData(ctx, SerializeMap(*hs), retPtr, retSize)
	})
	fn("proxy_replace_header_map_value", func(ctx context.Context, mod api.Module, typ, kPtr, kSize, vPtr, vSize uint32) uint32 {
		in := m.instance(mod, "proxy_replace_header_map_value")
		hs, k, v, ok := in.headerArgs(mod, typ, kPtr, kSize, vPtr, vSize)
		if !ok {
			return statusBadArgument
		}
		for i := range *hs {
			if (*hs)[i][0] == k {
				(*hs)[i][1] = v // Envoy's setCopy: the first occurrence only
				return statusOK
			}
		}
		*hs = append(*hs, [2]string{k, v})
		return statusOK
	})
	fn("proxy_add_header_map_value", func(ctx context.Context, mod api.Module, typ, kPtr, kSize, vPtr, vSize uint32) uint32 {
		in := m.instance(mod, "proxy_add_header_map_value")
		hs, k, v, ok := in.headerArgs(mod, typ, kPtr, kSize, vPtr, vSize)
		if !ok {
			return statusBadArgument
		}
		*hs = append(*hs, [2]string{k, v}) // a new entry, as Envoy's addCopy
		return statusOK
	})
	fn("proxy_remove_header_map_value", func(ctx context.Context, mod api.Module, typ, kPtr, kSize uint32) uint32 {
		in := m.instance(mod, "proxy_remove_header_map_value")
		hs, k, _, ok := in.headerArgs(mod, typ, kPtr, kSize, 0, 0)
		if !ok {
			return statusBadArgument
		}
		out := (*hs)[:0]
		for _, h := range *hs {
			if h[0] != k { // Envoy's remove: every occurrence
				out = append(out, h)
			}
		}
		*hs = out
		return statusOK
	})
	fn("proxy_get_shared_data", func(ctx context.Context, mod api.Module, kPtr, kSize, retPtr, retSize, retCas uint32) uint32 {
		in := m.instance(mod, "proxy_get_shared_data")
		k, ok := mod.Memory().Read(kPtr, kSize)
		if !ok {
			return statusBadArgument
		}
		e, ok := in.shared[string(k)]
		if !ok {
			return statusNotFound
		}
		if st := in.returnData(ctx, e.value, retPtr, retSize); st != statusOK {
			return st
		}
		if !mod.Memory().WriteUint32Le(retCas, e.cas) {
			return statusBadArgument
		}
		return statusOK
	})
	fn("proxy_set_shared_data", func(ctx context.Context, mod api.Module, kPtr, kSize, vPtr, vSize, cas uint32) uint32 {
		in := m.instance(mod, "proxy_set_shared_data")
		k, ok1 := mod.Memory().Read(kPtr, kSize)
		v, ok2 := mod.Memory().Read(vPtr, vSize)
		if !ok1 || !ok2 {
			return statusBadArgument
		}
		key := string(k)
		e, exists := in.shared[key]
		if exists && cas != 0 && cas != e.cas {
			return statusCasMismatch
		}
		in.shared[key] = sharedEntry{value: append([]byte(nil), v...), cas: e.cas + 1}
		return statusOK
	})
	fn("proxy_define_metric", func(ctx context.Context, mod api.Module, kind, nPtr, nSize, retID uint32) uint32 {
		in := m.instance(mod, "proxy_define_metric")
		n, ok := mod.Memory().Read(nPtr, nSize)
		if !ok {
			return statusBadArgument
		}
		id, ok := in.metricID[string(n)]
		if !ok {
			id = uint32(len(in.metrics))
			in.metricID[string(n)] = id
			in.metrics = append(in.metrics, metric{name: string(n), kind: kind})
		}
		if !mod.Memory().WriteUint32Le(retID, id) {
			return statusBadArgument
		}
		return statusOK
	})
	fn("proxy_increment_metric", func(ctx context.Context, mod api.Module, id uint32, offset int64) uint32 {
		in := m.instance(mod, "proxy_increment_metric")
		if int(id) >= len(in.metrics) {
			return statusNotFound
		}
		in.metrics[id].value += uint64(offset)
		return statusOK
	})
	_, err := b.Instantiate(ctx)
	return err
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
