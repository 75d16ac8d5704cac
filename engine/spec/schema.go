package spec

import (
	"reflect"
	"strconv"
	"strings"
)

// schema maps every config key path, with list indexes written as "[]"
// (e.g. "model_spec.layers[].kernel"), to its Go type; "" is the Job itself.
// It is derived from the struct tags so it cannot drift from the types.
type schema map[string]reflect.Type

func jobSchema() schema {
	s := schema{}
	s.add("", reflect.TypeFor[Job]())
	return s
}

func (s schema) add(path string, t reflect.Type) {
	s[path] = t
	switch t.Kind() {
	case reflect.Pointer:
		s.add(path, t.Elem())
		s[path] = t // keep the pointer type for messages
	case reflect.Slice:
		s.add(path+"[]", t.Elem())
	case reflect.Struct:
		for i := range t.NumField() {
			name := tagName(t.Field(i))
			if name == "" {
				continue
			}
			s.add(joinKey(path, name), t.Field(i).Type)
		}
	}
}

// structAt returns the struct type at a normalized path, if there is one.
func (s schema) structAt(path string) (reflect.Type, bool) {
	t, ok := s[path]
	if !ok {
		return nil, false
	}
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t, t.Kind() == reflect.Struct
}

// keysOf lists the config keys of a struct type, in declaration order.
func keysOf(t reflect.Type) []string {
	var keys []string
	for i := range t.NumField() {
		if name := tagName(t.Field(i)); name != "" {
			keys = append(keys, name)
		}
	}
	return keys
}

func tagName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
	if name == "-" {
		return ""
	}
	return name
}

func joinKey(parent, key string) string {
	if parent == "" {
		return key
	}
	return parent + "." + key
}

// normalize turns "model_spec.layers[3].kernel" into "model_spec.layers[].kernel".
func normalize(path string) string {
	var b strings.Builder
	for i := 0; i < len(path); i++ {
		b.WriteByte(path[i])
		if path[i] == '[' {
			for i+1 < len(path) && path[i+1] != ']' {
				i++
			}
		}
	}
	return b.String()
}

// describe names what a config value of type t must look like.
func describe(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "an integer"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a non-negative integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Bool:
		return "true or false"
	case reflect.String:
		return "a string"
	case reflect.Slice:
		return "a list of " + plural(describe(t.Elem()))
	case reflect.Pointer, reflect.Struct:
		return "a mapping of fields"
	}
	return t.String()
}

func plural(what string) string {
	switch {
	case what == "true or false":
		return "booleans"
	case strings.HasPrefix(what, "an "):
		return what[3:] + "s"
	case strings.HasPrefix(what, "a "):
		return what[2:] + "s"
	}
	return what
}

// unknownKey words the error for key, suggesting a near-miss spelling from
// known since typos are the usual cause.
func unknownKey(key string, known []string) string {
	msg := "unknown field " + strconv.Quote(key)
	best, bestDist := "", 3
	for _, k := range known {
		if strings.EqualFold(k, key) {
			best = k
			break
		}
		// A suggestion must keep some of the typed key, hence d < len(key).
		if d := editDistance(k, key); d < bestDist && d < len(key) {
			best, bestDist = k, d
		}
	}
	if best != "" {
		msg += " (did you mean " + strconv.Quote(best) + "?)"
	}
	return msg
}

// editDistance is the Levenshtein distance between two short keys.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
