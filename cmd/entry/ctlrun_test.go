package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/entryhq/entry/internal/testtool"
)

// entry ctl run runs a cron job now as cron would (the crontab's
// environment, the job's lock, output labelled cron:JOB) and exits with
// its code; entry ctl status lists the jobs with their next due time and
// last outcome (issue 23 §3). entry is PID 1.
func TestCtlRunCronJob(t *testing.T) {
	dir := t.TempDir()
	sock, env := ctlEnv(t)
	writeFiles(t, dir, map[string]string{
		"entry.yml": "roles:\n  job:\n    app: {command: \"trap 'exit 0' TERM; echo app up; while :; do sleep 0.05; done\"}\n    cron: {crontab: crontab}\n",
		"crontab": `GREETING=from-crontab
# slow
@every 1h  echo slow $GREETING; while ! test -f slow.done; do sleep 0.05; done; echo slow done
# failing
@every 1h  echo failing; exit 3
`,
	})
	r := startEntry(t, dir, env, true, "role=job")
	r.waitFor("app | app up", testtool.Patience)
	waitSocket(t, r, sock)
	ctl := func(want int, args ...string) (string, string) {
		t.Helper()
		res := runEntry(t, dir, env, args...)
		if res.code != want {
			t.Fatalf("entry %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s\nentry's stderr:\n%s", strings.Join(args, " "), res.code, want, res.stdout, res.stderr, r.stderr.String())
		}
		return res.stdout, res.stderr
	}
	out, _ := ctl(0, "ctl", "status")
	if !regexp.MustCompile(`(?m)^JOB +SCHEDULE +NEXT +LAST\ncron:slow +@every 1h +\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \w+ +-\ncron:failing +@every 1h +\S+ \S+ \S+ +-$`).MatchString(out) {
		t.Fatalf("status:\n%s", out)
	}

	_, errOut := ctl(3, "ctl", "run", "failing")
	if !regexp.MustCompile(`^entry: ctl run: cron:failing: exited with 3 after [0-9.]+m?s \(its output is in the container's log, labelled cron:failing\)\n$`).MatchString(errOut) {
		t.Errorf("run failing: %q", errOut)
	}
	r.waitFor("cron:failing | failing", testtool.Patience)
	if !regexp.MustCompile(`entry: cron: failing: started pid \d+ \(due [^;]+; entry ctl run\)`).MatchString(r.stderr.String()) {
		t.Errorf("no start line for the run by hand:\n%s", r.stderr.String())
	}

	out, _ = ctl(0, "ctl", "run", "--no-wait", "cron:slow")
	if !regexp.MustCompile(`^cron:slow: started \(pid \d+\); its output goes to the container's log, labelled cron:slow\n$`).MatchString(out) {
		t.Errorf("run --no-wait: %q", out)
	}
	r.waitFor("cron:slow | slow from-crontab", testtool.Patience)
	_, errOut = ctl(1, "ctl", "run", "slow")
	if !strings.HasPrefix(errOut, "entry: ctl run: cron:slow: slow is already running: a run (pid ") || !strings.HasSuffix(errOut, "; wait for it to end, or give --overlap to run it beside (the job's \"# entry: overlap=allow\" allows it always)\n") {
		t.Errorf("run while running: %q", errOut)
	}
	out, _ = ctl(0, "ctl", "status")
	if !regexp.MustCompile(`(?m)^cron:slow +@every 1h +\S+ \S+ \S+ +running \(pid \d+ since [^)]+\)\ncron:failing +@every 1h +\S+ \S+ \S+ +failed at \S+ \S+ \S+ \(exited with 3, took [0-9.]+m?s, entry ctl run\)$`).MatchString(out) {
		t.Errorf("status while slow runs:\n%s", out)
	}
	jsonOut, _ := ctl(0, "ctl", "status", "--json")
	var doc struct {
		Cron []struct {
			Process, Job, Schedule string
			Next                   *time.Time
			Running                []struct{ Pid int }
			Last                   *struct {
				Outcome  string
				ExitCode *int `json:"exit_code"`
				ByHand   bool `json:"by_hand"`
			}
		}
	}
	if err := json.Unmarshal([]byte(jsonOut), &doc); err != nil || len(doc.Cron) != 2 {
		t.Fatalf("status --json: %v\n%s", err, jsonOut)
	}
	if c := doc.Cron[1]; c.Process != "cron" || c.Job != "failing" || c.Next == nil || c.Last == nil || c.Last.Outcome != "failed" || *c.Last.ExitCode != 3 || !c.Last.ByHand {
		t.Errorf("status --json, failing: %+v", c)
	}
	if c := doc.Cron[0]; len(c.Running) != 1 || c.Running[0].Pid <= 0 {
		t.Errorf("status --json, slow: %+v", c)
	}

	writeFiles(t, dir, map[string]string{"slow.done": ""})
	r.waitFor("cron:slow | slow done", testtool.Patience)
	testtool.Eventually(t, "slow's outcome", func() bool {
		out, _ := ctl(0, "ctl", "status")
		return regexp.MustCompile(`(?m)^cron:slow .* ok at .*\(exited with 0, took`).MatchString(out)
	})
	out, _ = ctl(0, "ctl", "run", "slow")
	if !regexp.MustCompile(`^cron:slow: exited with 0 after [0-9.]+m?s\n$`).MatchString(out) {
		t.Errorf("run slow: %q", out)
	}
	_, errOut = ctl(1, "ctl", "run", "nope")
	if errOut != "entry: ctl run: no cron job \"nope\" in role job (jobs: cron:slow, cron:failing)\n" {
		t.Errorf("unknown job: %q", errOut)
	}
	ctl(0, "ctl", "stop", "cron")
	_, errOut = ctl(1, "ctl", "run", "slow")
	if errOut != "entry: ctl run: cron is not running (stopped): entry ctl start cron first\n" {
		t.Errorf("run with cron stopped: %q", errOut)
	}
	r.signal(syscall.SIGTERM)
	if code := r.wait(30 * time.Second); code != 0 {
		t.Fatalf("exit code %d\nstderr:\n%s", code, r.stderr.String())
	}
}

