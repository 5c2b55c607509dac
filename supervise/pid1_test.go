package supervise

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/entryhq/entry/internal/testtool"
)

// trapper is a shell process that reports the TERM it gets and exits 0.
func trapper(name string) string {
	return fmt.Sprintf(`trap 'echo %s got TERM; exit 0' TERM; echo %s ready; while :; do sleep 0.05; done`, name, name)
}

func TestPID1TermReachesEveryGroupAndGrandchild(t *testing.T) {
	p := startPID1(t, helperSpec{Role: Role{Name: "web", Processes: []Process{
		{Name: "a", Shell: `sh -c "` + strings.ReplaceAll(trapper("grandchild-a"), `"`, `\"`) + `" & ` + trapper("a"), Essential: true},
		{Name: "b", Shell: trapper("b"), Essential: true},
	}}})
	for _, s := range []string{"a ready", "b ready", "grandchild-a ready"} {
		p.out.WaitFor(t, s, testtool.Patience)
	}
	p.signal(syscall.SIGTERM)
	if code := p.wait(); code != 0 {
		t.Fatalf("exit code %d, want 0; output:\n%s", code, p.out.String())
	}
	out := p.out.String()
	for _, s := range []string{"a | a got TERM", "b | b got TERM", "a | grandchild-a got TERM"} {
		if !strings.Contains(out, s) {
			t.Errorf("missing %q in output:\n%s", s, out)
		}
	}
}

func TestPID1StopsInOrder(t *testing.T) {
	// web starts after app, so it is stopped first, and app only once web
	// has exited (nginx in front of unicorn).
	p := startPID1(t, helperSpec{Role: Role{Name: "web", Processes: []Process{
		{Name: "app", Shell: trapper("app"), Essential: true},
		{Name: "web", Shell: `trap 'echo web got TERM; sleep 0.2; echo web done; exit 0' TERM; echo web ready; while :; do sleep 0.05; done`, Essential: true, After: []string{"app"}},
	}}})
	p.out.WaitFor(t, "web ready", testtool.Patience)
	p.signal(syscall.SIGTERM)
	if code := p.wait(); code != 0 {
		t.Fatalf("exit code %d; output:\n%s", code, p.out.String())
	}
	out := p.out.String()
	iWeb, iDone, iApp := strings.Index(out, "web got TERM"), strings.Index(out, "web done"), strings.Index(out, "app got TERM")
	if iWeb < 0 || iDone < 0 || iApp < 0 || !(iWeb < iDone && iDone < iApp) {
		t.Fatalf("want web stopped, then app; output:\n%s", out)
	}
	if strings.Index(out, "entry: app: started") > strings.Index(out, "entry: web: started") {
		t.Errorf("web started before app; output:\n%s", out)
	}
}

func TestPID1KillsAfterStopTimeout(t *testing.T) {
	p := startPID1(t, helperSpec{Role: Role{Name: "web", Processes: []Process{
		{Name: "stubborn", Shell: `trap 'echo ignoring TERM' TERM; echo ready; while :; do sleep 0.05; done`, Essential: true, StopTimeout: 300 * time.Millisecond},
		{Name: "polite", Shell: trapper("polite"), Essential: true},
	}}})
	p.out.WaitFor(t, "stubborn | ready", testtool.Patience)
	p.out.WaitFor(t, "polite ready", testtool.Patience)
	p.signal(syscall.SIGTERM)
	code := p.wait()
	out := p.out.String()
	if code != 137 {
		t.Fatalf("exit code %d, want 137 (SIGKILL after stop_timeout); output:\n%s", code, out)
	}
	for _, s := range []string{"stubborn | ignoring TERM", "entry: stubborn: still running 300ms after the stop began: sending SIGKILL", "polite got TERM"} {
		if !strings.Contains(out, s) {
			t.Errorf("missing %q in:\n%s", s, out)
		}
	}
}

