package harness

import "syscall"

// sysProcAttr makes the kernel kill Envoy when the test process dies, so a
// test binary killed by a timeout or a signal leaves no Envoy behind.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
