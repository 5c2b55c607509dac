package supervise

import (
	"context"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/entryhq/entry/internal/testtool"
)

// idleLoop keeps a shell alive with its traps answering at once: a trapped
// signal interrupts wait, where it would wait for a foreground sleep to end
// (and forever for one suspended by a job-control signal).
const idleLoop = `while :; do sleep 0.05 & wait $!; done`

// running is a role started in the test process, fed signals by the test.
type running struct {
	t       *testing.T
	out     testtool.SyncBuffer
	signals chan os.Signal
	done    chan int
}

func startRole(t *testing.T, role Role) *running {
	t.Helper()
	r := &running{t: t, signals: make(chan os.Signal, 8), done: make(chan int, 1)}
	role.Stdout, role.Stderr = &r.out, &r.out
	s, err := New(role)
	if err != nil {
		t.Fatal(err)
	}
	go func() { r.done <- s.Run(r.signals) }()
	return r
}

// waitFor waits for each of lines in the output.
func (r *running) waitFor(lines ...string) {
	r.t.Helper()
	for _, l := range lines {
		r.out.WaitFor(r.t, l, testtool.Patience)
	}
}

// wait waits for the role to end and returns entry's exit code and output.
func (r *running) wait() (int, string) {
	r.t.Helper()
	select {
	case code := <-r.done:
		checkNoChildren(r.t)
		return code, r.out.String()
	case <-time.After(testtool.Patience):
		r.t.Fatalf("role still running after %s; output:\n%s", testtool.Patience, r.out.String())
	}
	return 0, ""
}

// before fails the test unless a and b are both in out, a first.
func before(t *testing.T, out, a, b string) {
	t.Helper()
	i, j := strings.Index(out, a), strings.Index(out, b)
	if i < 0 || j < 0 || i > j {
		t.Fatalf("want %q, then %q; output:\n%s", a, b, out)
	}
}

func TestStopAndForwardedSignalReachGrandchild(t *testing.T) {
	if testtool.Isolated(t) {
		return
	}
	// The process waits for its grandchild and exits once the grandchild
	// has: only a signal to the whole process group (not to the process's
	// pid) reaches the grandchild, and lets the stop end before
	// stop_timeout's SIGKILL.
	grandchild := `trap "echo grandchild got HUP" HUP; trap "echo grandchild got TERM; exit 0" TERM; echo grandchild ready; ` + idleLoop
	script := `sh -c '` + grandchild + `' & gc=$!
trap 'echo parent got HUP' HUP
trap 'echo parent got TERM' TERM
echo parent ready
until wait $gc; do :; done
echo grandchild gone`
	r := startRole(t, Role{Name: "web", Processes: []Process{{Name: "app", Shell: script, Essential: true, StopTimeout: testtool.Patience / 3}}})
	r.waitFor("app | parent ready", "app | grandchild ready")
	r.signals <- syscall.SIGHUP
	r.waitFor("app | parent got HUP")
	r.signals <- syscall.SIGTERM
	code, out := r.wait()
	if code != 0 || strings.Contains(out, "SIGKILL") {
		t.Fatalf("exit code %d, want 0 with no SIGKILL (the grandchild must get the stop signal); output:\n%s", code, out)
	}
	// HUP was sent to the group before TERM; a shell runs pending traps in
	// signal order, so the grandchild reports HUP first: it got the
	// forwarded signal, not only the stop.
	before(t, out, "app | grandchild got HUP", "app | grandchild got TERM")
	before(t, out, "app | grandchild got TERM", "app | grandchild gone")
}

