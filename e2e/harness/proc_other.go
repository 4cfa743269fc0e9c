//go:build !linux

package harness

import "syscall"

// sysProcAttr has no parent-death signal outside Linux; Cleanup still stops
// Envoy when the test ends normally.
func sysProcAttr() *syscall.SysProcAttr { return nil }
