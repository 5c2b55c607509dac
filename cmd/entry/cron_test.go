package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/entryhq/entry/internal/testtool"
)

func TestCronCheck(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"config/crontab": `CRON_TZ=America/New_York
# backup: nightly dump
# entry: timeout=1h
30 2 * * * pg_dump app > /tmp/app.sql
@reboot echo hello
`})
	r := runEntry(t, dir, nil, "cron", "check", "--from", "2026-03-07T12:00:00-05:00", "--count", "3", "config/crontab")
	want := `config/crontab: 2 job(s), valid

backup (line 4): 30 2 * * * in America/New_York [timeout=1h0m0s]
  command: pg_dump app > /tmp/app.sql
  next:    2026-03-08 03:00:00 -0400 EDT  (2026-03-08 02:30:00 does not exist in America/New_York (the clock springs forward): run at the end of the gap)
           2026-03-09 02:30:00 -0400 EDT
           2026-03-10 02:30:00 -0400 EDT

line5 (line 5): @reboot
  command: echo hello
  runs once when entry starts
`
	if r.code != 0 || r.stdout != want {
		t.Fatalf("exit %d\nstdout:\n%s\nwant:\n%s\nstderr:\n%s", r.code, r.stdout, want, r.stderr)
	}
	// The default count is 5, and ENTRY_CRON_FROM sets --from.
	r = runEntry(t, dir, []string{"ENTRY_CRON_FROM=2026-01-01T00:00:00Z"}, "cron", "check", "config/crontab")
	if r.code != 0 || strings.Count(r.stdout, "2026-01-0") != 5 {
		t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	// At the cap, every run time is printed.
	r = runEntry(t, dir, nil, "cron", "check", "--from", "2026-01-01T00:00:00Z", "--count", "1000", "config/crontab")
	if r.code != 0 || strings.Count(r.stdout, " EDT")+strings.Count(r.stdout, " EST") != 1000 {
		t.Fatalf("--count 1000: exit %d, %d run times\n%s", r.code, strings.Count(r.stdout, "\n"), r.stderr)
	}
}

func TestCronCheckErrors(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"bad":    "# fine\n0 3 * * * ok\n61 * * * * echo\n",
		"short":  "* * *\n",
		"names":  "0 0 * * mon-fry echo\n",
		"zone":   "CRON_TZ=Mars/Olympus\n* * * * * echo\n",
		"months": "0 0 1 smarch * echo\n",
		"dow":    "0 3 * * 8 bundle exec rake x\n",
		"year":   "0 0 1 1 * 2030 echo happy\n",
		"option": "# entry: overlap=allow\n# entry: timeout=5\n0 3 * * * x\n",
	})
	tests := []struct {
		args []string
		env  []string
		want string
	}{
		{[]string{"check", "bad"}, nil, `entry: cron check: bad:3: minute field "61": 61 is out of range 0-59` + "\n"},
		{[]string{"check", "short"}, nil, "entry: cron check: short:1: 3 fields; a job line needs 5 time fields (minute hour day-of-month month day-of-week) and then a command\n"},
		{[]string{"check", "names"}, nil, `entry: cron check: names:1: day-of-week field "mon-fry": unknown day name "fry" (use 0-7 (0 and 7 are Sunday) or sun-sat)` + "\n"},
		{[]string{"check", "months"}, nil, `entry: cron check: months:1: month field "smarch": unknown month name "smarch" (use 1-12 or jan-dec)` + "\n"},
		{[]string{"check", "zone"}, nil, `entry: cron check: zone:1: CRON_TZ=Mars/Olympus: unknown time zone "Mars/Olympus" (use a tz database name such as Asia/Tokyo, Europe/London or UTC)` + "\n"},
		{[]string{"check", "names"}, []string{"TZ=Nowhere/Land"}, `entry: cron check: names: TZ=Nowhere/Land in the environment: unknown time zone "Nowhere/Land" (use a tz database name such as Asia/Tokyo, Europe/London or UTC)` + "\n"},
		{[]string{"check", "dow"}, nil, `entry: cron check: dow:1: day-of-week field "8": 8 is out of range 0-7` + "\n"},
		{[]string{"check", "year"}, nil, `entry: cron check: year:1: day-of-week field "2030": 2030 is out of range 0-7 (entry reads 6 time fields as second minute hour day-of-month month day-of-week; for a year after 5 fields, as supercronic allows, write 7 fields with a second first: 0 0 0 1 1 * 2030)` + "\n"},
		{[]string{"check", "option"}, nil, `entry: cron check: option:2: entry: timeout=5: want a positive duration such as 30s, 10m or 2h` + "\n"},
		{[]string{"check", "missing"}, nil, "entry: cron check: crontab: open missing: no such file or directory\n"},
		{[]string{"check"}, nil, "entry: cron check: want one crontab FILE, got 0 arguments (see 'entry cron --help')\n"},
		{[]string{"check", "--from", "tomorrow", "bad"}, nil, `entry: cron check: --from "tomorrow": not an RFC 3339 time (write it like 2026-03-08T00:00:00-05:00)` + "\n"},
		{[]string{"check", "--count", "1000000000", "bad"}, nil, "entry: cron check: --count 1000000000: want 1 to 1000 run times per job\n"},
		{[]string{"check", "--count", "0", "bad"}, nil, "entry: cron check: --count 0: want 1 to 1000 run times per job\n"},
		{[]string{"check", "bad"}, []string{"ENTRY_CRON_COUNT=1001"}, "entry: cron check: --count 1001: want 1 to 1000 run times per job\n"},
		{[]string{"list"}, nil, `entry: cron: unknown command "list" (want check or run; see 'entry cron --help')` + "\n"},
	}
	for _, tt := range tests {
		r := runEntry(t, dir, tt.env, append([]string{"cron"}, tt.args...)...)
		if r.code != exitUsage || r.stderr != tt.want || r.stdout != "" {
			t.Errorf("entry cron %v: exit %d\nstderr: %s\nwant:   %s", tt.args, r.code, r.stderr, tt.want)
		}
	}
}

