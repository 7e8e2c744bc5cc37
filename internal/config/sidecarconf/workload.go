package sidecarconf

import (
	"strings"

	"github.com/lanedye/lanedye/internal/config/bind"
	"github.com/lanedye/lanedye/internal/gjson"
)

// labelKey binds a Kubernetes label key, [prefix/]name: a name of 1 to 63
// letters, digits, '-', '_' and '.', alphanumeric at both ends, after an
// optional prefix of lower-case DNS labels.
func labelKey(dst *string) bind.Binder {
	return func(v gjson.Result, path string) error {
		if err := bind.Str(dst)(v, path); err != nil {
			return err
		}
		name, prefix := *dst, ""
		if i := strings.LastIndexByte(name, '/'); i >= 0 {
			prefix, name = name[:i], name[i+1:]
		}
		ok := len(name) <= 63 && validParts(name, "-_.", true)
		if ok && *dst != name {
			ok = len(prefix) <= 253 && validParts(prefix, "-.", false)
		}
		if !ok {
			return bind.Err(path, bind.Q(*dst)+" is not a Kubernetes label key ([prefix/]name)")
		}
		return nil
	}
}

// validParts: s is non-empty, alphanumeric (upper case only if upper) at
// both ends and around each '.', and holds nothing but those and inner.
func validParts(s, inner string, upper bool) bool {
	end := func(c byte) bool {
		return 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || upper && 'A' <= c && c <= 'Z'
	}
	if s == "" || !end(s[0]) || !end(s[len(s)-1]) {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !end(c) && strings.IndexByte(inner, c) < 0 {
			return false
		}
		if c == '.' && !upper && (!end(s[i-1]) || !end(s[i+1])) {
			return false
		}
	}
	return true
}
