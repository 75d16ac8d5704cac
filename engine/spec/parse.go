package spec

import (
	"cmp"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// maxFileSize bounds what Load reads: a job spec is a few hundred bytes, so
// anything large is a wrong path (a dataset, a checkpoint), not a config.
const maxFileSize = 1 << 20

// Load reads the config file at path and parses it with Parse.
func Load(path string) (Job, error) {
	f, err := os.Open(path)
	if err != nil {
		return Job{}, fmt.Errorf("job spec: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return Job{}, fmt.Errorf("job spec %s: %w", path, err)
	}
	if len(data) > maxFileSize {
		return Job{}, &FieldError{File: path, Err: fmt.Errorf("larger than %d bytes; is this really a job spec?", maxFileSize)}
	}
	return Parse(data, path)
}

// Parse reads a job spec from data: it starts from Default, overlays the keys
// the document sets, and validates the result. name is used in errors and
// picks the format by extension: .yaml or .yml for YAML, .json for JSON.
// The document must be one mapping whose keys are all known; errors are
// *FieldError values (joined when there are several) naming name, the line
// where known, and the field.
func Parse(data []byte, name string) (Job, error) {
	j := Default()
	// Start without a preset so that a document giving model_spec does not
	// also have to clear model; the preset default is restored below.
	j.Model = ""

	var idx index
	var err error
	switch ext := strings.ToLower(filepath.Ext(name)); ext {
	case ".yaml", ".yml":
		idx, err = decodeYAML(data, &j)
	case ".json":
		idx, err = decodeJSON(data, &j)
	default:
		return Job{}, &FieldError{File: name, Err: fmt.Errorf("unknown config format %q (want .yaml, .yml or .json)", ext)}
	}
	if err != nil {
		return Job{}, inFile(err, name)
	}
	if j.Model == "" && j.ModelSpec == nil {
		j.Model = Default().Model
	}
	if err := j.Validate(); err != nil {
		fes := FieldErrors(err)
		for _, fe := range fes {
			fe.File = name
			if fe.Line == 0 {
				fe.Line = idx.lineOf(fe.Field)
			}
		}
		// Report in file order, which is how a reader fixes them; problems
		// with defaults (no line) come last.
		slices.SortStableFunc(fes, func(a, b *FieldError) int {
			return cmp.Compare(sortLine(a.Line), sortLine(b.Line))
		})
		return Job{}, joinFieldErrors(fes)
	}
	return j, nil
}

func sortLine(l int) int {
	if l == 0 {
		return math.MaxInt
	}
	return l
}

// inFile stamps the file name on every FieldError in err.
func inFile(err error, name string) error {
	fes := FieldErrors(err)
	if len(fes) == 0 {
		return &FieldError{File: name, Err: err}
	}
	for _, fe := range fes {
		fe.File = name
	}
	return joinFieldErrors(fes)
}

// position records where one key or list item sits in the document, so that
// errors can point at a line.
type position struct {
	path    string // e.g. "model_spec.layers[3].kernel"
	key     string // last key; empty for a list item
	line    int    // line of the key, or of the item
	valLine int    // line where the value starts
	val     string // scalar text (YAML only)
	tag     string // resolved YAML tag, e.g. "!!float" (YAML only)
	valEnd  int64  // byte offset just past the value's first token (JSON only)
}

type index []position

// lineOf returns the line of path or of its nearest ancestor in the
// document, or 0 when neither appears; a problem with a default value has
// no line.
func (idx index) lineOf(path string) int {
	for path != "" {
		for _, p := range idx {
			if p.path == path {
				return p.line
			}
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			break
		}
		path = path[:i]
	}
	return 0
}