// TestCronRunAsPID1 runs a crontab alone with entry as PID 1: an
// every-second job runs again and again, a slow job is not overlapped, and
// TERM during a run waits for it and exits cleanly.
func TestCronRunAsPID1(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"crontab": `# tick
*/1 * * * * * * echo tick; echo tick >> ticks
# slow
*/1 * * * * * * echo start >> slow; sleep 1.5; echo end >> slow
# graceful
@reboot trap 'sleep 0.2; echo cleaned >> graceful; exit 0' TERM; echo armed > armed; sleep 300 & wait
`})
	// The stop timeout is far beyond the test's patience: only the trap can
	// end the graceful run in time.
	r := startEntry(t, dir, nil, true, "cron", "run", "--stop-timeout", "10m", "crontab")
	// TERM once graceful's trap is armed, tick has run three times and a
	// slow run has been skipped.
	testtool.Eventually(t, "graceful's TERM trap, three ticks and a skipped slow run", func() bool {
		armed, _ := os.ReadFile(filepath.Join(dir, "armed"))
		ticks, _ := os.ReadFile(filepath.Join(dir, "ticks"))
		return len(armed) > 0 && strings.Count(string(ticks), "tick") >= 3 && strings.Contains(r.stderr.String(), "slow: skipped the run due")
	}, r.stderr.String)
	r.signal(syscall.SIGTERM)
	code := r.wait(testtool.Patience)
	stderr := r.stderr.String()
	if code != 0 {
		t.Fatalf("exit code %d\nstdout:\n%s\nstderr:\n%s", code, r.stdout.String(), stderr)
	}
	if n := strings.Count(stderr, "tick: started pid"); n < 3 {
		t.Errorf("tick started %d times, want 3 or more\n%s", n, stderr)
	}
	if !strings.Contains(r.stdout.String(), "cron:tick | tick") {
		t.Errorf("job output is not prefixed with cron:tick:\n%s", r.stdout.String())
	}
	slow, _ := os.ReadFile(filepath.Join(dir, "slow"))
	lines := strings.Fields(string(slow))
	for i := 1; i < len(lines); i++ {
		if lines[i] == lines[i-1] {
			t.Fatalf("slow runs overlapped: %q", lines)
		}
	}
	if !strings.Contains(stderr, "slow: skipped the run due") {
		t.Errorf("no skipped run logged:\n%s", stderr)
	}
	if g, _ := os.ReadFile(filepath.Join(dir, "graceful")); string(g) != "cleaned\n" {
		t.Errorf("the running job was not stopped gracefully (wrote %q):\n%s", g, stderr)
	}
	for _, want := range []string{"graceful: entry is stopping; sending SIGTERM", "graceful: pid", "exited with code 0", "role cron stopped, exit code 0"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
}

