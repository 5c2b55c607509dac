package testtool

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// StartContained starts cmd, a command not yet started, so that nothing it
// starts can outlive the test: as root, in a new PID namespace that the
// test's cleanup tears down (the kernel kills every process left in it);
// otherwise in a process group of its own, which the cleanup kills. The
// cleanup also waits for cmd, so a test that fails half-way leaves nothing
// behind.
//
// With asPID1, the program is PID 1 of the namespace (this needs root: the
// test fails or skips without it). Without, a /bin/sh is PID 1 and the
// program runs as its child, an ordinary process as under a developer's
// shell; its exit code reaches cmd through sh (128+N for death by signal N).
//
// It returns the pid of the program itself, as seen from the test, to send
// signals to.
func StartContained(t testing.TB, cmd *exec.Cmd, asPID1 bool) int {
	t.Helper()
	namespaced := asPID1 || (os.Geteuid() == 0 && hasUnshare())
	depth := 0
	if namespaced {
		if asPID1 {
			RequireRoot(t)
		}
		unshare := Require(t, "unshare")
		ns := []string{"--pid", "--fork", "--kill-child", "--mount-proc"}
		depth = 1
		if !asPID1 {
			ns = append(ns, "/bin/sh", "-c", `"$@"; exit $?`, "sh")
			depth = 2
		}
		cmd.Args = append(append([]string{unshare}, ns...), cmd.Args...)
		cmd.Path = unshare
		cmd.Err = nil
	}
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = true
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", strings.Join(cmd.Args, " "), err)
	}
	pgid := cmd.Process.Pid
	t.Cleanup(func() {
		syscall.Kill(-pgid, syscall.SIGKILL)
		if cmd.ProcessState == nil {
			cmd.Wait()
		}
	})
	pid := cmd.Process.Pid
	for range depth {
		child, ok := firstChild(t, pid, cmd.Args)
		if !ok {
			// The program came and went before it was seen (a --help,
			// a quick failure): there is nothing left to signal. cmd's
			// own process is not reaped before the cleanup, so its pid
			// cannot have been reused.
			return cmd.Process.Pid
		}
		pid = child
	}
	return pid
}

// firstChild waits (generously: the machine may be busy) for pid's first
// child and returns it; ok is false when pid ended first.
func firstChild(t testing.TB, pid int, args []string) (child int, ok bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		data, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid))
		if f := strings.Fields(string(data)); len(f) > 0 {
			child, _ := strconv.Atoi(f[0])
			return child, true
		}
		if ended(pid) {
			return 0, false
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: process %d started no child within 30s", strings.Join(args, " "), pid)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// ended tells whether pid has exited: it is gone, or a zombie.
func ended(pid int) bool {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	// The state follows the command name, which is in parentheses and may
	// itself hold ") ".
	i := strings.LastIndexByte(string(data), ')')
	return i < 0 || i+2 >= len(data) || data[i+2] == 'Z' || data[i+2] == 'X'
}