// As PID 1, through the command line: restart --no-wait (ENTRY_CTL_NO_WAIT)
// answers while the process is starting, a signal to it is refused with
// what to do, status shows it not ready and why, and a restart once the
// check passes answers when ready (issue 23 §2).
func TestCtlRestartReadinessFromTheCommandLine(t *testing.T) {
	dir := t.TempDir()
	sock, env := ctlEnv(t)
	writeFiles(t, dir, map[string]string{
		"entry.yml":  "roles:\n  web:\n    puma: {command: \"trap 'exit 0' TERM; echo puma up; while :; do sleep 0.05; done\", ready: \"test -f ready-flag\", ready_timeout: 5m}\n",
		"ready-flag": "",
	})
	r := startEntry(t, dir, env, true, "role=web")
	r.waitFor("entry: puma: ready (test -f ready-flag)", testtool.Patience)
	waitSocket(t, r, sock)
	ctl := func(want int, extra []string, args ...string) (string, string) {
		t.Helper()
		res := runEntry(t, dir, append(extra, env...), args...)
		if res.code != want {
			t.Fatalf("entry %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s\nentry's stderr:\n%s", strings.Join(args, " "), res.code, want, res.stdout, res.stderr, r.stderr.String())
		}
		return res.stdout, res.stderr
	}
	if err := os.Remove(filepath.Join(dir, "ready-flag")); err != nil {
		t.Fatal(err)
	}
	out, _ := ctl(0, []string{"ENTRY_CTL_NO_WAIT=1"}, "ctl", "restart", "puma")
	if !regexp.MustCompile(`^puma: restarted \(pid \d+\) \(the last run exited with 0\)\n$`).MatchString(out) {
		t.Errorf("restart --no-wait: %q", out)
	}
	_, errOut := ctl(1, nil, "ctl", "signal", "puma", "USR2")
	if want := "entry: ctl signal: puma is starting (not ready yet); try again when entry ctl status shows it ready, or use entry ctl restart\n"; errOut != want {
		t.Errorf("signal while starting: %q\nwant %q", errOut, want)
	}
	testtool.Eventually(t, "status showing why puma is not ready", func() bool {
		out, _ := ctl(0, nil, "ctl", "status")
		return regexp.MustCompile(`(?m)^puma +starting +no +\d+ .*\npuma: not ready: ready command "test -f ready-flag" exited with 1$`).MatchString(out)
	})
	writeFiles(t, dir, map[string]string{"ready-flag": ""})
	out, _ = ctl(0, nil, "ctl", "restart", "puma")
	if !regexp.MustCompile(`^puma: restarted \(pid \d+\), ready after [0-9.]+m?s \(the last run exited with 0\)\n$`).MatchString(out) {
		t.Errorf("restart: %q", out)
	}
	out, _ = ctl(0, nil, "ctl", "status")
	if !regexp.MustCompile(`(?m)^puma +running +yes +\d+ `).MatchString(out) {
		t.Errorf("status once ready:\n%s", out)
	}
	r.signal(syscall.SIGTERM)
	if code := r.wait(30 * time.Second); code != 0 {
		t.Fatalf("exit code %d\nstderr:\n%s", code, r.stderr.String())
	}
}