func TestPID1SecondTermKillsAtOnce(t *testing.T) {
	p := startPID1(t, helperSpec{Role: Role{Name: "web", Processes: []Process{
		{Name: "stubborn", Shell: `trap 'echo ignoring TERM' TERM; echo ready; while :; do sleep 0.05; done`, Essential: true, StopTimeout: 10 * time.Minute},
	}}})
	p.out.WaitFor(t, "stubborn | ready", testtool.Patience)
	p.signal(syscall.SIGTERM)
	p.out.WaitFor(t, "ignoring TERM", testtool.Patience)
	p.signal(syscall.SIGTERM)
	// wait gives up long before the 10m stop_timeout: only the second
	// TERM can end the role in time.
	if code := p.wait(); code != 137 {
		t.Fatalf("exit code %d, want 137; output:\n%s", code, p.out.String())
	}
	if !strings.Contains(p.out.String(), "received SIGTERM again: sending SIGKILL") {
		t.Errorf("no escalation event:\n%s", p.out.String())
	}
}

func TestPID1ExitCodes(t *testing.T) {
	cases := []struct {
		shell string
		want  int
	}{
		{"exit 0", 0}, {"exit 1", 1}, {"exit 2", 2}, {"exit 42", 42}, {"exit 255", 255},
		{"kill -USR1 $$", 128 + int(syscall.SIGUSR1)},
		{"kill -KILL $$", 137},
		{"kill -SEGV $$", 128 + int(syscall.SIGSEGV)},
	}
	for _, c := range cases {
		t.Run(c.shell, func(t *testing.T) {
			p := startPID1(t, helperSpec{Role: Role{Name: "job", Processes: []Process{
				{Name: "main", Shell: c.shell, Essential: true},
				{Name: "side", Shell: "sleep 100", Essential: true},
			}}})
			if code := p.wait(); code != c.want {
				t.Fatalf("exit code %d, want %d; output:\n%s", code, c.want, p.out.String())
			}
		})
	}
}

func TestPID1ReapsOrphansAndZombies(t *testing.T) {
	// spawner double-forks short-lived and long-lived processes, some in
	// their own sessions, and carries on; every orphan lands on PID 1.
	// "spawned" comes only once the setsid sleeper has left spawner's
	// process group, so that the stop's TERM to that group cannot reach it
	// and it is left over for entry to find.
	detached := filepath.Join(t.TempDir(), "detached")
	p := startPID1(t, helperSpec{Role: Role{Name: "job", Processes: []Process{
		{Name: "spawner", Shell: `for i in 1 2 3 4 5; do (sh -c 'exit 3' &); (sleep 0.01 &); done; (setsid sh -c 'touch ` + detached + `; exec sleep 100' &); (sleep 100 &); until [ -e ` + detached + ` ]; do sleep 0.01; done; echo spawned; sleep 100`, Essential: true},
	}}})
	p.out.WaitFor(t, "spawned", testtool.Patience)
	// Every short-lived orphan has exited and been reaped: nothing is left
	// in the namespace but spawner's shell and its sleep, and the two
	// sleepers that outlive it.
	testtool.Eventually(t, "PID 1 reaping the short-lived orphans", func() bool {
		return len(zombiesOf(p.pid)) == 0 && len(descendants(p.pid)) == 4
	}, func() string { return fmt.Sprintf("zombies %v; processes %q", zombiesOf(p.pid), descendants(p.pid)) })
	p.signal(syscall.SIGTERM)
	// The helper itself fails with LEFTOVER if a sleeper survived.
	if code := p.wait(); code != 0 {
		t.Fatalf("exit code %d; output:\n%s", code, p.out.String())
	}
	if !strings.Contains(p.out.String(), "leftover process(es)") {
		t.Errorf("the setsid sleeper was not reported as a leftover:\n%s", p.out.String())
	}
}

