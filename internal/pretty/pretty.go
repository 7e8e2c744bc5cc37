// Package pretty stands in for github.com/tidwall/pretty in lanedye's build
// (see the replace directive in the main go.mod).
//
// gjson imports pretty for its @pretty and @ugly path modifiers only, which
// lanedye never uses, and registers them in an init function, so the linker
// must keep them. The original imports encoding/json (to unescape keys when
// sorting), which with the reflection it drags in adds about 545 KB to the
// plugin: past the 4 MiB budget. This package has the API gjson uses, written
// without encoding/json. It differs from the original in one respect: every
// array element and object member goes on its own line (Width is accepted and
// ignored).
package pretty

import (
	"bytes"
	"slices"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// Options for PrettyOptions.
type Options struct {
	Width    int // ignored
	Prefix   string
	Indent   string
	SortKeys bool
}

// DefaultOptions are the options Pretty uses.
var DefaultOptions = &Options{Width: 80, Prefix: "", Indent: "  ", SortKeys: false}

// Pretty formats json with DefaultOptions.
func Pretty(json []byte) []byte { return PrettyOptions(json, nil) }

// PrettyOptions formats json; invalid input is returned unchanged.
func PrettyOptions(json []byte, opts *Options) []byte {
	if opts == nil {
		opts = DefaultOptions
	}
	p := parser{s: json}
	v, ok := p.value()
	p.ws()
	if !ok || p.i != len(p.s) {
		return json
	}
	var out bytes.Buffer
	out.WriteString(opts.Prefix)
	write(&out, v, opts, 0)
	out.WriteByte('\n')
	return out.Bytes()
}

// Ugly removes every insignificant space.
func Ugly(json []byte) []byte {
	out := make([]byte, 0, len(json))
	in := false
	for i := 0; i < len(json); i++ {
		c := json[i]
		switch {
		case in:
			out = append(out, c)
			if c == '\\' && i+1 < len(json) {
				i++
				out = append(out, json[i])
			} else if c == '"' {
				in = false
			}
		case c == '"':
			in = true
			out = append(out, c)
		case c > ' ':
			out = append(out, c)
		}
	}
	return out
}

type node struct {
	raw     []byte   // scalars and keys, as written
	kind    byte     // '{', '[' or 0 for scalars
	keys    [][]byte // object keys, raw with quotes
	members []*node
}

type parser struct {
	s []byte
	i int
}

func (p *parser) ws() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t' || p.s[p.i] == '\n' || p.s[p.i] == '\r') {
		p.i++
	}
}

func (p *parser) value() (*node, bool) {
	p.ws()
	if p.i >= len(p.s) {
		return nil, false
	}
	switch c := p.s[p.i]; c {
	case '{', '[':
		return p.container(c)
	case '"':
		s, ok := p.str()
		return &node{raw: s}, ok
	}
	start := p.i
	for p.i < len(p.s) && !bytes.ContainsRune([]byte(" \t\r\n,]}:"), rune(p.s[p.i])) {
		p.i++
	}
	return &node{raw: p.s[start:p.i]}, p.i > start
}

func (p *parser) container(open byte) (*node, bool) {
	n := &node{kind: open}
	closer := byte(']')
	if open == '{' {
		closer = '}'
	}
	p.i++
	p.ws()
	if p.i < len(p.s) && p.s[p.i] == closer {
		p.i++
		return n, true
	}
	for {
		p.ws()
		if open == '{' {
			k, ok := p.str()
			if !ok {
				return nil, false
			}
			p.ws()
			if p.i >= len(p.s) || p.s[p.i] != ':' {
				return nil, false
			}
			p.i++
			n.keys = append(n.keys, k)
		}
		v, ok := p.value()
		if !ok {
			return nil, false
		}
		n.members = append(n.members, v)
		p.ws()
		if p.i >= len(p.s) {
			return nil, false
		}
		switch p.s[p.i] {
		case ',':
			p.i++
		case closer:
			p.i++
			return n, true
		default:
			return nil, false
		}
	}
}

func (p *parser) str() ([]byte, bool) {
	if p.i >= len(p.s) || p.s[p.i] != '"' {
		return nil, false
	}
	start := p.i
	for p.i++; p.i < len(p.s); p.i++ {
		switch p.s[p.i] {
		case '\\':
			p.i++
		case '"':
			p.i++
			return p.s[start:p.i], true
		}
	}
	return nil, false
}

func write(out *bytes.Buffer, n *node, o *Options, depth int) {
	if n.kind == 0 {
		out.Write(n.raw)
		return
	}
	closer := byte(']')
	if n.kind == '{' {
		closer = '}'
	}
	out.WriteByte(n.kind)
	if len(n.members) == 0 {
		out.WriteByte(closer)
		return
	}
	order := make([]int, len(n.members))
	for i := range order {
		order[i] = i
	}
	if n.kind == '{' && o.SortKeys {
		slices.SortStableFunc(order, func(a, b int) int { return strings.Compare(Unquote(n.keys[a]), Unquote(n.keys[b])) })
	}
	for j, i := range order {
		if j > 0 {
			out.WriteByte(',')
		}
		out.WriteByte('\n')
		out.WriteString(o.Prefix)
		for k := 0; k <= depth; k++ {
			out.WriteString(o.Indent)
		}
		if n.kind == '{' {
			out.Write(n.keys[i])
			out.WriteString(": ")
		}
		write(out, n.members[i], o, depth+1)
	}
	out.WriteByte('\n')
	out.WriteString(o.Prefix)
	for k := 0; k < depth; k++ {
		out.WriteString(o.Indent)
	}
	out.WriteByte(closer)
}

// Unquote decodes a JSON string literal (with its quotes); malformed escapes
// are kept as written.
func Unquote(q []byte) string {
	if len(q) < 2 {
		return string(q)
	}
	s := q[1 : len(q)-1]
	if bytes.IndexByte(s, '\\') < 0 {
		return string(s)
	}
	var b []byte
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' || i+1 == len(s) {
			b = append(b, s[i])
			continue
		}
		i++
		switch s[i] {
		case 'b':
			b = append(b, '\b')
		case 'f':
			b = append(b, '\f')
		case 'n':
			b = append(b, '\n')
		case 'r':
			b = append(b, '\r')
		case 't':
			b = append(b, '\t')
		case 'u':
			r, n := hex4(s[i+1:])
			if n == 0 {
				b = append(b, '\\', 'u')
				continue
			}
			i += n
			if utf16.IsSurrogate(r) {
				if len(s) > i+2 && s[i+1] == '\\' && s[i+2] == 'u' {
					if r2, n2 := hex4(s[i+3:]); n2 != 0 {
						if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
							r = d
							i += 2 + n2
						}
					}
				}
			}
			b = utf8.AppendRune(b, r)
		default: // \" \\ \/ and anything else: the character itself
			b = append(b, s[i])
		}
	}
	return string(b)
}

func hex4(s []byte) (rune, int) {
	if len(s) < 4 {
		return 0, 0
	}
	v, err := strconv.ParseUint(string(s[:4]), 16, 32)
	if err != nil {
		return 0, 0
	}
	return rune(v), 4
}
