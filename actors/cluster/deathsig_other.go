//go:build !linux

package cluster

import "os/exec"

// dieWithParent does nothing where the kernel cannot tie a child's life to
// its parent's; children are still stopped when Launch returns.
func dieWithParent(*exec.Cmd) {}
