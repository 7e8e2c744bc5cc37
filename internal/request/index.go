package request

// maxIndexed is how many header names are located in one pass over the request
// headers. Configurations that read more names still work: the rest are found
// by scanning.
const maxIndexed = 64

// HeaderID identifies a header name in an Index.
type HeaderID int

// CookieID identifies a cookie name in an Index.
type CookieID int

// The header names every Index holds.
const (
	Authority HeaderID = iota
	Path
	Method
	Cookie
)

// maxCookies is how many cookie names are located in one pass over the cookie
// header; further names are found by scanning.
const maxCookies = 32

// Index gives the header and cookie names a configuration reads small
// integer ids. It is filled at configuration time and read-only afterwards.
type Index struct {
	ids     map[string]HeaderID
	names   []string
	lens    [4]uint64 // bit n set: some indexed name has length n (n < 256)
	table   []slot    // open addressing over the first maxIndexed names
	cookies map[string]CookieID
	cnames  []string
}

type slot struct {
	name string
	hash uint32
	id   int32 // -1: empty
}

// nameHash mixes the length and three bytes of a name: header names share
// prefixes ("x-", "accept-") but rarely length and tail, and hashing a few
// bytes is several times cheaper than a Go map lookup on every request header.
func nameHash(s string) uint32 {
	n := len(s)
	h := uint32(n) * 0x9E3779B1
	h ^= uint32(s[n-1]) * 0x85EBCA6B
	h ^= uint32(s[n/2]) * 0xC2B2AE35
	h ^= uint32(s[(n-1)/3]) * 0x27D4EB2F
	return h ^ h>>15
}

// lookup returns the id of an indexed name with hash h, or -1. Comparing
// the stored hash first keeps string compares to real candidates.
func (x *Index) lookup(name string, h uint32) HeaderID {
	mask := uint32(len(x.table) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		sl := &x.table[i]
		if sl.id < 0 {
			return -1
		}
		if sl.hash == h && sl.name == name {
			return HeaderID(sl.id)
		}
	}
}

// rebuild sizes the table to at most 25% load so that most probes end at once.
func (x *Index) rebuild() {
	n := min(len(x.names), maxIndexed)
	size := 16
	for size < 4*n {
		size *= 2
	}
	x.table = make([]slot, size)
	for i := range x.table {
		x.table[i].id = -1
	}
	mask := uint32(size - 1)
	for id, name := range x.names[:n] {
		i := nameHash(name) & mask
		for x.table[i].id >= 0 {
			i = (i + 1) & mask
		}
		x.table[i] = slot{name: name, hash: nameHash(name), id: int32(id)}
	}
}

// NewIndex returns an Index holding :authority, :path, :method and cookie.
func NewIndex() *Index {
	x := &Index{ids: make(map[string]HeaderID), cookies: make(map[string]CookieID)}
	x.AddHeader(":authority")
	x.AddHeader(":path")
	x.AddHeader(":method")
	x.AddHeader("cookie")
	return x
}

// AddHeader registers a lower-case header name and returns its id.
func (x *Index) AddHeader(name string) HeaderID {
	if id, ok := x.ids[name]; ok {
		return id
	}
	id := HeaderID(len(x.names))
	x.names = append(x.names, name)
	x.ids[name] = id
	if id < maxIndexed && len(name) < 256 {
		x.lens[len(name)>>6] |= 1 << (len(name) & 63)
		x.rebuild()
	}
	return id
}

// AddCookie registers a cookie name and returns its id.
func (x *Index) AddCookie(name string) CookieID {
	if id, ok := x.cookies[name]; ok {
		return id
	}
	id := CookieID(len(x.cnames))
	x.cnames = append(x.cnames, name)
	x.cookies[name] = id
	return id
}
