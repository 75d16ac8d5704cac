package core

import "errors"

// The errors a machine's Step returns wrap one of these, so that a shell can
// tell a harmless repeat from a broken peer with errors.Is. An event that
// returns an error leaves the machine exactly as it was.
var (
	// ErrConfig reports an invalid configuration given to a constructor.
	ErrConfig = errors.New("invalid configuration")
	// ErrUnknown reports an event naming a consumer or worker the machine
	// does not know.
	ErrUnknown = errors.New("unknown member")
	// ErrDuplicate reports an event the machine has already taken into
	// account; a shell on an at-least-once link may drop it silently.
	ErrDuplicate = errors.New("duplicate event")
	// ErrProtocol reports an event that breaks the protocol: a peer sent
	// what it had no right to send, or the shell stepped an event that is
	// not valid in the machine's current phase.
	ErrProtocol = errors.New("protocol violation")
)
