package pretty

import (
	"encoding/json"
	"testing"
)

func TestPrettyKeepsTheValue(t *testing.T) {
	for _, in := range []string{
		`{"b":[1,2,{"x":null}],"a":"s\"q","c":{},"d":[]}`,
		` [ true , false, -1.5e3, "\u00e9\ud83d\ude00" ] `,
		`"just a string"`,
		`{"z":1,"\u0061":2,"b\n":3}`,
	} {
		for _, o := range []*Options{nil, {Indent: "\t", Prefix: "> ", SortKeys: true}} {
			out := PrettyOptions([]byte(in), o)
			var a, b any
			if json.Unmarshal([]byte(in), &a) != nil || json.Unmarshal([]byte(stripPrefix(out, o)), &b) != nil {
				t.Fatalf("%s -> %s: not JSON", in, out)
			}
			ja, _ := json.Marshal(a)
			jb, _ := json.Marshal(b)
			if string(ja) != string(jb) {
				t.Errorf("%s -> %s changed the value", in, out)
			}
			if u := Ugly([]byte(stripPrefix(out, o))); json.Unmarshal(u, &b) != nil {
				t.Errorf("Ugly(%s) = %s: not JSON", out, u)
			}
		}
	}
}

func stripPrefix(b []byte, o *Options) string {
	if o == nil || o.Prefix == "" {
		return string(b)
	}
	s := string(b)
	out := ""
	for len(s) > 0 {
		line := s
		if i := indexByte(s, '\n'); i >= 0 {
			line, s = s[:i+1], s[i+1:]
		} else {
			s = ""
		}
		if len(line) >= len(o.Prefix) && line[:len(o.Prefix)] == o.Prefix {
			line = line[len(o.Prefix):]
		}
		out += line
	}
	return out
}

func indexByte(s string, c byte) int {
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			return i
		}
	}
	return -1
}

func TestSortKeysByDecodedName(t *testing.T) {
	got := string(PrettyOptions([]byte(`{"b":1,"\u0061":2,"c":3}`), &Options{Indent: " ", SortKeys: true}))
	want := "{\n \"\\u0061\": 2,\n \"b\": 1,\n \"c\": 3\n}\n"
	if got != want {
		t.Errorf("got %q want %q", got, want)
	}
}

func TestUgly(t *testing.T) {
	if got := string(Ugly([]byte("{ \"a b\" : [ 1 , \"x \\\" y\" ] }\n"))); got != `{"a b":[1,"x \" y"]}` {
		t.Errorf("got %s", got)
	}
}

func TestInvalidUnchanged(t *testing.T) {
	for _, in := range []string{`{"a":`, `[1,2`, `{"a" 1}`, ``, `{"a":1}x`} {
		if got := string(Pretty([]byte(in))); got != in {
			t.Errorf("%q -> %q", in, got)
		}
	}
}

func TestUnquote(t *testing.T) {
	for in, want := range map[string]string{`"a"`: "a", `"\u00e9"`: "é", `"\ud83d\ude00"`: "😀", `"\n\t\/\\"`: "\n\t/\\", `"\uZZZZ"`: `\uZZZZ`} {
		if got := Unquote([]byte(in)); got != want {
			t.Errorf("%s: %q want %q", in, got, want)
		}
	}
}
