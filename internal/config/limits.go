package config

import (
	"strconv"
	"strings"

	"github.com/lanedye/lanedye/internal/config/bind"
)

// MaxSize is the largest configuration accepted, in bytes.
const MaxSize = 1 << 20

// MaxDepth is the deepest nesting of objects and arrays accepted.
const MaxDepth = 32

// checkLimits rejects oversized and over-nested input before gjson walks it:
// gjson recurses per nesting level, and the VM's stack is not ours to spend.
// It tolerates malformed JSON; syntax is checked afterwards.
func checkLimits(data []byte) error {
	if len(data) > MaxSize {
		return bind.Err("$", "configuration is "+bind.Itoa(len(data))+" bytes; the limit is "+bind.Itoa(MaxSize))
	}
	var d depth
	for i := 0; i < len(data); i++ {
		switch c := data[i]; c {
		case '"':
			i = d.str(data, i)
		case '{', '[':
			if len(d.stack) == MaxDepth {
				return bind.Err(d.path(), "nesting deeper than "+bind.Itoa(MaxDepth)+" levels")
			}
			d.stack = append(d.stack, frame{array: c == '['})
			d.expectKey = c == '{'
		case '}', ']':
			if len(d.stack) > 0 {
				d.stack = d.stack[:len(d.stack)-1]
			}
			d.expectKey = false
		case ',':
			d.next()
		}
	}
	return nil
}

// depth tracks where a scan is, to name the path of a too deep value.
type depth struct {
	stack     []frame
	expectKey bool
}

type frame struct {
	array bool
	index int
	key   string
}

// str skips the string starting at data[i] (recording it when it is an
// object key) and returns the index of its closing quote.
func (d *depth) str(data []byte, i int) int {
	j := i + 1
	for j < len(data) && data[j] != '"' {
		if data[j] == '\\' {
			j++
		}
		j++
	}
	if d.expectKey && len(d.stack) > 0 {
		d.stack[len(d.stack)-1].key = string(data[i+1 : min(j, len(data))])
		d.expectKey = false
	}
	return j
}

// next moves to the next array element or object member.
func (d *depth) next() {
	if len(d.stack) == 0 {
		return
	}
	top := &d.stack[len(d.stack)-1]
	if top.array {
		top.index++
	} else {
		d.expectKey = true
	}
}

func (d *depth) path() string {
	var b strings.Builder
	b.WriteByte('$')
	for k, f := range d.stack {
		switch {
		case f.array:
			b.WriteString("[" + strconv.Itoa(f.index) + "]")
		case k == 0:
			b.Reset()
			b.WriteString(f.key)
		default:
			b.WriteString("." + f.key)
		}
	}
	return b.String()
}
