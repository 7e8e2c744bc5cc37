package config

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Error is a configuration error at a JSON path.
type Error struct {
	Path string
	Msg  string
}

func (e *Error) Error() string { return e.Path + ": " + e.Msg }

func errorf(path, format string, args ...any) error {
	return &Error{Path: path, Msg: fmt.Sprintf(format, args...)}
}

// join appends an object key to a path. Keys that would make the path
// ambiguous or invisible (empty, spaces, quotes, brackets, control bytes) are
// written as ["key"].
func join(path, key string) string {
	if key == "" || strings.ContainsFunc(key, func(r rune) bool {
		return r <= ' ' || r == '"' || r == '[' || r == ']' || r == 0x7f || r == utf8.RuneError
	}) {
		if path == "" {
			path = "$"
		}
		return path + "[" + strconv.Quote(key) + "]"
	}
	if path == "" || path == "$" {
		return key
	}
	return path + "." + key
}

// index appends an array index to a path.
func index(path string, i int) string { return path + "[" + strconv.Itoa(i) + "]" }
