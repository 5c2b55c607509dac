package testtool

import (
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Patience is how long a test waits for an event it expects (a process
// ready, a trap installed, a cron run, an exit): generous, because the
// suite must pass on a busy 2-core machine, yet far below the package's
// test timeout, so that a hang fails the one test naming what it waited
// for. Tests never wait this long when all is well.
const Patience = 30 * time.Second

// Eventually polls cond until it holds, for at most Patience, and fails the
// test naming what it waited for (and detail(), when given) when it does
// not.
func Eventually(t testing.TB, what string, cond func() bool, detail ...func() string) {
	t.Helper()
	if !Poll(Patience, cond) {
		msg := ""
		for _, d := range detail {
			msg += "\n" + d()
		}
		t.Fatalf("%s: not within %s%s", what, Patience, msg)
	}
}

// Poll polls cond until it holds or d passes, and reports whether it held.
// It is for goroutines, which must not call t.Fatal.
func Poll(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
	return true
}

// WaitCmd waits at most d for cmd, a started command in a process group of
// its own (as StartContained starts it), and returns cmd.Wait's error. When
// d passes it kills the whole group and fails the test naming the command,
// with detail() (its output, say) when given.
func WaitCmd(t testing.TB, cmd *exec.Cmd, d time.Duration, detail func() string) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(d):
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
		msg := ""
		if detail != nil {
			msg = "\n" + detail()
		}
		t.Fatalf("%s still running after %s, killed%s", strings.Join(cmd.Args, " "), d, msg)
		return nil
	}
}
