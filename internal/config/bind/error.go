package bind

import (
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/lanedye/lanedye/internal/httpsyntax"
)

// Error is a configuration error at a JSON path.
type Error struct {
	Path string
	Msg  string
}

func (e *Error) Error() string { return e.Path + ": " + e.Msg }

// Err returns an *Error. Messages are built by concatenation (Q, Itoa):
// fmt's formatting would link a quarter of a megabyte into every module.
func Err(path, msg string) error { return &Error{Path: path, Msg: msg} }

// Q quotes s as Go does (fmt's %q) for printable text.
func Q(s string) string { return httpsyntax.Quote(s) }

// Itoa formats n in decimal.
func Itoa(n int) string { return strconv.Itoa(n) }

// Join appends an object key to a path. Keys that would make the path
// ambiguous or invisible (empty, spaces, quotes, brackets, control bytes) are
// written as ["key"].
func Join(path, key string) string {
	if key == "" || strings.ContainsFunc(key, func(r rune) bool {
		return r <= ' ' || r == '"' || r == '[' || r == ']' || r == 0x7f || r == utf8.RuneError
	}) {
		if path == "" {
			path = "$"
		}
		return path + "[" + httpsyntax.Quote(key) + "]"
	}
	if path == "" || path == "$" {
		return key
	}
	return path + "." + key
}

// Index appends an array index to a path.
func Index(path string, i int) string { return path + "[" + strconv.Itoa(i) + "]" }
