package input

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/tidwall/gjson"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// Object is one document of a file, or one item of a List, as JSON.
type Object struct {
	Source string // FILE, FILE#DOC, FILE#items[N] or FILE#DOC.items[N]
	Value  gjson.Result
}

// Objects splits data, read from name, into its objects: the non-empty
// YAML documents, with the items of kubectl's List in place of the List. A
// JSON file is one document, kept byte for byte (a bare pluginConfig then
// reaches the parser as written). It never panics on malformed input:
// everything wrong with it is a Problem.
func Objects(name string, data []byte) (objs []Object, problems []Problem) {
	defer func() {
		if r := recover(); r != nil {
			objs, problems = nil, []Problem{{name, "$", fmt.Sprintf("cannot parse: %v", r)}}
		}
	}()
	if len(data) > MaxFileSize {
		return nil, []Problem{{name, "$", fmt.Sprintf("larger than %d MiB", MaxFileSize>>20)}}
	}
	docs, err := documents(data)
	if err != nil {
		return nil, []Problem{{name, "$", err.Error()}}
	}
	for i, d := range docs {
		src := name
		if len(docs) > 1 {
			src += "#" + strconv.Itoa(i+1)
		}
		if d.err != nil {
			problems = append(problems, Problem{src, "$", d.err.Error()})
			continue
		}
		objs = appendObject(objs, src, gjson.ParseBytes(d.json), len(docs) > 1)
	}
	return objs, problems
}

// appendObject appends v, or the items of a List.
func appendObject(objs []Object, src string, v gjson.Result, numbered bool) []Object {
	items := v.Get("items")
	if !strings.HasSuffix(v.Get("kind").String(), "List") || !items.IsArray() {
		return append(objs, Object{Source: src, Value: v})
	}
	sep := "#"
	if numbered {
		sep = "."
	}
	for i, it := range items.Array() {
		objs = appendObject(objs, src+sep+"items["+strconv.Itoa(i)+"]", it, true)
	}
	return objs
}

// document is one document of a file, as JSON, or why it is not one.
type document struct {
	json []byte
	err  error
}

// documents splits data into its non-empty documents.
func documents(data []byte) ([]document, error) {
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) > 0 && trimmed[0] == '{' {
		// gjson recurses per level: bound the depth before it looks.
		if depth(trimmed) > MaxDepth {
			return nil, fmt.Errorf("nesting deeper than %d levels", MaxDepth)
		}
		if gjson.ValidBytes(trimmed) {
			return []document{{json: trimmed}}, nil
		}
	}
	var docs []document
	rd := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	for {
		doc, err := rd.Read()
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("cannot read YAML: %w", err)
		}
		js, err := yaml.YAMLToJSONStrict(doc)
		if err == nil && (len(js) == 0 || string(js) == "null") {
			continue // empty or comments only
		}
		if err != nil {
			err = fmt.Errorf("not valid YAML: %s", oneLine(err.Error()))
		}
		docs = append(docs, document{json: js, err: err})
	}
}

// depth returns the deepest nesting of brackets outside JSON strings.
func depth(data []byte) int {
	d, deepest, inString := 0, 0, false
	for i := 0; i < len(data); i++ {
		switch c := data[i]; {
		case inString && c == '\\':
			i++
		case c == '"':
			inString = !inString
		case inString:
		case c == '{' || c == '[':
			d++
			deepest = max(deepest, d)
		case c == '}' || c == ']':
			d--
		}
	}
	return deepest
}

// oneLine joins the lines of a message.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
