package spec

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// decodeYAML overlays the single YAML document in data onto j. The yaml
// library reports type errors by line and Go type only, so they are matched
// back to config keys through an index of the document.
func decodeYAML(data []byte, j *Job) (index, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(j); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil // empty or comment-only: all defaults
		}
		return nil, yamlError(err, data)
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case errors.Is(err, io.EOF):
	case err != nil:
		return nil, yamlError(err, data)
	default:
		return nil, &FieldError{Line: extra.Line, Err: errors.New("a second YAML document starts here; a job spec is one document")}
	}
	idx := indexYAML(data)
	if err := idx.checkYAMLIntegers(jobSchema()); err != nil {
		return nil, err
	}
	return idx, nil
}

// checkYAMLIntegers rejects a float where an integer belongs: the yaml
// library truncates 2.5 to 2 without complaint, and encoding/json refuses it.
func (idx index) checkYAMLIntegers(s schema) error {
	var fes []*FieldError
	for _, p := range idx {
		t, ok := s[normalize(p.path)]
		if !ok || p.tag != "!!float" {
			continue
		}
		switch t.Kind() {
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
			reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
			fes = append(fes, &FieldError{Line: p.valLine, Field: p.path, Err: fmt.Errorf("want %s, got number %s", describe(t), p.val)})
		}
	}
	return joinFieldErrors(fes)
}

func indexYAML(data []byte) index {
	var root yaml.Node
	if yaml.Unmarshal(data, &root) != nil {
		return nil
	}
	var idx index
	idx.addYAML(&root, "")
	return idx
}

func (idx *index) addYAML(n *yaml.Node, path string) {
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			idx.addYAML(c, path)
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Kind != yaml.ScalarNode || k.Value == "<<" {
				continue // merge keys and complex keys have no config path
			}
			p := joinKey(path, k.Value)
			*idx = append(*idx, position{path: p, key: k.Value, line: k.Line, valLine: v.Line, val: scalarText(v), tag: v.ShortTag()})
			idx.addYAML(v, p)
		}
	case yaml.SequenceNode:
		for i, v := range n.Content {
			p := path + "[" + strconv.Itoa(i) + "]"
			*idx = append(*idx, position{path: p, line: v.Line, valLine: v.Line, val: scalarText(v), tag: v.ShortTag()})
			idx.addYAML(v, p)
		}
	}
}

// scalarText is the text of a scalar, seen through an alias.
func scalarText(n *yaml.Node) string {
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	if n.Kind == yaml.ScalarNode {
		return n.Value
	}
	return ""
}

// yamlError turns a yaml library error into FieldErrors naming the key.
func yamlError(err error, data []byte) error {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		line, msg := splitLine(strings.TrimPrefix(err.Error(), "yaml: "))
		return &FieldError{Line: line, Err: errors.New(msg)}
	}
	idx := indexYAML(data)
	s := jobSchema()
	fes := make([]*FieldError, 0, len(te.Errors))
	for _, m := range te.Errors {
		fes = append(fes, yamlTypeError(m, idx, s))
	}
	return joinFieldErrors(fes)
}

// yamlTypeError rewords one of the library's TypeError lines, which come in
// three shapes: unknown field, duplicate field, and value of the wrong type.
func yamlTypeError(m string, idx index, s schema) *FieldError {
	line, msg := splitLine(m)
	fe := &FieldError{Line: line, Err: errors.New(msg)}
	if rest, ok := strings.CutPrefix(msg, "field "); ok {
		if key, _, ok := strings.Cut(rest, " not found in type "); ok {
			for _, p := range idx {
				if p.line == line && p.key == key {
					fe.Field = strings.TrimSuffix(strings.TrimSuffix(p.path, key), ".")
					break
				}
			}
			var known []string
			if t, ok := s.structAt(normalize(fe.Field)); ok {
				known = keysOf(t)
			}
			fe.Err = errors.New(unknownKey(key, known))
			return fe
		}
		if key, _, ok := strings.Cut(rest, " already set in type "); ok {
			for _, p := range idx {
				if p.line == line && p.key == key {
					fe.Field = p.path
					fe.Err = fmt.Errorf("set twice (first at line %d)", idx.lineOf(p.path))
					return fe
				}
			}
			fe.Err = fmt.Errorf("field %q set twice", key)
			return fe
		}
		return fe
	}
	rest, ok := strings.CutPrefix(msg, "cannot unmarshal ")
	if !ok {
		return fe
	}
	got, goType, ok := cutLast(rest, " into ")
	if !ok {
		return fe
	}
	tag, val, hasVal := strings.Cut(got, " `")
	val = strings.TrimSuffix(val, "`")
	found := false
	for _, p := range idx {
		if p.valLine == line && matchTruncated(p.val, val, hasVal) {
			fe.Field, found = p.path, true
			break
		}
	}
	want := goType
	if t, ok := s[normalize(fe.Field)]; ok && found {
		want = describe(t)
	} else {
		for _, t := range s {
			if t.String() == goType {
				want = describe(t)
				break
			}
		}
	}
	gotText := tagWord(tag)
	switch {
	case hasVal && tag == "!!str":
		gotText += " " + strconv.Quote(val)
	case hasVal:
		gotText += " " + val
	}
	fe.Err = fmt.Errorf("want %s, got %s", want, gotText)
	return fe
}

// matchTruncated compares a scalar with the library's rendering of it, which
// cuts values longer than 10 bytes to 7 bytes and "...".
func matchTruncated(full, shown string, hasShown bool) bool {
	if !hasShown {
		return full == ""
	}
	if prefix, ok := strings.CutSuffix(shown, "..."); ok && len(full) > 10 {
		return strings.HasPrefix(full, prefix)
	}
	return full == shown
}

func tagWord(tag string) string {
	switch tag {
	case "!!str":
		return "string"
	case "!!int":
		return "integer"
	case "!!float":
		return "number"
	case "!!bool":
		return "boolean"
	case "!!null":
		return "null"
	case "!!map":
		return "a mapping"
	case "!!seq":
		return "a list"
	}
	return tag
}

// splitLine separates the "line N: " prefix yaml puts on messages.
func splitLine(m string) (int, string) {
	rest, ok := strings.CutPrefix(m, "line ")
	if !ok {
		return 0, m
	}
	num, msg, ok := strings.Cut(rest, ": ")
	if !ok {
		return 0, m
	}
	n, err := strconv.Atoi(num)
	if err != nil {
		return 0, m
	}
	return n, msg
}

func cutLast(s, sep string) (before, after string, found bool) {
	i := strings.LastIndex(s, sep)
	if i < 0 {
		return s, "", false
	}
	return s[:i], s[i+len(sep):], true
}
