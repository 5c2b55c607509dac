package supervise

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/entryhq/entry/internal/testtool"
)

func TestExitCodePassedOut(t *testing.T) {
	if testtool.Isolated(t) {
		return
	}
	for code := range 256 {
		got, out := runRole(t, Role{Name: "r", Processes: []Process{{Name: "p", Shell: fmt.Sprintf("exit %d", code), Essential: true}}}, nil)
		if got != code {
			t.Fatalf("exit %d: entry exited %d; output:\n%s", code, got, out)
		}
	}
}

func TestCommandNotFound(t *testing.T) {
	if testtool.Isolated(t) {
		return
	}
	code, out := runRole(t, Role{Name: "web", Env: []string{"PATH=/usr/bin:/bin"}, Processes: []Process{{Name: "app", Argv: []string{"no-such-command-x"}, Essential: true}}}, nil)
	if code != 127 {
		t.Fatalf("exit code %d, want 127; output:\n%s", code, out)
	}
	want := "entry: app: cannot start: no-such-command-x: command not found in PATH=/usr/bin:/bin (exit code 127)"
	if !strings.Contains(out, want) {
		t.Fatalf("missing %q in:\n%s", want, out)
	}

	// Through the shell, sh's own message names the command, and the event
	// names the process.
	code, out = runRole(t, Role{Name: "web", Env: []string{"PATH=/usr/bin:/bin"}, Processes: []Process{{Name: "app", Shell: "no-such-command-x --flag", Essential: true}}}, nil)
	if code != 127 || !strings.Contains(out, "app | ") || !strings.Contains(out, "no-such-command-x") || !strings.Contains(out, "entry: app: exited with 127") {
		t.Fatalf("exit code %d; output:\n%s", code, out)
	}
}

func TestNotExecutable(t *testing.T) {
	if testtool.Isolated(t) {
		return
	}
	file := filepath.Join(t.TempDir(), "script")
	os.WriteFile(file, []byte("#!/bin/sh\necho hi\n"), 0o644)
	code, out := runRole(t, Role{Name: "web", Processes: []Process{{Name: "app", Argv: []string{file}, Essential: true}}}, nil)
	if code != 126 || !strings.Contains(out, "is not an executable file") {
		t.Fatalf("exit code %d, want 126; output:\n%s", code, out)
	}
	code, out = runRole(t, Role{Name: "web", Processes: []Process{{Name: "app", Shell: "true", Dir: "/no/such/dir", Essential: true}}}, nil)
	if code != 126 || !strings.Contains(out, "working directory /no/such/dir does not exist") {
		t.Fatalf("exit code %d, want 126; output:\n%s", code, out)
	}
}

func TestEnvironment(t *testing.T) {
	if testtool.Isolated(t) {
		return
	}
	code, out := runRole(t, Role{Name: "web", Env: []string{"A=role", "B=role", "ENTRY_PROCESS=outer"},
		Processes: []Process{{Name: "app", Shell: `echo "$A $B $ENTRY_ROLE $ENTRY_PROCESS"; env | grep -c '^B='`, Env: []string{"B=process"}, Essential: true}}}, nil)
	if code != 0 || !strings.Contains(out, "app | role process web app\n") || !strings.Contains(out, "app | 1\n") {
		t.Fatalf("exit code %d; output:\n%s", code, out)
	}
}

