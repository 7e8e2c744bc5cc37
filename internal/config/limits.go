package config

import (
	"strconv"
	"strings"
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
		return errorf("$", "configuration is %d bytes; the limit is %d", len(data), MaxSize)
	}
	type frame struct {
		array bool
		index int
		key   string
	}
	var stack []frame
	expectKey := false
	for i := 0; i < len(data); i++ {
		switch c := data[i]; c {
		case '"':
			j := i + 1
			for j < len(data) && data[j] != '"' {
				if data[j] == '\\' {
					j++
				}
				j++
			}
			if expectKey && len(stack) > 0 {
				stack[len(stack)-1].key = string(data[i+1 : min(j, len(data))])
				expectKey = false
			}
			i = j
		case '{', '[':
			if len(stack) == MaxDepth {
				var b strings.Builder
				b.WriteByte('$')
				for k, f := range stack {
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
				return errorf(b.String(), "nesting deeper than %d levels", MaxDepth)
			}
			stack = append(stack, frame{array: c == '['})
			expectKey = c == '{'
		case '}', ']':
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
			expectKey = false
		case ',':
			if len(stack) > 0 {
				top := &stack[len(stack)-1]
				if top.array {
					top.index++
				} else {
					expectKey = true
				}
			}
		}
	}
	return nil
}
