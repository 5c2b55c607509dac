package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/entryhq/entry/internal/testtool"
)

// A runningEntry is the entry binary started in the background, optionally
// as PID 1 of a new PID namespace.
type runningEntry struct {
	t      *testing.T
	cmd    *exec.Cmd
	stdout testtool.SyncBuffer
	stderr testtool.SyncBuffer
	pid    int // entry's own pid (inside unshare, the forked child)
}

// startEntry starts entry in dir, contained so that nothing it starts
// outlives the test (testtool.StartContained); asPID1 runs it as PID 1 of
// a new PID namespace.
func startEntry(t *testing.T, dir string, env []string, asPID1 bool, args ...string) *runningEntry {
	t.Helper()
	r := &runningEntry{t: t}
	r.cmd = exec.Command(entryBin, args...)
	r.cmd.Dir = dir
	r.cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}, env...)
	r.cmd.Stdout, r.cmd.Stderr = &r.stdout, &r.stderr
	r.pid = testtool.StartContained(t, r.cmd, asPID1)
	return r
}

// waitFor polls entry's stdout and stderr for s, for at most d.
func (r *runningEntry) waitFor(s string, d time.Duration) {
	r.t.Helper()
	deadline := time.Now().Add(d)
	for !strings.Contains(r.stdout.String()+r.stderr.String(), s) {
		if time.Now().After(deadline) {
			r.t.Fatalf("no %q within %s\nstdout:\n%s\nstderr:\n%s", s, d, r.stdout.String(), r.stderr.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (r *runningEntry) signal(sig syscall.Signal) {
	r.t.Helper()
	if err := syscall.Kill(r.pid, sig); err != nil {
		r.t.Fatal(err)
	}
}

// wait waits at most d for entry to exit and returns its exit code.
func (r *runningEntry) wait(d time.Duration) int {
	r.t.Helper()
	testtool.WaitCmd(r.t, r.cmd, d, func() string {
		return "stdout:\n" + r.stdout.String() + "\nstderr:\n" + r.stderr.String()
	})
	return r.cmd.ProcessState.ExitCode()
}

func TestRoleCommandNotFound(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"entry.yml": "roles:\n  web:\n    app: [no-such-command-x, --port, \"3000\"]\n"})
	r := runEntry(t, dir, nil, "role=web")
	if r.code != 127 {
		t.Fatalf("exit code %d, want 127\n%s", r.code, r.stderr)
	}
	if !strings.Contains(r.stderr, "entry: app: cannot start: no-such-command-x: command not found in PATH=") {
		t.Fatalf("the message does not name the process and command:\n%s", r.stderr)
	}
}

func TestRoleBadSignalNames(t *testing.T) {
	for yml, want := range map[string]string{
		"roles:\n  web:\n    app: {command: x, stop_signal: TERMINATE}\n": `entry.yml:3: roles.web.app: stop_signal: unknown signal "TERMINATE"`,
		"roles:\n  web:\n    app: {command: x, signals: {HUP: USR3}}\n":   `entry.yml:3: roles.web.app: signals: unknown signal "USR3"`,
		"roles:\n  web:\n    app: {command: x, restart: sometimes}\n":     `restart: "sometimes": want always, on-failure or never`,
	} {
		dir := t.TempDir()
		writeFiles(t, dir, map[string]string{"entry.yml": yml})
		r := runEntry(t, dir, nil, "role=web")
		if r.code != 2 || !strings.Contains(r.stderr, want) {
			t.Errorf("%s: exit code %d, stderr:\n%s\nwant %q", yml, r.code, r.stderr, want)
		}
	}
}

func TestRoleCrashLoopBacksOff(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"entry.yml": "roles:\n  web:\n    app: {command: \"echo boom; exit 1\", restart: always}\n"})
	r := startEntry(t, dir, nil, false, "role=web")
	r.waitFor("restarting in 2s", testtool.Patience)
	r.signal(syscall.SIGTERM)
	if code := r.wait(testtool.Patience); code != 0 {
		t.Fatalf("exit code %d (a crash-looping process in backoff is not running when the stop begins)\n%s", code, r.stderr.String())
	}
	errOut := r.stderr.String()
	// However late the TERM came, the delays double from 1s, and each
	// start but the first followed one of them.
	delays := regexp.MustCompile(`entry: app: exited with 1; restarting in (\w+) \(restart: always\)`).FindAllStringSubmatch(errOut, -1)
	want := []string{"1s", "2s", "4s", "8s", "16s", "30s"}
	if len(delays) < 2 {
		t.Fatalf("%d backoff events, want 2 or more:\n%s", len(delays), errOut)
	}
	for i, d := range delays {
		if d[1] != want[min(i, len(want)-1)] {
			t.Fatalf("restart %d after %s, want %s:\n%s", i+1, d[1], want[min(i, len(want)-1)], errOut)
		}
	}
	if n := strings.Count(errOut, "entry: app: started"); n != len(delays) && n != len(delays)+1 {
		t.Fatalf("started %d times after %d backoff delays\n%s", n, len(delays), errOut)
	}
	// A busy loop would burn seconds of CPU; entry used next to none.
	cpu := r.cmd.ProcessState.UserTime() + r.cmd.ProcessState.SystemTime()
	if cpu > 500*time.Millisecond {
		t.Errorf("entry used %s of CPU during the crash loop", cpu)
	}
}