func TestBackoffGrowsCapsAndResets(t *testing.T) {
	if testtool.Isolated(t) {
		return
	}
	dir := t.TempDir()
	// Runs 1-3 fail at once, run 4 lasts past HealthyAfter then fails, run
	// 5 fails at once, run 6 succeeds.
	script := fmt.Sprintf(`n=$(cat %[1]s/n 2>/dev/null || echo 0); n=$((n+1)); echo $n > %[1]s/n
case $n in 4) sleep 5; exit 1;; 6) exit 0;; *) exit 1;; esac`, dir)
	code, out := runRole(t, Role{Name: "job", Processes: []Process{{Name: "w", Shell: script, Essential: true,
		Restart: RestartOnFailure, BackoffMin: 10 * time.Millisecond, BackoffMax: 30 * time.Millisecond,
		// Far from both an instant failure and run 4, so that a loaded
		// machine cannot blur the two.
		HealthyAfter: 2 * time.Second}}}, nil)
	if code != 0 {
		t.Fatalf("exit code %d; output:\n%s", code, out)
	}
	var delays []string
	for _, line := range strings.Split(out, "\n") {
		if _, d, ok := strings.Cut(line, "restarting in "); ok {
			delays = append(delays, strings.Fields(d)[0])
		}
	}
	want := "10ms 20ms 30ms 10ms 20ms"
	if got := strings.Join(delays, " "); got != want {
		t.Fatalf("backoff %q, want %q; output:\n%s", got, want, out)
	}
}

func TestRestartAlwaysAndNonEssential(t *testing.T) {
	if testtool.Isolated(t) {
		return
	}
	signals := make(chan os.Signal, 1)
	dir := t.TempDir()
	go func() {
		// Stop once the side process has been restarted twice.
		if !testtool.Poll(testtool.Patience, func() bool {
			data, _ := os.ReadFile(filepath.Join(dir, "n"))
			return strings.Count(string(data), "x") >= 3
		}) {
			t.Errorf("side was not restarted twice within %s", testtool.Patience)
		}
		signals <- syscall.SIGTERM
	}()
	code, out := runRole(t, Role{Name: "web", Processes: []Process{
		{Name: "main", Shell: "exec sleep 100", Essential: true},
		{Name: "side", Shell: "echo x >> " + dir + "/n", Restart: RestartAlways, BackoffMin: 5 * time.Millisecond},
		{Name: "once", Shell: "exit 4"}, // not essential, never restarted: the role carries on
	}}, signals)
	if code != 0 {
		t.Fatalf("exit code %d; output:\n%s", code, out)
	}
	for _, s := range []string{"entry: once: exited with 4\n", "entry: side: exited with 0; restarting in 5ms (restart: always)", "entry: main: stopped (SIGTERM)\n"} {
		if !strings.Contains(out, s) {
			t.Errorf("missing %q in:\n%s", s, out)
		}
	}
}

func TestStopUncleanExitCode(t *testing.T) {
	if testtool.Isolated(t) {
		return
	}
	signals := make(chan os.Signal, 1)
	signals <- syscall.SIGINT
	// Not started at all: a clean stop.
	code, _ := runRole(t, Role{Name: "web", Processes: []Process{{Name: "a", Shell: "sleep 100", Essential: true}}}, signals)
	if code != 0 {
		t.Fatalf("exit code %d, want 0", code)
	}

	// TERM once b has installed its trap.
	ready := filepath.Join(t.TempDir(), "b-ready")
	signals = make(chan os.Signal, 1)
	go func() {
		if !testtool.Poll(testtool.Patience, func() bool { _, err := os.Stat(ready); return err == nil }) {
			t.Errorf("b did not install its TERM trap within %s", testtool.Patience)
		}
		signals <- syscall.SIGTERM
	}()
	code, out := runRole(t, Role{Name: "web", Processes: []Process{
		{Name: "a", Shell: "exec sleep 100", Essential: true},
		{Name: "b", Shell: "trap 'exit 3' TERM; touch " + ready + "; while :; do sleep 0.02; done", Essential: false},
	}}, signals)
	if code != 3 {
		t.Fatalf("exit code %d, want 3 (b's unclean stop); output:\n%s", code, out)
	}
}

