package spec

import (
	"errors"
	"strconv"
	"strings"
)

// FieldError is one problem with a job spec. Validate and Parse return one
// FieldError, or several joined with errors.Join; each prints as one line.
type FieldError struct {
	File  string // config file as given to Parse; empty for programmatic jobs
	Line  int    // 1-based line in File; 0 when unknown
	Field string // config key path, e.g. "model_spec.layers[3].kernel"; empty when the file as a whole is wrong
	Err   error  // what is wrong
}

// Error formats as "file: line N: field: problem", leaving out unknown parts.
func (e *FieldError) Error() string {
	var parts []string
	if e.File != "" {
		parts = append(parts, e.File)
	}
	if e.Line > 0 {
		parts = append(parts, "line "+strconv.Itoa(e.Line))
	}
	if e.Field != "" {
		parts = append(parts, e.Field)
	}
	// Decoders' messages may span lines; an error names its field on one.
	parts = append(parts, strings.ReplaceAll(e.Err.Error(), "\n", " "))
	return strings.Join(parts, ": ")
}

func (e *FieldError) Unwrap() error { return e.Err }

// FieldErrors flattens err (as returned by Validate or Parse) into its
// FieldErrors, in order. It returns nil when err holds none.
func FieldErrors(err error) []*FieldError {
	var out []*FieldError
	var walk func(error)
	walk = func(err error) {
		if fe, ok := err.(*FieldError); ok {
			out = append(out, fe)
			return
		}
		switch u := err.(type) {
		case interface{ Unwrap() []error }:
			for _, e := range u.Unwrap() {
				walk(e)
			}
		case interface{ Unwrap() error }:
			walk(u.Unwrap())
		}
	}
	if err != nil {
		walk(err)
	}
	return out
}

// joinFieldErrors returns nil for no errors, the error itself for one, and
// errors.Join otherwise, so a single problem does not look like a list.
func joinFieldErrors(errs []*FieldError) error {
	switch len(errs) {
	case 0:
		return nil
	case 1:
		return errs[0]
	}
	all := make([]error, len(errs))
	for i, e := range errs {
		all[i] = e
	}
	return errors.Join(all...)
}
