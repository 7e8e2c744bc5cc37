package request

import (
	"encoding/binary"
	"unsafe"
)

// DecodePairs decodes a header map in Proxy-Wasm's serialization into
// dst[:0] without copying: a little-endian uint32 count, then each pair's
// name and value lengths (uint32 each), then every name and value followed
// by a NUL byte. The strings alias b, which must stay unchanged while they
// are in use. ok is false when b is not such a map.
func DecodePairs(dst [][2]string, b []byte) (pairs [][2]string, ok bool) {
	dst = dst[:0]
	if len(b) < 4 {
		return dst, false
	}
	n := int(binary.LittleEndian.Uint32(b))
	if n > (len(b)-4)/8 {
		return dst, false
	}
	sizes, data := b[4:4+8*n], b[4+8*n:]
	for i := range n {
		kn := int(binary.LittleEndian.Uint32(sizes[8*i:]))
		vn := int(binary.LittleEndian.Uint32(sizes[8*i+4:]))
		if kn >= len(data) || vn >= len(data)-kn-1 {
			return dst, false
		}
		k := alias(data[:kn])
		v := alias(data[kn+1 : kn+1+vn])
		data = data[kn+1+vn+1:]
		dst = append(dst, [2]string{k, v})
	}
	return dst, true
}

func alias(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}
