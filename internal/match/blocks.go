package match

import (
	"github.com/lanedye/lanedye/internal/fnv"
	"github.com/lanedye/lanedye/internal/request"
)

// Cond is one header, cookie or query condition of a block.
type Cond struct {
	Src Source
	M   String
}

// Percentage is a deterministic percentage condition.
type Percentage struct {
	Threshold uint64 // buckets below it match; value*100, 0..10000
	Keys      []Source
	Salt      string
}

// Buckets is the number of percentage buckets (two decimals of a percent).
const Buckets = 10000

// Match reports whether the first present key falls below the threshold. With
// no key present the condition is false: there is nothing stable to hash.
func (p *Percentage) Match(r *request.Request) bool {
	for i := range p.Keys {
		if v, ok := p.Keys[i].Get(r); ok {
			return Bucket(p.Salt, v) < p.Threshold
		}
	}
	return false
}

// Bucket is the contract's formula (docs/contract.md, Percentage): 64-bit FNV-1a over salt + "\x00" + value, mod 10000.
func Bucket(salt, value string) uint64 {
	return uint64(fnv.New.String(salt).Byte(0).String(value)) % Buckets
}

// Block is an AND of conditions.
type Block struct {
	Conds   []Cond
	Path    *String
	Method  *String
	Sources SourceIPs // source_ip; none: any address
	Pct     *Percentage
}

// Match reports whether every condition of the block holds. The percentage is
// checked last: it hashes, the others mostly compare a few bytes.
func (b *Block) Match(r *request.Request) bool {
	if b.Method != nil {
		v, ok := r.Method()
		if !b.Method.Match(v, ok) {
			return false
		}
	}
	if b.Path != nil && !b.Path.Match(r.Path(), true) {
		return false
	}
	if len(b.Sources) > 0 && !b.Sources.Holds(SourceOf(r)) {
		return false
	}
	for i := range b.Conds {
		c := &b.Conds[i]
		v, ok := c.Src.Get(r)
		if !c.M.Match(v, ok) {
			return false
		}
	}
	return b.Pct == nil || b.Pct.Match(r)
}

// Blocks is an OR of blocks. Empty Blocks always hold.
type Blocks []Block

// ReadSource reports whether some block has a source_ip condition, so that
// holding depends on the request's downstream address.
func (m Blocks) ReadSource() bool {
	for i := range m {
		if len(m[i].Sources) > 0 {
			return true
		}
	}
	return false
}

// Holds reports whether any block matches (or there are none).
func (m Blocks) Holds(r *request.Request) bool {
	if len(m) == 0 {
		return true
	}
	for i := range m {
		if m[i].Match(r) {
			return true
		}
	}
	return false
}