func TestMaxRestartsExhaustedByCleanExitsFails(t *testing.T) {
	if testtool.Isolated(t) {
		return
	}
	// restart: always with max_restarts: a process that keeps exiting 0
	// has failed all the same, and the role must not report success.
	code, out := runRole(t, Role{Name: "job", Processes: []Process{{Name: "loop", Shell: "echo run", Essential: true,
		Restart: RestartAlways, MaxRestarts: 2, BackoffMin: time.Millisecond, BackoffMax: time.Millisecond}}}, nil)
	if code != 1 {
		t.Fatalf("exit code %d, want 1; output:\n%s", code, out)
	}
	if n := strings.Count(out, "loop | run"); n != 3 {
		t.Errorf("ran %d times, want 3 (1 + 2 restarts); output:\n%s", n, out)
	}
	for _, s := range []string{"entry: loop: exited with 0; failed: restarted 2 times within 1m0s (max_restarts)", "role job stopped, exit code 1"} {
		if !strings.Contains(out, s) {
			t.Errorf("missing %q in:\n%s", s, out)
		}
	}
}

// signalService is a service like the cron scheduler: its one child
// reports the signals it gets.
type signalService struct{ script string }

func (s signalService) Run(ctx context.Context, sp Spawner) error {
	c, err := sp.Spawn(Command{Name: "svc:job", Shell: s.script})
	if err != nil {
		return err
	}
	<-ctx.Done()
	StopGroup(c, syscall.SIGTERM)
	<-c.Done()
	return nil
}

func TestJobControlSignalsReachOnlyProcessesNamingThem(t *testing.T) {
	if testtool.Isolated(t) {
		return
	}
	reporter := `for s in TSTP TTIN TTOU WINCH; do trap "echo got $s" $s; done; echo ready; ` + idleLoop
	r := startRole(t, Role{Name: "job", Processes: []Process{
		{Name: "sidekiq", Shell: reporter, Essential: true, Signals: map[syscall.Signal]syscall.Signal{syscall.SIGTSTP: syscall.SIGTSTP, syscall.SIGTTIN: syscall.SIGTTIN}},
		{Name: "puma", Shell: reporter, Essential: true},
		{Name: "cron", Service: signalService{reporter}, Essential: true},
	}})
	r.waitFor("sidekiq | ready", "puma | ready", "svc:job | ready")
	for _, sig := range []syscall.Signal{syscall.SIGTSTP, syscall.SIGTTIN, syscall.SIGTTOU, syscall.SIGWINCH} {
		r.signals <- sig
	}
	// WINCH goes to every process after the job-control signals, and has
	// a higher number: a shell that got one of those reports it before
	// WINCH.
	r.waitFor("sidekiq | got WINCH", "puma | got WINCH", "svc:job | got WINCH")
	r.signals <- syscall.SIGTERM
	code, out := r.wait()
	if code != 0 {
		t.Fatalf("exit code %d; output:\n%s", code, out)
	}
	before(t, out, "sidekiq | got TSTP", "sidekiq | got WINCH")
	before(t, out, "sidekiq | got TTIN", "sidekiq | got WINCH")
	for _, s := range []string{"sidekiq | got TTOU", "puma | got TSTP", "puma | got TTIN", "puma | got TTOU", "svc:job | got T"} {
		if strings.Contains(out, s) {
			t.Errorf("%q: a job-control signal reached a process whose signals: does not name it; output:\n%s", s, out)
		}
	}
}

