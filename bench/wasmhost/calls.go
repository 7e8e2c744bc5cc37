package wasmhost

import (
	"context"

	"github.com/tetratelabs/wazero/api"
)

// The Proxy-Wasm host functions lanedye's module imports. Each finds its
// Instance by the calling module's name and counts the call.

func (m *Module) log(_ context.Context, mod api.Module, level, ptr, size uint32) uint32 {
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
}

func (m *Module) setEffectiveContext(_ context.Context, mod api.Module, id uint32) uint32 {
	in := m.instance(mod, "proxy_set_effective_context")
	if s, ok := in.streams[id]; ok {
		in.current = s
		return statusOK
	}
	if id == in.root {
		return statusOK
	}
	return statusBadArgument
}

func (m *Module) setTickPeriodMilliseconds(_ context.Context, mod api.Module, ms uint32) uint32 {
	m.instance(mod, "proxy_set_tick_period_milliseconds").TickPeriodMillis = ms
	return statusOK
}

func (m *Module) getBufferBytes(ctx context.Context, mod api.Module, typ, start, limit, retPtr, retSize uint32) uint32 {
	in := m.instance(mod, "proxy_get_buffer_bytes")
	if typ != bufferPluginConfiguration {
		return statusNotFound
	}
	data := in.config
	if int(start) > len(data) {
		return statusBadArgument
	}
	data = data[start:]
	if int(limit) < len(data) {
		data = data[:limit]
	}
	return in.returnData(ctx, data, retPtr, retSize)
}

func (m *Module) getProperty(ctx context.Context, mod api.Module, pathPtr, pathSize, retPtr, retSize uint32) uint32 {
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
}

func (m *Module) getHeaderMapPairs(ctx context.Context, mod api.Module, typ, retPtr, retSize uint32) uint32 {
	in := m.instance(mod, "proxy_get_header_map_pairs")
	hs := in.headerMap(typ)
	if hs == nil {
		return statusNotFound
	}
	return in.returnData(ctx, SerializeMap(*hs), retPtr, retSize)
}

func (m *Module) getHeaderMapValue(ctx context.Context, mod api.Module, typ, kPtr, kSize, retPtr, retSize uint32) uint32 {
	in := m.instance(mod, "proxy_get_header_map_value")
	hs, k, _, ok := in.headerArgs(mod, typ, kPtr, kSize, 0, 0)
	if !ok {
		return statusBadArgument
	}
	for _, h := range *hs {
		if h[0] == k { // Envoy's get: the first occurrence
			return in.returnData(ctx, []byte(h[1]), retPtr, retSize)
		}
	}
	return statusNotFound
}

func (m *Module) replaceHeaderMapValue(_ context.Context, mod api.Module, typ, kPtr, kSize, vPtr, vSize uint32) uint32 {
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
}

func (m *Module) addHeaderMapValue(_ context.Context, mod api.Module, typ, kPtr, kSize, vPtr, vSize uint32) uint32 {
	in := m.instance(mod, "proxy_add_header_map_value")
	hs, k, v, ok := in.headerArgs(mod, typ, kPtr, kSize, vPtr, vSize)
	if !ok {
		return statusBadArgument
	}
	*hs = append(*hs, [2]string{k, v}) // a new entry, as Envoy's addCopy
	return statusOK
}

func (m *Module) removeHeaderMapValue(_ context.Context, mod api.Module, typ, kPtr, kSize uint32) uint32 {
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
}

func (m *Module) getSharedData(ctx context.Context, mod api.Module, kPtr, kSize, retPtr, retSize, retCas uint32) uint32 {
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
}

func (m *Module) setSharedData(_ context.Context, mod api.Module, kPtr, kSize, vPtr, vSize, cas uint32) uint32 {
	in := m.instance(mod, "proxy_set_shared_data")
	k, ok1 := mod.Memory().Read(kPtr, kSize)
	v, ok2 := mod.Memory().Read(vPtr, vSize)
	if !ok1 || !ok2 {
		return statusBadArgument
	}
	if in.CASConflicts > 0 {
		in.CASConflicts--
		return statusCasMismatch
	}
	key := string(k)
	e, exists := in.shared[key]
	if exists && cas != 0 && cas != e.cas {
		return statusCasMismatch
	}
	in.shared[key] = sharedEntry{value: append([]byte(nil), v...), cas: e.cas + 1}
	return statusOK
}

func (m *Module) defineMetric(_ context.Context, mod api.Module, kind, nPtr, nSize, retID uint32) uint32 {
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
}

func (m *Module) incrementMetric(_ context.Context, mod api.Module, id uint32, offset int64) uint32 {
	in := m.instance(mod, "proxy_increment_metric")
	if int(id) >= len(in.metrics) {
		return statusNotFound
	}
	in.metrics[id].value += uint64(offset)
	return statusOK
}