func TestLogFormats(t *testing.T) {
	if testtool.Isolated(t) {
		return
	}
	script := `echo out line; echo err line >&2; printf 'no newline'`
	_, out := runRole(t, Role{Name: "web", Processes: []Process{{Name: "app", Shell: script, Essential: true}}}, nil)
	for _, s := range []string{"app | out line\n", "app | err line\n", "app | no newline\n", "entry: app: started (pid "} {
		if !strings.Contains(out, s) {
			t.Errorf("prefix: missing %q in:\n%s", s, out)
		}
	}
	_, out = runRole(t, Role{Name: "web", LogFormat: LogRaw, Processes: []Process{{Name: "app", Shell: script, Essential: true}}}, nil)
	if !strings.Contains(out, "\nout line\n") || !strings.Contains(out, "\nno newline\n") || strings.Contains(out, "app | ") {
		t.Errorf("raw: output:\n%s", out)
	}
	_, out = runRole(t, Role{Name: "web", LogFormat: LogJSON, Processes: []Process{{Name: "app", Shell: script + `; printf '\ttab "q" \\ <b>&\n'`, Essential: true}}}, nil)
	type rec struct{ Time, Role, Process, Stream, Line string }
	var recs []rec
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var r rec
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("json: %q is not JSON: %v", line, err)
		}
		if _, err := time.Parse(time.RFC3339Nano, r.Time); err != nil || r.Role != "web" {
			t.Fatalf("json: bad time or role in %q", line)
		}
		recs = append(recs, r)
	}
	want := []rec{{Process: "app", Stream: "stdout", Line: "out line"}, {Process: "app", Stream: "stderr", Line: "err line"},
		{Process: "app", Stream: "stdout", Line: "no newline\t" + `tab "q" \ <b>&`}, {Process: "app", Stream: "entry", Line: "exited with 0"}}
	for _, w := range want {
		found := false
		for _, r := range recs {
			found = found || (r.Process == w.Process && r.Stream == w.Stream && r.Line == w.Line)
		}
		if !found {
			t.Errorf("json: no record %+v in:\n%s", w, out)
		}
	}
}

func TestLongLinesAndNoInterleaving(t *testing.T) {
	if testtool.Isolated(t) {
		return
	}
	// Four writers, each writing 300 KiB lines and many short lines at
	// once: every line must come out whole under its own prefix.
	var procs []Process
	for i := range 4 {
		c := string(rune('a' + i))
		procs = append(procs, Process{Name: "w" + c, Essential: false,
			Shell: fmt.Sprintf(`head -c 307200 /dev/zero | tr '\0' '%s'; echo; for i in $(seq 2000); do echo %s%s%s%s%s%s%s%s; done; head -c 307200 /dev/zero | tr '\0' '%s'; echo`, c, c, c, c, c, c, c, c, c, c)})
	}
	code, out := runRole(t, Role{Name: "w", Processes: procs}, nil)
	if code != 0 {
		t.Fatalf("exit code %d", code)
	}
	counts := map[string]int{}
	for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		if strings.HasPrefix(line, "entry: ") {
			continue
		}
		name, text, ok := strings.Cut(line, " | ")
		if !ok || len(name) != 2 || strings.Trim(text, name[1:]) != "" {
			t.Fatalf("mixed or broken line (len %d): %.100q", len(line), line)
		}
		counts[fmt.Sprintf("%s/%d", name, len(text))]++
	}
	for i := range 4 {
		c := "w" + string(rune('a'+i))
		if counts[c+"/307200"] != 2 || counts[c+"/8"] != 2000 {
			t.Fatalf("%s: lines by length %v", c, counts)
		}
	}
}

// testService runs children through its Spawner the way the cron scheduler
// does.
type testService struct {
	started chan Child
	err     error
}

func (s *testService) Run(ctx context.Context, sp Spawner) error {
	sp.Logf("service up")
	c, err := sp.Spawn(Command{Name: "svc:job", Shell: `trap 'echo job got HUP' HUP; trap 'echo job ignores TERM' TERM; echo "job $ENTRY_PROCESS $ENTRY_ROLE $EXTRA"; while :; do sleep 0.02; done`, Env: []string{"EXTRA=x"}})
	if err != nil {
		return err
	}
	s.started <- c
	<-ctx.Done()
	c.Signal(syscall.SIGTERM)
	<-c.Done()
	sp.Logf("job ended: %d", c.Exit().Code)
	return s.err
}

