package augment

import (
	"fmt"
	"strings"
)

// constError lets the sentinel be a constant, so the package keeps no
// mutable state while callers still compare with errors.Is.
type constError string

func (e constError) Error() string { return string(e) }

// ErrSpec is wrapped by every error about an invalid augmentation spec or
// configuration.
const ErrSpec = constError("invalid augmentation spec")

// Error reports what is wrong with a spec string or a configuration list,
// naming the step, transform and parameter where known. It wraps ErrSpec.
type Error struct {
	Spec      string // the spec string being parsed; empty for configurations
	Offset    int    // byte offset into Spec of the problem, or -1
	Step      int    // 1-based position of the transform in the list, or 0
	Transform string // the transform's name, when known
	Param     string // the parameter's name, when the problem is one parameter
	Reason    string
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("augment: ")
	if e.Spec != "" || e.Offset >= 0 {
		fmt.Fprintf(&b, "spec %q", e.Spec)
		if e.Offset >= 0 {
			fmt.Fprintf(&b, " at byte %d", e.Offset)
		}
		b.WriteString(": ")
	}
	if e.Step > 0 {
		fmt.Fprintf(&b, "step %d: ", e.Step)
	}
	if e.Transform != "" {
		fmt.Fprintf(&b, "transform %q: ", e.Transform)
	}
	if e.Param != "" {
		fmt.Fprintf(&b, "parameter %q: ", e.Param)
	}
	b.WriteString(e.Reason)
	return b.String()
}

// Unwrap lets errors.Is(err, ErrSpec) hold.
func (e *Error) Unwrap() error { return ErrSpec }