func TestPID1EssentialExitStopsRole(t *testing.T) {
	// short exits once long has installed its trap; long's stop_timeout
	// is far beyond wait's patience, so the role ends in time only if long
	// got the TERM and exited on it.
	ready := filepath.Join(t.TempDir(), "long-ready")
	p := startPID1(t, helperSpec{Role: Role{Name: "web", Processes: []Process{
		{Name: "short", Shell: "echo up; until [ -e " + ready + " ]; do sleep 0.01; done; exit 5", Essential: true},
		{Name: "long", Shell: `trap 'echo long got TERM; exit 0' TERM; touch ` + ready + `; while :; do sleep 0.05; done`, Essential: true, StopTimeout: 10 * time.Minute},
		{Name: "helper", Shell: "sleep 100", Essential: false},
	}}})
	code := p.wait()
	out := p.out.String()
	if code != 5 {
		t.Fatalf("exit code %d, want 5 (the essential process's); output:\n%s", code, out)
	}
	if strings.Contains(out, "SIGKILL") {
		t.Errorf("the stop needed SIGKILL:\n%s", out)
	}
	for _, s := range []string{"short is essential: stopping role web", "long got TERM", "entry: long: exited with 0", "entry: helper: stopped (SIGTERM)\n"} {
		if !strings.Contains(out, s) {
			t.Errorf("missing %q in:\n%s", s, out)
		}
	}
}

func TestPID1SignalBeforeStart(t *testing.T) {
	p := startPID1(t, helperSpec{TermBeforeStart: true, Role: Role{Name: "web", Processes: []Process{
		{Name: "app", Shell: "echo should not start; sleep 100", Essential: true},
	}}})
	if code := p.wait(); code != 0 {
		t.Fatalf("exit code %d; output:\n%s", code, p.out.String())
	}
	if out := p.out.String(); strings.Contains(out, "should not start") || !strings.Contains(out, "received SIGTERM") {
		t.Fatalf("want a stop before anything started; output:\n%s", out)
	}
}

func TestPID1ForwardsAndRewritesSignals(t *testing.T) {
	p := startPID1(t, helperSpec{Role: Role{Name: "web", Processes: []Process{
		{Name: "plain", Shell: `trap 'echo plain got HUP' HUP; trap 'echo plain got WINCH' WINCH; echo ready; while :; do sleep 0.05; done`, Essential: true},
		{Name: "rewritten", Shell: `trap 'echo rewritten got USR1' USR1; trap 'echo rewritten got HUP' HUP; echo ready; while :; do sleep 0.05; done`, Essential: true,
			Signals: map[syscall.Signal]syscall.Signal{syscall.SIGHUP: syscall.SIGUSR1}},
		{Name: "quitter", Shell: `trap '' HUP WINCH; trap 'echo quitter got QUIT; exit 0' QUIT; echo ready; while :; do sleep 0.05; done`, Essential: true, StopSignal: syscall.SIGQUIT},
	}}})
	p.out.WaitFor(t, "plain | ready", testtool.Patience)
	p.out.WaitFor(t, "rewritten | ready", testtool.Patience)
	p.out.WaitFor(t, "quitter | ready", testtool.Patience)
	p.signal(syscall.SIGHUP)
	p.out.WaitFor(t, "plain got HUP", testtool.Patience)
	p.out.WaitFor(t, "rewritten got USR1", testtool.Patience)
	p.signal(syscall.SIGWINCH)
	p.out.WaitFor(t, "plain got WINCH", testtool.Patience)
	p.signal(syscall.SIGTERM)
	code := p.wait()
	out := p.out.String()
	// plain and rewritten die of TERM's default action (clean), quitter
	// exits 0 on its stop_signal QUIT.
	if code != 0 {
		t.Fatalf("exit code %d; output:\n%s", code, out)
	}
	if strings.Contains(out, "rewritten got HUP") || !strings.Contains(out, "quitter got QUIT") {
		t.Fatalf("rewrite or stop_signal not applied:\n%s", out)
	}
}

