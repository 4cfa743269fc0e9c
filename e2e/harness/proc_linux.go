package harness

import "syscall"

// ChildProcAttr makes a child process die with its parent, so a killed
// test or demo never leaves an Envoy behind.
func ChildProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
