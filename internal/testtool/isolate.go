package testtool

import (
	"os"
	"os/exec"
	"os/signal"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var catchOnce sync.Once

// catchHangupAndInterrupt makes the isolated test binary catch SIGHUP and
// SIGINT, as entry's main does (signal.Notify), so that a supervisor under
// test starts its processes with them at their default action. A suite
// started with them ignored (under nohup, or as `scripts/test &` from a
// script) would otherwise pass SIG_IGN down through exec, and a process's
// `trap ... HUP` would never run. Signals sent to the test binary itself are
// dropped.
func catchHangupAndInterrupt() {
	catchOnce.Do(func() {
		signal.Notify(make(chan os.Signal, 1), syscall.SIGHUP, syscall.SIGINT)
	})
}

// isolatedEnv names, in a test binary re-run by Isolated, the one test that
// binary runs.
const isolatedEnv = "ENTRY_TEST_ISOLATED"

// IsolatedTimeout bounds one isolated test; the child test binary gets a
// -test.timeout a little shorter, so that it reports which test hung and
// where before the parent gives up on it.
const IsolatedTimeout = 4 * time.Minute

// Isolated runs the calling test alone in a child test binary, in a new PID
// namespace when the tests run as root (as scripts/test does), and reports
// whether the test has already run there.
//
//	func TestX(t *testing.T) {
//		if testtool.Isolated(t) {
//			return
//		}
//		... // runs in the child only
//	}
//
// Tests that call wait4(-1) (a supervisor's reaper) must be isolated: a
// reaper in the shared test process could take the exit status of another
// test's child, and one left running by a failed test would go on doing so.
// The namespace also guarantees that nothing the test started outlives it:
// when the child binary ends, fails or is killed at the deadline, the kernel
// kills every process left in its namespace. Without root, the child runs
// in its own process group, which is killed at the end.
//
// In the parent, the child's output is logged and its failure fails the
// test.
func Isolated(t *testing.T) bool {
	t.Helper()
	if os.Getenv(isolatedEnv) == t.Name() {
		catchHangupAndInterrupt()
		return false
	}
	// -test.v always, so that the parent can tell a skip from a pass.
	args := []string{
		"-test.run=" + runPattern(t.Name()),
		"-test.count=1",
		"-test.timeout=" + (IsolatedTimeout - 15*time.Second).String(),
		"-test.v",
	}
	var cmd *exec.Cmd
	namespaced := os.Geteuid() == 0 && hasUnshare()
	if namespaced {
		// sh stays PID 1 of the namespace (it does not exec the binary,
		// which runs as an ordinary process, as in a developer's shell);
		// --kill-child ties the namespace's life to unshare's.
		cmd = exec.Command("unshare", append([]string{"--pid", "--fork", "--kill-child", "--mount-proc",
			"/bin/sh", "-c", `"$@"; exit $?`, "sh", os.Args[0]}, args...)...)
	} else {
		cmd = exec.Command(os.Args[0], args...)
	}
	cmd.Env = append(os.Environ(), isolatedEnv+"="+t.Name())
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	var out SyncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatalf("isolating %s: %v", t.Name(), err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	killGroup := func() { syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	t.Cleanup(killGroup)
	var err error
	select {
	case err = <-done:
	case <-time.After(IsolatedTimeout):
		killGroup()
		<-done
		t.Fatalf("%s: still running after %s in its child test binary, killed; output:\n%s", t.Name(), IsolatedTimeout, out.String())
	}
	killGroup() // whatever the child left in its group (without a namespace)
	reportChild(t, "in its child test binary", err, out.String())
	return true
}

// reportChild passes on the outcome of the calling test re-run, where
// says how, in a child test binary run with -test.v: a failure, no test
// run, or a skip.
func reportChild(t *testing.T, where string, err error, text string) {
	t.Helper()
	switch {
	case err != nil:
		t.Fatalf("%s failed %s (%v):\n%s", t.Name(), where, err, text)
	case strings.Contains(text, "testing: warning: no tests to run"):
		t.Fatalf("%s: no test ran %s (pattern %s):\n%s", t.Name(), where, runPattern(t.Name()), text)
	case strings.Contains(text, "--- SKIP: "+t.Name()+" "):
		t.Skipf("skipped %s:\n%s", where, text)
	case testing.Verbose():
		t.Logf("%s:\n%s", where, text)
	}
}

func runPattern(name string) string {
	parts := strings.Split(name, "/")
	for i, p := range parts {
		parts[i] = "^" + regexp.QuoteMeta(p) + "$"
	}
	return strings.Join(parts, "/")
}

func hasUnshare() bool {
	_, err := exec.LookPath("unshare")
	return err == nil
}
