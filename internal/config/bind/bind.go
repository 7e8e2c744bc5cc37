// Package bind reads JSON into Go values for the configuration parsers,
// the common one (internal/config) and each role's: objects whose unknown
// and duplicate keys are errors, required keys, and values of the expected
// type, every error naming its JSON path.
package bind

import (
	"math"
	"strings"

	"github.com/lanedye/lanedye/internal/gjson"
	"github.com/lanedye/lanedye/internal/httpsyntax"
)

// A Binder reads the JSON value at path into wherever it binds to.
type Binder func(v gjson.Result, path string) error

// Field binds one key of a JSON object.
type Field struct {
	key      string
	bind     Binder
	required bool
	hint     string // appended to "required"
}

// Opt is an optional key.
func Opt(key string, b Binder) Field { return Field{key: key, bind: b} }

// Req is a required key; hint says what it wants.
func Req(key, hint string, b Binder) Field {
	return Field{key: key, bind: b, required: true, hint: hint}
}

// Object binds the fields of the object v: unknown and duplicate keys are
// errors, a missing required key is an error at its path, and fields are
// bound in the order given, so a field can rely on the ones before it.
func Object(v gjson.Result, path string, fields ...Field) error {
	keys := make([]string, len(fields))
	for i, f := range fields {
		keys[i] = f.key
	}
	vals, err := Members(v, path, keys)
	if err != nil {
		return err
	}
	for _, f := range fields {
		val, ok := vals[f.key]
		switch {
		case ok:
			if err := f.bind(val, Join(path, f.key)); err != nil {
				return err
			}
		case f.required && f.hint != "":
			return Err(Join(path, f.key), "required: "+f.hint)
		case f.required:
			return Err(Join(path, f.key), "required")
		}
	}
	return nil
}

// Members returns the values of an object's keys, rejecting duplicate keys
// and, when allowed is not nil, keys it does not list.
func Members(v gjson.Result, path string, allowed []string) (map[string]gjson.Result, error) {
	if !v.IsObject() {
		return nil, Err(path, "must be an object")
	}
	out := map[string]gjson.Result{}
	var err error
	v.ForEach(func(k, val gjson.Result) bool {
		key := k.Str // keys are strings; String would link float formatting
		if _, dup := out[key]; dup {
			err = Err(Join(path, key), "duplicate key")
			return false
		}
		if allowed != nil && !contains(allowed, key) {
			err = Err(Join(path, key), "unknown key (allowed: "+strings.Join(allowed, ", ")+")")
			return false
		}
		out[key] = val
		return true
	})
	return out, err
}

// Entries returns an object's keys and values in document order, rejecting
// duplicate keys: for maps whose keys are names (headers, services).
func Entries(v gjson.Result, path string) ([]string, []gjson.Result, error) {
	if _, err := Members(v, path, nil); err != nil {
		return nil, nil, err
	}
	var ks []string
	var vs []gjson.Result
	v.ForEach(func(k, val gjson.Result) bool {
		ks = append(ks, k.Str)
		vs = append(vs, val)
		return true
	})
	return ks, vs, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// The binders of plain values.

// Str binds a string.
func Str(dst *string) Binder {
	return func(v gjson.Result, path string) error {
		if v.Type != gjson.String {
			return Err(path, "must be a string")
		}
		*dst = v.Str
		return nil
	}
}

// Bool binds true or false.
func Bool(dst *bool) Binder {
	return func(v gjson.Result, path string) error {
		if v.Type != gjson.True && v.Type != gjson.False {
			return Err(path, "must be true or false")
		}
		*dst = v.Type == gjson.True
		return nil
	}
}

// Int binds an integer in [lo, hi].
func Int(dst *int, lo, hi int) Binder {
	return func(v gjson.Result, path string) error {
		if v.Type != gjson.Number || v.Num != math.Trunc(v.Num) {
			return Err(path, "must be an integer")
		}
		if v.Num < float64(lo) || v.Num > float64(hi) {
			return Err(path, "must be between "+Itoa(lo)+" and "+Itoa(hi))
		}
		*dst = int(v.Num)
		return nil
	}
}

// HeaderName binds a header name, lower-cased.
func HeaderName(dst *string) Binder {
	return func(v gjson.Result, path string) error {
		var s string
		if err := Str(&s)(v, path); err != nil {
			return err
		}
		if l := httpsyntax.ToLower(s); httpsyntax.ValidToken(l) {
			*dst = l
			return nil
		}
		return Err(path, Q(s)+" is not a valid header name")
	}
}

// Raw keeps a value for a later pass.
func Raw(dst *gjson.Result) Binder {
	return func(v gjson.Result, _ string) error {
		*dst = v
		return nil
	}
}

// Array returns the items of an array.
func Array(v gjson.Result, path string) ([]gjson.Result, error) {
	if !v.IsArray() {
		return nil, Err(path, "must be an array")
	}
	return v.Array(), nil
}

// StringList binds a list of strings.
func StringList(dst *[]string) Binder {
	return func(v gjson.Result, path string) error {
		items, err := Array(v, path)
		if err != nil {
			return err
		}
		out := make([]string, len(items))
		for i, it := range items {
			if err := Str(&out[i])(it, Index(path, i)); err != nil {
				return err
			}
		}
		*dst = out
		return nil
	}
}

// StringOrList accepts a string or a non-empty list of strings.
func StringOrList(v gjson.Result, path string) ([]string, error) {
	if v.Type == gjson.String {
		return []string{v.Str}, nil
	}
	if !v.IsArray() {
		return nil, Err(path, "must be a string or a list of strings")
	}
	var out []string
	if err := StringList(&out)(v, path); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, Err(path, "must not be an empty list")
	}
	return out, nil
}
