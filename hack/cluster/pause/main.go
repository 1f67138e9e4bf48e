// Command pause is the sandbox ("pause") container of the local cluster
// (hack/cluster): it holds a pod's namespaces, reaps orphaned children and
// exits 0 on SIGTERM or SIGINT, as registry.k8s.io/pause does. Built static
// (CGO_ENABLED=0) into a one-file image by hack/cluster/images.sh.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	sig := make(chan os.Signal, 8)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT, syscall.SIGCHLD)
	for s := range sig {
		if s != syscall.SIGCHLD {
			os.Exit(0)
		}
		reap()
	}
}

// reap collects every exited child without blocking.
func reap() {
	for {
		var ws syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
		if pid <= 0 || err != nil {
			return
		}
	}
}
