package spec

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
)

// maxJSONDepth bounds nesting; a job spec is at most four levels deep, so
// anything deeper is a mistake and is rejected before it costs stack.
const maxJSONDepth = 32

// decodeJSON overlays the JSON object in data onto j. A token scan first
// checks syntax, trailing data, duplicate keys and unknown keys with exact
// case and line numbers (encoding/json alone matches keys case-insensitively,
// keeps the last duplicate and reports no position for unknown fields).
func decodeJSON(data []byte, j *Job) (index, error) {
	sc := jsonScanner{data: data, dec: json.NewDecoder(bytes.NewReader(data)), schema: jobSchema()}
	sc.dec.UseNumber()
	if err := sc.document(); err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(j); err != nil {
		return nil, sc.typeError(err)
	}
	return sc.idx, nil
}

type jsonScanner struct {
	data   []byte
	dec    *json.Decoder
	schema schema
	idx    index
}

func (sc *jsonScanner) lineAt(off int64) int {
	off = min(max(off, 0), int64(len(sc.data)))
	return 1 + bytes.Count(sc.data[:off], []byte("\n"))
}

func (sc *jsonScanner) document() error {
	tok, err := sc.dec.Token()
	if errors.Is(err, io.EOF) {
		return &FieldError{Err: errors.New("empty; want a JSON object of job fields")}
	}
	if err != nil {
		return sc.syntaxError(err)
	}
	if tok != json.Delim('{') {
		return &FieldError{Line: sc.lineAt(sc.dec.InputOffset()), Err: fmt.Errorf("want a JSON object of job fields, got %s", tokenWord(tok))}
	}
	if err := sc.object("", 1); err != nil {
		return err
	}
	end := sc.dec.InputOffset()
	if _, err := sc.dec.Token(); !errors.Is(err, io.EOF) {
		rest := bytes.TrimLeft(sc.data[end:], " \t\r\n")
		return &FieldError{Line: sc.lineAt(int64(len(sc.data) - len(rest))), Err: errors.New("trailing data after the job object")}
	}
	return nil
}

// object scans the members of an object whose '{' was just read.
func (sc *jsonScanner) object(path string, depth int) error {
	st, checkKeys := sc.schema.structAt(normalize(path))
	first := map[string]int{}
	for sc.dec.More() {
		tok, err := sc.dec.Token()
		if err != nil {
			return sc.syntaxError(err)
		}
		key, _ := tok.(string) // More and Token guarantee a string key here
		line := sc.lineAt(sc.dec.InputOffset())
		p := joinKey(path, key)
		if at, dup := first[key]; dup {
			return &FieldError{Line: line, Field: p, Err: fmt.Errorf("set twice (first at line %d)", at)}
		}
		first[key] = line
		// Compare with the struct's own keys, not schema paths, so that a key
		// spelled like a path ("input[0]") cannot pass for a known field.
		if checkKeys && !slices.Contains(keysOf(st), key) {
			return &FieldError{Line: line, Field: path, Err: errors.New(unknownKey(key, keysOf(st)))}
		}
		if err := sc.value(p, key, line, depth); err != nil {
			return err
		}
	}
	return sc.closing()
}

// value scans one value and records its position.
func (sc *jsonScanner) value(path, key string, keyLine, depth int) error {
	if depth > maxJSONDepth {
		return &FieldError{Line: keyLine, Field: path, Err: fmt.Errorf("nested deeper than %d levels", maxJSONDepth)}
	}
	tok, err := sc.dec.Token()
	if err != nil {
		return sc.syntaxError(err)
	}
	end := sc.dec.InputOffset()
	valLine := sc.lineAt(end)
	if key == "" {
		keyLine = valLine
	}
	sc.idx = append(sc.idx, position{path: path, key: key, line: keyLine, valLine: valLine, valEnd: end})
	switch tok {
	case json.Delim('{'):
		return sc.object(path, depth+1)
	case json.Delim('['):
		for i := 0; sc.dec.More(); i++ {
			if err := sc.value(path+"["+strconv.Itoa(i)+"]", "", 0, depth+1); err != nil {
				return err
			}
		}
		return sc.closing()
	}
	return nil
}

// closing consumes the '}' or ']' that More has announced.
func (sc *jsonScanner) closing() error {
	if _, err := sc.dec.Token(); err != nil {
		return sc.syntaxError(err)
	}
	return nil
}

func (sc *jsonScanner) syntaxError(err error) error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return &FieldError{Line: sc.lineAt(se.Offset), Err: fmt.Errorf("invalid JSON: %w", err)}
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return &FieldError{Line: sc.lineAt(int64(len(sc.data))), Err: errors.New("invalid JSON: unexpected end of input")}
	}
	return &FieldError{Line: sc.lineAt(sc.dec.InputOffset()), Err: fmt.Errorf("invalid JSON: %w", err)}
}

// typeError rewords an encoding/json decode error; the scan has already
// ruled out syntax and unknown fields, so it is normally a type mismatch.
func (sc *jsonScanner) typeError(err error) error {
	var te *json.UnmarshalTypeError
	if !errors.As(err, &te) {
		return &FieldError{Err: err}
	}
	fe := &FieldError{Line: sc.lineAt(te.Offset), Field: te.Field, Err: fmt.Errorf("want %s, got %s", describe(te.Type), jsonValueWord(te.Value))}
	// te.Field has no list indexes; the scanned position at the same offset does.
	for _, p := range sc.idx {
		if p.valEnd == te.Offset {
			fe.Field = p.path
			break
		}
	}
	return fe
}

func tokenWord(tok json.Token) string {
	switch t := tok.(type) {
	case json.Delim:
		if t == '[' {
			return "a list"
		}
		return string(t)
	case string:
		return "string " + strconv.Quote(t)
	case json.Number:
		return "number " + t.String()
	case bool:
		return "boolean " + strconv.FormatBool(t)
	case nil:
		return "null"
	}
	return fmt.Sprint(tok)
}

// jsonValueWord rewords encoding/json's description of a value ("object",
// "number -1") in the terms the rest of the messages use.
func jsonValueWord(v string) string {
	switch v {
	case "object":
		return "an object"
	case "array":
		return "a list"
	case "bool":
		return "a boolean"
	}
	return v
}
