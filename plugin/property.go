package plugin

import "strings"

// PropertyPath is a property's path as the ABI takes it: the segments
// joined by NUL bytes, built once rather than per request.
type PropertyPath []byte

// NewPropertyPath builds a path ("source", "address").
func NewPropertyPath(segments ...string) PropertyPath {
	return PropertyPath(strings.Join(segments, "\x00"))
}

func (p PropertyPath) segments() []string { return strings.Split(string(p), "\x00") }
