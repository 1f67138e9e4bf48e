//go:build faults

package faults

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// proc is one service (or gateway) process that the harness can kill,
// terminate and start again with the same command line.
type proc struct {
	name, bin, url string // url: the process's own base URL
	readyPath      string // answers 200 once the process serves (/readyz)
	args, env      []string
	logPath        string
	cmd            *exec.Cmd
	exited         chan error
}

func (p *proc) start(t *testing.T) {
	t.Helper()
	logf, err := os.OpenFile(p.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatalf("log of %s: %v", p.name, err)
	}
	cmd := exec.Command(p.bin, p.args...)
	cmd.Env = append(os.Environ(), p.env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	// The processes die with the harness, whatever ends it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		_ = logf.Close()
		t.Fatalf("start %s: %v", p.name, err)
	}
	p.cmd, p.exited = cmd, make(chan error, 1)
	go func() { p.exited <- cmd.Wait(); _ = logf.Close() }()
}

// alive reports whether the process has not exited.
func (p *proc) alive() bool {
	if p.cmd == nil {
		return false
	}
	select {
	case err := <-p.exited:
		p.exited <- err
		return false
	default:
		return true
	}
}

// signal sends sig and waits (up to within) for the process to exit.
func (p *proc) signal(sig syscall.Signal, within time.Duration) error {
	if !p.alive() {
		return fmt.Errorf("%s is not running", p.name)
	}
	if err := p.cmd.Process.Signal(sig); err != nil {
		return fmt.Errorf("signal %s: %w", p.name, err)
	}
	select {
	case err := <-p.exited:
		p.exited <- err
		var ee *exec.ExitError
		if sig == syscall.SIGTERM && err != nil && !errors.As(err, &ee) {
			return fmt.Errorf("%s: %w", p.name, err)
		}
		if sig == syscall.SIGTERM && err != nil {
			return fmt.Errorf("%s exited after SIGTERM (see %s): %w", p.name, p.logPath, err)
		}
		return nil
	case <-time.After(within):
		return fmt.Errorf("%s still running %s after %v", p.name, within, sig)
	}
}

// waitReady polls readyPath until 200 (bounded by within).
func (p *proc) waitReady(ctx context.Context, within time.Duration) error {
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		if !p.alive() {
			return fmt.Errorf("%s exited (see %s)", p.name, p.logPath)
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, p.url+p.readyPath, nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	return fmt.Errorf("%s not ready after %s (see %s)", p.name, within, p.logPath)
}

// servers runs hack/servers.sh kill|revive NAME faults.
func servers(t *testing.T, root, verb, name string) {
	t.Helper()
	cmd := exec.Command("bash", filepath.Join(root, "hack", "servers.sh"), verb, name, "faults")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("servers.sh %s %s: %v\n%s", verb, name, err, out)
	}
}
