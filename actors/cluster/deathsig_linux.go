package cluster

import (
	"os/exec"
	"syscall"
)

// dieWithParent has the kernel kill the child if this process dies, so that
// a launcher that is itself killed leaves no node behind.
func dieWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