func TestPID1RestartBackoff(t *testing.T) {
	p := startPID1(t, helperSpec{Role: Role{Name: "job", Processes: []Process{
		{Name: "flaky", Shell: "echo try; exit 3", Essential: true, Restart: RestartOnFailure, MaxRestarts: 3,
			BackoffMin: 20 * time.Millisecond, BackoffMax: 60 * time.Millisecond},
	}}})
	code := p.wait()
	out := p.out.String()
	if code != 3 {
		t.Fatalf("exit code %d, want 3; output:\n%s", code, out)
	}
	want := []string{"restarting in 20ms", "restarting in 40ms", "restarting in 60ms", "failed: restarted 3 times within 1m0s"}
	last := -1
	for _, w := range want {
		i := strings.Index(out, w)
		if i <= last {
			t.Fatalf("want %q after the previous step; output:\n%s", w, out)
		}
		last = i
	}
	if n := strings.Count(out, "flaky | try"); n != 4 {
		t.Errorf("ran %d times, want 4 (1 + 3 restarts)", n)
	}
}

func TestPID1SignalStorm(t *testing.T) {
	ignore := `trap '' HUP USR1 USR2 WINCH; `
	// forker fails and is restarted until calm exists; then it stays up, so
	// its own "exit 1" cannot coincide with the TERM (a process that fails
	// on its own during a stop rightly makes the exit code 1).
	calm := filepath.Join(t.TempDir(), "calm")
	p := startPID1(t, helperSpec{Role: Role{Name: "job", Processes: []Process{
		{Name: "blinker", Shell: ignore + "sleep 0.01", Essential: true, Restart: RestartAlways, BackoffMin: time.Millisecond, BackoffMax: 5 * time.Millisecond},
		{Name: "forker", Shell: ignore + "(sleep 0.01 &); (true &); sleep 0.02; if [ -e " + calm + " ]; then echo calm; exec sleep 60; fi; exit 1", Essential: true, Restart: RestartOnFailure, BackoffMin: time.Millisecond, BackoffMax: 5 * time.Millisecond},
		{Name: "steady", Shell: ignore + "echo ready; while :; do sleep 0.05; done", Essential: true},
	}}})
	p.out.WaitFor(t, "steady | ready", testtool.Patience)
	storm := []syscall.Signal{syscall.SIGHUP, syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGWINCH, syscall.SIGCHLD, syscall.SIGURG}
	for i := range 600 {
		p.signal(storm[i%len(storm)])
		if i%20 == 0 {
			time.Sleep(10 * time.Millisecond) // let processes start and exit in between
		}
	}
	if err := os.WriteFile(calm, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	p.out.WaitFor(t, "forker | calm", testtool.Patience)
	p.signal(syscall.SIGTERM)
	code := p.wait()
	out := p.out.String()
	// A storm signal can land between a fork and the child's trap, and
	// kill it by default action: the exit code then says so. Anything else
	// (a hang, a leftover, another code) is a failure.
	okCodes := map[int]bool{0: true}
	for _, sig := range storm[:4] {
		okCodes[128+int(sig)] = true
	}
	if !okCodes[code] {
		t.Fatalf("exit code %d after the storm; output tail:\n%s", code, tail(out, 30))
	}
	if !strings.Contains(out, "steady: stopped (SIGTERM)\n") || !strings.Contains(out, "role job stopped") {
		t.Fatalf("no clean stop after the storm; output tail:\n%s", tail(out, 30))
	}
	if n := len(regexp.MustCompile(`blinker: started`).FindAllString(out, -1)); n < 3 {
		t.Errorf("blinker started %d times; the storm should run during restarts", n)
	}
}

func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// descendants describes the processes descended from pid (pid itself not
// included), seen from the test.
func descendants(pid int) []string {
	parent := map[int]int{}
	desc := map[int]string{}
	paths, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, path := range paths {
		data, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		if cpid, ppid, _, ok := parseStat(data); ok {
			parent[cpid] = ppid
			desc[cpid] = string(bytes.TrimSpace(data))
		}
	}
	var out []string
	for cpid := range parent {
		for p := parent[cpid]; p > 1; p = parent[p] {
			if p == pid {
				out = append(out, desc[cpid])
				break
			}
		}
	}
	return out
}