func TestStopExit128PlusSignalIsClean(t *testing.T) {
	if testtool.Isolated(t) {
		return
	}
	cases := []struct {
		name  string
		proc  Process
		want  int
		event string
	}{
		// A JVM or a shell trap exits 128+N on its stop signal N: clean.
		{"exit 143 on TERM", Process{Shell: `trap 'exit 143' TERM; echo ready; ` + idleLoop}, 0, "entry: p: exited with 143\n"},
		{"exit 131 on stop_signal QUIT", Process{Shell: `trap 'exit 131' QUIT; echo ready; ` + idleLoop, StopSignal: syscall.SIGQUIT}, 0, "entry: p: exited with 131\n"},
		{"death by TERM", Process{Shell: `echo ready; ` + idleLoop}, 0, "entry: p: stopped (SIGTERM)\n"},
		// 128+N for another signal than the one sent is not a clean stop.
		{"exit 130 on TERM", Process{Shell: `trap 'exit 130' TERM; echo ready; ` + idleLoop}, 130, "entry: p: exited with 130\n"},
		{"exit 143 on stop_signal QUIT", Process{Shell: `trap 'exit 143' QUIT; echo ready; ` + idleLoop, StopSignal: syscall.SIGQUIT}, 143, "entry: p: exited with 143\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.proc.Name, c.proc.Essential = "p", true
			r := startRole(t, Role{Name: "web", Processes: []Process{c.proc}})
			r.waitFor("p | ready")
			r.signals <- syscall.SIGTERM
			code, out := r.wait()
			if code != c.want || !strings.Contains(out, c.event) {
				t.Fatalf("exit code %d, want %d and %q; output:\n%s", code, c.want, c.event, out)
			}
		})
	}
}

func TestChildExitCodePassedOutOnStop(t *testing.T) {
	if testtool.Isolated(t) {
		return
	}
	// entry -- CMD as PID 1 (the tini model): CMD gets the signal entry
	// received and its own status is entry's, even when it stopped cleanly.
	cases := []struct {
		name   string
		script string
		sig    syscall.Signal
		want   int
	}{
		{"death by TERM", `echo ready; ` + idleLoop, syscall.SIGTERM, 143},
		{"death by INT", `trap - INT; echo ready; ` + idleLoop, syscall.SIGINT, 130},
		{"exit 0 on TERM", `trap 'exit 0' TERM; echo ready; ` + idleLoop, syscall.SIGTERM, 0},
		{"exit 3 on INT, not TERM", `trap 'exit 3' INT; trap 'exit 4' TERM; echo ready; ` + idleLoop, syscall.SIGINT, 3},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := startRole(t, Role{ChildExitCode: true, Quiet: true, Processes: []Process{
				{Name: "cmd", Argv: []string{"/bin/sh", "-c", c.script}, Essential: true, StopWithReceived: true}}})
			r.waitFor("cmd | ready")
			r.signals <- c.sig
			code, out := r.wait()
			if code != c.want {
				t.Fatalf("exit code %d, want %d; output:\n%s", code, c.want, out)
			}
			if strings.Contains(out, "entry: ") {
				t.Errorf("the tini model printed events on a clean run:\n%s", out)
			}
		})
	}
}

func TestStopEventsSayStoppedOrKilled(t *testing.T) {
	if testtool.Isolated(t) {
		return
	}
	// "killed" is for what entry's stop did not do: a forwarded signal the
	// process dies of, or the SIGKILL at stop_timeout.
	r := startRole(t, Role{Name: "web", Processes: []Process{
		{Name: "polite", Shell: `trap '' HUP; echo ready; ` + idleLoop, Essential: true},
		{Name: "hupped", Shell: `echo ready; ` + idleLoop, Essential: false},
		{Name: "stubborn", Shell: `trap '' HUP TERM; echo ready; ` + idleLoop, Essential: false, StopTimeout: 300 * time.Millisecond},
	}})
	r.waitFor("polite | ready", "hupped | ready", "stubborn | ready")
	// Only hupped lacks a HUP trap: as before, every process gets HUP, but
	// polite and stubborn must survive it.
	r.signals <- syscall.SIGHUP
	r.waitFor("entry: hupped: killed by SIGHUP (exit code 129)\n")
	r.signals <- syscall.SIGTERM
	code, out := r.wait()
	if code != 137 {
		t.Fatalf("exit code %d, want 137 (stubborn's SIGKILL); output:\n%s", code, out)
	}
	for _, s := range []string{"entry: polite: stopped (SIGTERM)\n", "entry: stubborn: killed by SIGKILL (exit code 137)\n"} {
		if !strings.Contains(out, s) {
			t.Errorf("missing %q in:\n%s", s, out)
		}
	}
}
