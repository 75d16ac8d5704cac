package messages

import "fmt"

// ProtoVersion names the revision of this package's message set. Bump it
// whenever a message type is added or removed or a field changes meaning:
// protoactor-go remote can crash a receiver that does not link a message
// type, so nodes must agree on the set before exchanging anything. Adding a
// field to an existing message is wire-compatible and needs no bump.
const ProtoVersion = "troupe.v1/4"

// NewHello returns the handshake message a node with the given role and
// build sends when it joins.
func NewHello(role, buildVersion string) *Hello {
	return &Hello{BuildVersion: buildVersion, ProtoVersion: ProtoVersion, Role: role}
}

// Compatible reports whether a peer that sent h speaks this build's message
// set; the error names both versions and the peer's role and build.
func (h *Hello) Compatible() error {
	if h == nil {
		return fmt.Errorf("messages: nil Hello")
	}
	if h.GetProtoVersion() != ProtoVersion {
		return fmt.Errorf("messages: peer %q (build %q) speaks proto version %q, this build speaks %q",
			h.GetRole(), h.GetBuildVersion(), h.GetProtoVersion(), ProtoVersion)
	}
	return nil
}
