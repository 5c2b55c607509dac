package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/entryhq/entry/internal/testtool"
)

// procState is one process of /proc: its parent and its state letter.
type procState struct {
	pid, ppid int
	state     byte
	comm      string
}

// descendants lists every process below pid (seen from the test).
func descendants(pid int) []procState {
	all := map[int]procState{}
	paths, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		s := string(data)
		open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
		if open < 1 || end < open {
			continue
		}
		f := strings.Fields(s[end+1:])
		if len(f) < 2 {
			continue
		}
		id, _ := strconv.Atoi(strings.TrimSpace(s[:open]))
		ppid, _ := strconv.Atoi(f[1])
		all[id] = procState{pid: id, ppid: ppid, state: f[0][0], comm: s[open+1 : end]}
	}
	var out []procState
	var walk func(int)
	walk = func(parent int) {
		for _, p := range all {
			if p.ppid == parent {
				out = append(out, p)
				walk(p.pid)
			}
		}
	}
	walk(pid)
	return out
}

// waitState waits until process pid is in state (T: stopped) or fails.
func waitState(t *testing.T, pid int, state byte, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		data, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if s := string(data); strings.LastIndexByte(s, ')') > 0 {
			if f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:]); len(f) > 0 && f[0][0] == state {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("process %d not in state %c within %s: %q", pid, state, d, data)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

var startedPid = regexp.MustCompile(`entry: (\S+): started \(pid (\d+)\)`)

// pidOf returns the pid entry reported for process name, as seen from the
// test: entry's pids are the namespace's, so it is found among entry's
// children by its command line instead.
func pidOf(t *testing.T, r *runningEntry, marker string) int {
	t.Helper()
	deadline := time.Now().Add(testtool.Patience)
	for time.Now().Before(deadline) {
		for _, p := range descendants(r.pid) {
			if p.ppid != r.pid {
				continue
			}
			cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", p.pid))
			if strings.Contains(string(cmdline), marker) {
				return p.pid
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no child of entry runs %q", marker)
	return 0
}

// TSTP sent to entry (docker kill -s TSTP, to quiet sidekiq) reaches only
// the process that asks for it: a running cron job and a web server go on,
// and the role then stops cleanly, without SIGKILL.
func TestTSTPReachesOnlyProcessesThatAskForIt(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"crontab": "@every 1s echo cron start; sleep 0.3; echo cron end\n",
		"entry.yml": `roles:
  job:
    sidekiq: {command: "trap 'echo quiet' TSTP; trap 'echo bye; exit 0' TERM; echo sidekiq up; while :; do (trap '' TSTP; exec sleep 0.05); done", signals: {TSTP: TSTP}, stop_timeout: 20s}
    web: {command: "trap 'exit 0' TERM; echo web up; while :; do sleep 0.05; done", stop_timeout: 20s}
    cron: {crontab: crontab, stop_timeout: 20s}
`})
	r := startEntry(t, dir, nil, true, "role=job")
	r.waitFor("sidekiq | sidekiq up", testtool.Patience)
	r.waitFor("web | web up", testtool.Patience)
	r.waitFor("cron start", testtool.Patience)
	r.signal(syscall.SIGTSTP)
	r.waitFor("sidekiq | quiet", testtool.Patience)
	// Two more whole cron runs: the scheduler and its jobs were not frozen.
	before := strings.Count(r.stdout.String(), "cron end")
	deadline := time.Now().Add(20 * time.Second)
	for strings.Count(r.stdout.String(), "cron end") < before+2 {
		if time.Now().After(deadline) {
			t.Fatalf("cron stopped running after TSTP\nstdout:\n%s\nstderr:\n%s", r.stdout.String(), r.stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, p := range descendants(r.pid) {
		if p.state == 'T' {
			t.Errorf("process %d (%s) is stopped (state T) after TSTP", p.pid, p.comm)
		}
	}
	r.signal(syscall.SIGTERM)
	if code := r.wait(30 * time.Second); code != 0 {
		t.Fatalf("exit code %d, want 0\nstdout:\n%s\nstderr:\n%s", code, r.stdout.String(), r.stderr.String())
	}
	if strings.Contains(r.stderr.String(), "SIGKILL") {
		t.Errorf("a process needed SIGKILL:\n%s", r.stderr.String())
	}
}

// A process suspended by hand (kill -STOP) still stops cleanly: entry sends
// CONT after the stop signal. signals: {HUP: none} keeps HUP from a process.
func TestSuspendedProcessStopsCleanlyAndNoneDropsASignal(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"entry.yml": `roles:
  web:
    app: {command: "trap 'echo app got HUP' HUP; trap 'echo app got TERM; exit 0' TERM; echo app up; while :; do sleep 0.05; done", stop_timeout: 20s}
    deaf: {command: "trap 'echo deaf got HUP' HUP; trap 'echo deaf got TERM; exit 0' TERM; echo deaf up; while :; do sleep 0.05; done", signals: {HUP: none}, stop_timeout: 20s}
`})
	r := startEntry(t, dir, nil, true, "role=web")
	r.waitFor("app | app up", testtool.Patience)
	r.waitFor("deaf | deaf up", testtool.Patience)
	r.signal(syscall.SIGHUP)
	r.waitFor("app | app got HUP", testtool.Patience)
	app := pidOf(t, r, "echo app up")
	if err := syscall.Kill(-app, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	waitState(t, app, 'T', testtool.Patience)
	r.signal(syscall.SIGTERM)
	code := r.wait(30 * time.Second)
	out := r.stdout.String()
	if code != 0 {
		t.Fatalf("exit code %d, want 0 (the suspended process handles TERM once continued)\nstdout:\n%s\nstderr:\n%s", code, out, r.stderr.String())
	}
	for _, s := range []string{"app | app got TERM", "deaf | deaf got TERM", "app | app got HUP"} {
		if !strings.Contains(out, s) {
			t.Errorf("missing %q in stdout:\n%s", s, out)
		}
	}
	if strings.Contains(out, "deaf got HUP") {
		t.Errorf("signals: {HUP: none} still forwarded HUP:\n%s", out)
	}
}

// entry config check warns when sidekiq's own shutdown timeout is not below
// stop_timeout, and is quiet when it is.
func TestConfigCheckWarnsAboutSidekiqTimeout(t *testing.T) {
	cases := []struct {
		proc, want string
	}{
		{"sidekiq: bundle exec sidekiq", "sidekiq's default shutdown timeout (25s) is not below stop_timeout 25s"},
		{"sidekiq: {command: bundle exec sidekiq -t 30, stop_timeout: 30s}", "sidekiq -t 30 (30s) is not below stop_timeout 30s"},
		{"sidekiq: [bundle, exec, sidekiq, -C, sidekiq.yml]", ":timeout: 25 in sidekiq.yml (25s) is not below stop_timeout 25s"},
		{"sidekiq: bundle exec sidekiq -t 20", ""},
		{"sidekiq: {command: bundle exec sidekiq, stop_timeout: 40s}", ""},
		{"sidekiq: bundle exec sidekiq -C quick.yml", ""},
		{"web: bundle exec puma", ""},
	}
	// config check also checks that each process's program exists: the
	// image has Ruby's bundle.
	bin := t.TempDir()
	writeFiles(t, bin, map[string]string{"bundle": "#!/bin/sh\n"})
	if err := os.Chmod(filepath.Join(bin, "bundle"), 0o755); err != nil {
		t.Fatal(err)
	}
	path := []string{"PATH=" + bin + ":" + os.Getenv("PATH")}
	for _, c := range cases {
		dir := t.TempDir()
		writeFiles(t, dir, map[string]string{
			"entry.yml":   "roles:\n  job:\n    " + c.proc + "\n",
			"sidekiq.yml": ":concurrency: 5\n:timeout: 25\n",
			"quick.yml":   ":timeout: 8\n",
		})
		r := runEntry(t, dir, path, "config", "check")
		if r.code != 0 {
			t.Errorf("%s: exit %d\n%s", c.proc, r.code, r.stderr)
			continue
		}
		if c.want == "" {
			if strings.Contains(r.stderr, "warning") {
				t.Errorf("%s: unexpected warning:\n%s", c.proc, r.stderr)
			}
			continue
		}
		if !strings.Contains(r.stderr, "entry: warning: entry.yml:3: roles.job.") || !strings.Contains(r.stderr, c.want) {
			t.Errorf("%s: stderr:\n%s\nwant %q", c.proc, r.stderr, c.want)
		}
	}
}