func TestRoleAsPID1(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"entry.yml": `roles:
  web:
    app: "trap 'echo app stopping; exit 0' TERM; echo \"app up as $ENTRY_ROLE/$ENTRY_PROCESS\"; while :; do sleep 0.05; done"
    orphans: {command: "(sleep 100 &); (setsid sh -c 'touch detached; exec sleep 100' &); until [ -e detached ]; do sleep 0.01; done; echo forked; sleep 100", essential: false, stop_timeout: 300ms}
`})
	// "forked" is printed only once the second sleeper has left orphans'
	// process group (setsid runs before sh touches the file): TERM sent to
	// that group earlier would kill it, and no leftover would be left to
	// report.
	r := startEntry(t, dir, nil, true, "--log-format", "prefix", "role=web")
	r.waitFor("app | app up as web/app", testtool.Patience)
	r.waitFor("orphans | forked", testtool.Patience)
	r.signal(syscall.SIGTERM)
	code := r.wait(testtool.Patience)
	errOut := r.stderr.String()
	if code != 0 {
		t.Fatalf("exit code %d\nstdout:\n%s\nstderr:\n%s", code, r.stdout.String(), errOut)
	}
	for _, s := range []string{"entry: received SIGTERM: stopping role web (up to 25s)", "entry: app: exited with 0", "leftover process(es)", "entry: role web stopped, exit code 0"} {
		if !strings.Contains(errOut, s) {
			t.Errorf("missing %q in stderr:\n%s", s, errOut)
		}
	}
	if !strings.Contains(r.stdout.String(), "app | app stopping") {
		t.Errorf("stdout:\n%s", r.stdout.String())
	}
}

func TestSuperviseCommandAsPID1(t *testing.T) {
	// The tini model: output untouched, the received signal forwarded as
	// is, the command's own exit code passed out, orphans reaped.
	dir := t.TempDir()
	r := startEntry(t, dir, nil, true, "--", "sh", "-c", `trap 'echo got INT; exit 7' INT; (sleep 0.01 &); echo ready; while :; do sleep 0.05; done`)
	r.waitFor("ready", testtool.Patience)
	r.signal(syscall.SIGINT)
	if code := r.wait(testtool.Patience); code != 7 {
		t.Fatalf("exit code %d, want 7\nstdout:\n%s\nstderr:\n%s", code, r.stdout.String(), r.stderr.String())
	}
	if got := r.stdout.String(); got != "ready\ngot INT\n" {
		t.Errorf("stdout %q, want the command's own output", got)
	}
	if e := r.stderr.String(); e != "" {
		t.Errorf("the tini model printed events when all was well:\n%s", e)
	}

	r = startEntry(t, dir, nil, true, "--", "sh", "-c", "kill -USR2 $$")
	if code := r.wait(testtool.Patience); code != 128+int(syscall.SIGUSR2) {
		t.Fatalf("exit code %d, want %d", code, 128+int(syscall.SIGUSR2))
	}
}

func TestCodepFirstExitStopsTheRest(t *testing.T) {
	// The other tasks sleep far beyond runBinary's patience: codep ends in
	// time only if it stops them.
	dir := entryKitDir(t)
	r := runBinary(t, filepath.Join(dir, "codep"), dir, nil, "sleep 0.3; echo first done; exit 4", "sleep 1000", "sleep 1000")
	out := r.stdout + r.stderr
	if r.code != 4 {
		t.Fatalf("codep: exit code %d, want 4\n%s", r.code, out)
	}
	for _, s := range []string{"sleep | first done", "entry: sleep.2: stopped (SIGTERM)\n", "entry: sleep.3: stopped (SIGTERM)\n"} {
		if !strings.Contains(out, s) {
			t.Errorf("missing %q in:\n%s", s, out)
		}
	}
}

func TestRoleJSONLogs(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"entry.yml": "log_format: json\nroles:\n  job:\n    w: \"echo 'say \\\"hi\\\"'\"\n"})
	r := runEntry(t, dir, nil, "role=job")
	if r.code != 0 {
		t.Fatalf("exit code %d\n%s", r.code, r.stderr)
	}
	if !strings.Contains(r.stdout, `"role":"job","process":"w","stream":"stdout","line":"say \"hi\""}`) {
		t.Fatalf("stdout:\n%s", r.stdout)
	}
	if !strings.Contains(r.stderr, `"process":"w","stream":"entry","event":"exited","pid":`) || !strings.Contains(r.stderr, `"exit_code":0,`) ||
		!strings.Contains(r.stderr, `"line":"exited with 0"}`) {
		t.Fatalf("stderr:\n%s", r.stderr)
	}
}