// TestRoleJobWithCronAsPID1 runs `entry role=job` as PID 1: the cron
// scheduler next to another process, both stopped by one TERM.
func TestRoleJobWithCronAsPID1(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"entry.yml": `roles:
  job:
    worker: {command: "echo worker up; exec sleep 60"}
    cron: {crontab: config/crontab, env: {GREETING: hello}, stop_timeout: 5s}
`,
		"config/crontab": `# greet
*/1 * * * * * * echo "$GREETING from $ENTRY_ROLE" >> greetings
`,
	})
	r := startEntry(t, dir, nil, true, "role=job")
	r.waitFor("worker | worker up", testtool.Patience)
	greetings := filepath.Join(dir, "greetings")
	testtool.Eventually(t, "a greet run writing greetings", func() bool {
		data, _ := os.ReadFile(greetings)
		return strings.HasSuffix(string(data), "\n")
	}, r.stderr.String)
	r.signal(syscall.SIGTERM)
	code := r.wait(testtool.Patience)
	if code != 0 {
		t.Fatalf("exit code %d\nstdout:\n%s\nstderr:\n%s", code, r.stdout.String(), r.stderr.String())
	}
	data, _ := os.ReadFile(greetings)
	if n := strings.Count(string(data), "hello from job\n"); n < 1 {
		t.Errorf("greetings %q: the job did not get the role's environment\n%s", data, r.stderr.String())
	}
}

// A variable line with no job below it is a warning, at check and at
// start; the crontab still runs.
func TestCronVariableBelowEveryJobWarns(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"entry.yml": "roles:\n  job:\n    cron: {crontab: crontab}\n    once: \"true\"\n",
		"crontab":   "0 3 * * * echo\nRAILS_ENV=production\n",
	})
	warning := "crontab:2: RAILS_ENV= applies to no job: a variable line sets the environment of the jobs below it only (supercronic applies it to the whole file); move it above the jobs it is for\n"
	r := runEntry(t, dir, nil, "cron", "check", "crontab")
	if r.code != 0 || r.stderr != "entry: cron check: warning: "+warning || !strings.HasPrefix(r.stdout, "crontab: 1 job(s), valid\n") {
		t.Errorf("cron check: exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	r = runEntry(t, dir, nil, "role=job")
	if r.code != 0 || !strings.HasPrefix(r.stderr, "entry: cron: warning: "+warning) {
		t.Errorf("role start: exit %d\nstderr: %s", r.code, r.stderr)
	}
}

func TestRoleCronBadCrontab(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"entry.yml":   "roles:\n  job:\n    cron: {crontab: crontab}\n",
		"crontab":     "\n61 * * * * echo\n",
		"missing.yml": "roles:\n  job:\n    cron: {crontab: nope}\n",
	})
	r := runEntry(t, dir, nil, "role=job")
	if r.code != exitUsage || !strings.Contains(r.stderr, `entry.yml:3: roles.job.cron: crontab:2: minute field "61": 61 is out of range 0-59`) {
		t.Errorf("exit %d\n%s", r.code, r.stderr)
	}
	r = runEntry(t, dir, []string{"ENTRY_CONFIG=missing.yml"}, "role=job")
	if r.code != exitUsage || !strings.Contains(r.stderr, "roles.job.cron: crontab: open nope: no such file or directory (crontab: names a file relative to the working directory)") {
		t.Errorf("exit %d\n%s", r.code, r.stderr)
	}
}