func TestServiceChildren(t *testing.T) {
	if testtool.Isolated(t) {
		return
	}
	svc := &testService{started: make(chan Child, 1)}
	signals := make(chan os.Signal, 4)
	var out testtool.SyncBuffer
	s, err := New(Role{Name: "job", Stdout: &out, Stderr: &out, Processes: []Process{
		{Name: "cron", Service: svc, Essential: true, StopTimeout: 300 * time.Millisecond},
	}})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan int, 1)
	go func() { done <- s.Run(signals) }()
	var c Child
	select {
	case c = <-svc.started:
	case <-time.After(testtool.Patience):
		t.Fatalf("service spawned nothing within %s:\n%s", testtool.Patience, out.String())
	}
	out.WaitFor(t, "svc:job | job svc:job job x", testtool.Patience)
	signals <- syscall.SIGHUP
	out.WaitFor(t, "svc:job | job got HUP", testtool.Patience)
	signals <- syscall.SIGTERM
	var code int
	select {
	case code = <-done:
	case <-time.After(testtool.Patience):
		t.Fatalf("role did not stop within %s:\n%s", testtool.Patience, out.String())
	}
	checkNoChildren(t)
	text := out.String()
	for _, s := range []string{"entry: cron: service up", "job ignores TERM", "entry: cron: still running 300ms after the stop began: sending SIGKILL", "entry: cron: job ended: 137"} {
		if !strings.Contains(text, s) {
			t.Errorf("missing %q in:\n%s", s, text)
		}
	}
	if code != 137 || c.Exit().Signal != syscall.SIGKILL {
		t.Errorf("exit code %d, child %+v; want 137 after the kill", code, c.Exit())
	}
}

func TestNewRejects(t *testing.T) {
	cases := map[string]Role{
		"has no processes":        {Name: "r"},
		"appears twice":           {Name: "r", Processes: []Process{{Name: "a", Shell: "x"}, {Name: "a", Shell: "y"}}},
		"give exactly one":        {Name: "r", Processes: []Process{{Name: "a", Shell: "x", Argv: []string{"y"}}}},
		`after: "b" is not`:       {Name: "r", Processes: []Process{{Name: "a", Shell: "x", After: []string{"b"}}}},
		"cycle: a -> b -> c -> a": {Name: "r", Processes: []Process{{Name: "a", Shell: "x", After: []string{"b"}}, {Name: "b", Shell: "x", After: []string{"c"}}, {Name: "c", Shell: "x", After: []string{"a"}}}},
		"a process has no name":   {Name: "r", Processes: []Process{{Shell: "x"}}},
	}
	for want, role := range cases {
		if _, err := New(role); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("New(%+v) = %v, want an error with %q", role, err, want)
		}
	}
}

func TestReaperStartRace(t *testing.T) {
	if testtool.Isolated(t) {
		return
	}
	// Children that exit at once, many at a time, from several goroutines:
	// each exit status reaches its own callback, none is lost to the
	// wait4(-1) loop.
	r := newReaper()
	defer r.close()
	var wg sync.WaitGroup
	var mu sync.Mutex
	got := map[int]int{}
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 25 {
				code := (g*25 + i) % 256
				var done sync.WaitGroup
				done.Add(1)
				_, err := r.start(func() (int, error) {
					return syscall.ForkExec("/bin/sh", []string{"sh", "-c", fmt.Sprintf("exit %d", code)}, &syscall.ProcAttr{})
				}, func(st ExitStatus) {
					mu.Lock()
					got[code] = st.Code
					mu.Unlock()
					done.Done()
				})
				if err != nil {
					t.Error(err)
					return
				}
				done.Wait()
			}
		}()
	}
	wg.Wait()
	for code, st := range got {
		if code != st {
			t.Errorf("child exiting %d reported %d", code, st)
		}
	}
	if len(got) != 100 {
		t.Errorf("%d exits reported, want 100", len(got))
	}
}
