package data

// constError lets the sentinel be a constant, so the package keeps no mutable
// state while callers still compare with errors.Is.
type constError string

func (e constError) Error() string { return string(e) }

// ErrFormat is wrapped by every error that reports malformed input, as
// opposed to an I/O failure.
const ErrFormat = constError("malformed data file")

// FormatError reports a data file whose content is wrong. It wraps ErrFormat
// and, when there is one, the underlying cause (for example a gzip checksum
// error).
type FormatError struct {
	Format string // the reader that rejected the file: "idx" or "mnist"
	File   string // the file as the caller named it
	Reason string // what is wrong, in one line
	Err    error  // underlying cause; may be nil
}

func (e *FormatError) Error() string {
	s := e.Format + ": " + e.File + ": " + e.Reason
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap exposes both the sentinel and the cause to errors.Is and errors.As.
func (e *FormatError) Unwrap() []error {
	if e.Err == nil {
		return []error{ErrFormat}
	}
	return []error{ErrFormat, e.Err}
}
