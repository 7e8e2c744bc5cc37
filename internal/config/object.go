package config

import (
	"math"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/lanedye/lanedye/internal/httpsyntax"
)

// A binder reads the JSON value at path into wherever it binds to.
type binder func(v gjson.Result, path string) error

// field binds one key of a JSON object.
type field struct {
	key      string
	bind     binder
	required bool
	hint     string // appended to "required"
}

// opt is an optional key.
func opt(key string, b binder) field { return field{key: key, bind: b} }

// req is a required key; hint says what it wants.
func req(key, hint string, b binder) field {
	return field{key: key, bind: b, required: true, hint: hint}
}

// object binds the fields of the object v: unknown and duplicate keys are
// errors, a missing required key is an error at its path, and fields are
// bound in the order given, so a field can rely on the ones before it.
func object(v gjson.Result, path string, fields ...field) error {
	keys := make([]string, len(fields))
	for i, f := range fields {
		keys[i] = f.key
	}
	vals, err := members(v, path, keys)
	if err != nil {
		return err
	}
	for _, f := range fields {
		val, ok := vals[f.key]
		switch {
		case ok:
			if err := f.bind(val, join(path, f.key)); err != nil {
				return err
			}
		case f.required && f.hint != "":
			return errorf(join(path, f.key), "required: %s", f.hint)
		case f.required:
			return errorf(join(path, f.key), "required")
		}
	}
	return nil
}

// members returns the values of an object's keys, rejecting duplicate keys
// and, when allowed is not nil, keys it does not list.
func members(v gjson.Result, path string, allowed []string) (map[string]gjson.Result, error) {
	if !v.IsObject() {
		return nil, errorf(path, "must be an object")
	}
	out := map[string]gjson.Result{}
	var err error
	v.ForEach(func(k, val gjson.Result) bool {
		key := k.String()
		if _, dup := out[key]; dup {
			err = errorf(join(path, key), "duplicate key")
			return false
		}
		if allowed != nil && !contains(allowed, key) {
			err = errorf(join(path, key), "unknown key (allowed: %s)", strings.Join(allowed, ", "))
			return false
		}
		out[key] = val
		return true
	})
	return out, err
}

// entries returns an object's keys and values in document order, rejecting
// duplicate keys: for maps whose keys are names (headers, services).
func entries(v gjson.Result, path string) ([]string, []gjson.Result, error) {
	if _, err := members(v, path, nil); err != nil {
		return nil, nil, err
	}
	var ks []string
	var vs []gjson.Result
	v.ForEach(func(k, val gjson.Result) bool {
		ks = append(ks, k.String())
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

func str(dst *string) binder {
	return func(v gjson.Result, path string) error {
		if v.Type != gjson.String {
			return errorf(path, "must be a string")
		}
		*dst = v.Str
		return nil
	}
}

func boolean(dst *bool) binder {
	return func(v gjson.Result, path string) error {
		if v.Type != gjson.True && v.Type != gjson.False {
			return errorf(path, "must be true or false")
		}
		*dst = v.Type == gjson.True
		return nil
	}
}

func integer(dst *int, lo, hi int) binder {
	return func(v gjson.Result, path string) error {
		if v.Type != gjson.Number || v.Num != math.Trunc(v.Num) {
			return errorf(path, "must be an integer")
		}
		if v.Num < float64(lo) || v.Num > float64(hi) {
			return errorf(path, "must be between %d and %d", lo, hi)
		}
		*dst = int(v.Num)
		return nil
	}
}

// headerName binds a header name, lower-cased.
func headerName(dst *string) binder {
	return func(v gjson.Result, path string) error {
		var s string
		if err := str(&s)(v, path); err != nil {
			return err
		}
		if l := strings.ToLower(s); httpsyntax.ValidToken(l) {
			*dst = l
			return nil
		}
		return errorf(path, "%q is not a valid header name", s)
	}
}

// raw keeps a value for a later pass.
func raw(dst *gjson.Result) binder {
	return func(v gjson.Result, _ string) error {
		*dst = v
		return nil
	}
}

// array returns the items of an array.
func array(v gjson.Result, path string) ([]gjson.Result, error) {
	if !v.IsArray() {
		return nil, errorf(path, "must be an array")
	}
	return v.Array(), nil
}

// stringList binds a list of strings.
func stringList(dst *[]string) binder {
	return func(v gjson.Result, path string) error {
		items, err := array(v, path)
		if err != nil {
			return err
		}
		out := make([]string, len(items))
		for i, it := range items {
			if err := str(&out[i])(it, index(path, i)); err != nil {
				return err
			}
		}
		*dst = out
		return nil
	}
}

// stringOrList accepts a string or a non-empty list of strings.
func stringOrList(v gjson.Result, path string) ([]string, error) {
	if v.Type == gjson.String {
		return []string{v.Str}, nil
	}
	if !v.IsArray() {
		return nil, errorf(path, "must be a string or a list of strings")
	}
	var out []string
	if err := stringList(&out)(v, path); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, errorf(path, "must not be an empty list")
	}
	return out, nil
}
