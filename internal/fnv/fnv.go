// Package fnv computes 64-bit FNV-1a over strings without building them.
// The percentage bucket hashes salt, a zero byte and a value; a correlation
// id's slot hashes the id without the byte Envoy rewrites. hash/fnv would
// need each of those as a new []byte, an allocation per request.
package fnv

// Hash is a running 64-bit FNV-1a hash. Start from New.
type Hash uint64

// New is the FNV-1a offset basis: the hash of nothing.
const New Hash = 14695981039346656037

const prime = 1099511628211

// Byte mixes one byte into h.
func (h Hash) Byte(c byte) Hash { return (h ^ Hash(c)) * prime }

// String mixes the bytes of s into h.
func (h Hash) String(s string) Hash {
	for i := 0; i < len(s); i++ {
		h = (h ^ Hash(s[i])) * prime
	}
	return h
}

// StringSkipping mixes the bytes of s into h, leaving out the byte at index
// skip (-1: none).
func (h Hash) StringSkipping(s string, skip int) Hash {
	for i := 0; i < len(s); i++ {
		if i != skip {
			h = (h ^ Hash(s[i])) * prime
		}
	}
	return h
}
