package cron

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/entryhq/entry/internal/testtool"
	"github.com/entryhq/entry/supervise"
)

// fakeClock is a Clock the test moves by hand.
type fakeClock struct {
	mu       sync.Mutex
	now      time.Time
	timers   []*fakeTimer
	advances int // how many times Advance moved the clock
}

type fakeTimer struct {
	c       chan time.Time
	at      time.Time
	done    bool
	clock   *fakeClock
	stopped bool
	since   int // the clock's advances when the timer was made
}

func (t *fakeTimer) C() <-chan time.Time { return t.c }
func (t *fakeTimer) Stop() bool {
	t.clock.mu.Lock()
	defer t.clock.mu.Unlock()
	was := !t.done
	t.done = true
	return was
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) NewTimer(d time.Duration) Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &fakeTimer{c: make(chan time.Time, 1), at: c.now.Add(d), clock: c, since: c.advances}
	if d <= 0 {
		t.done = true
		t.c <- c.now
		return t
	}
	c.timers = append(c.timers, t)
	return t
}

// waitTimers waits (bounded) until n timers are pending, so that an
// Advance cannot slip in before the service has armed a timer.
func (c *fakeClock) waitTimers(t *testing.T, n int) {
	t.Helper()
	testtool.Eventually(t, fmt.Sprintf("%d timers pending", n), func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		pending := 0
		for _, tm := range c.timers {
			if !tm.done {
				pending++
			}
		}
		return pending >= n
	})
}

// waitArmed waits (bounded) until a timer for at is pending that was made
// after the clock's last move: the scheduler has handled that move and gone
// back to sleep until at.
func (c *fakeClock) waitArmed(t *testing.T, at time.Time) {
	t.Helper()
	testtool.Eventually(t, fmt.Sprintf("the scheduler asleep until %s", at.Format(time.TimeOnly)), func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		for _, tm := range c.timers {
			if !tm.done && tm.since == c.advances && tm.at.Equal(at) {
				return true
			}
		}
		return false
	})
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.advances++
	c.now = c.now.Add(d)
	for _, t := range c.timers {
		if !t.done && !t.at.After(c.now) {
			t.done = true
			t.c <- c.now
		}
	}
}

// fakeChild is a child the test ends by hand; SIGKILL ends it, and so does
// its stop signal when exitOnStop is set.
type fakeChild struct {
	pid        int
	done       chan struct{}
	exit       supervise.ExitStatus
	once       sync.Once
	mu         sync.Mutex
	signals    []syscall.Signal
	exitOnStop bool
}

func (c *fakeChild) Pid() int              { return c.pid }
func (c *fakeChild) Done() <-chan struct{} { return c.done }
func (c *fakeChild) Exit() supervise.ExitStatus {
	return c.exit
}
func (c *fakeChild) end(st supervise.ExitStatus) {
	c.once.Do(func() { c.exit = st; close(c.done) })
}
func (c *fakeChild) Signal(sig syscall.Signal) error {
	c.mu.Lock()
	c.signals = append(c.signals, sig)
	stop := c.exitOnStop
	c.mu.Unlock()
	if sig == syscall.SIGKILL || stop {
		c.end(supervise.ExitStatus{Code: 128 + int(sig), Signal: sig})
	}
	return nil
}
func (c *fakeChild) received() []syscall.Signal {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]syscall.Signal(nil), c.signals...)
}

// fakeSpawner records what the service starts and logs.
type fakeSpawner struct {
	mu       sync.Mutex
	commands []supervise.Command
	logs     []string
	spawned  chan *fakeChild
	// quick makes every child exit 0 as soon as it starts.
	quick      bool
	exitOnStop bool
	// hold, when set, makes Spawn of a command wait until the channel it
	// returns for it is closed (nil: no wait): a slow fork.
	hold func(supervise.Command) chan struct{}
}

func newFakeSpawner() *fakeSpawner { return &fakeSpawner{spawned: make(chan *fakeChild, 100)} }

func (s *fakeSpawner) Spawn(c supervise.Command) (supervise.Child, error) {
	if s.hold != nil {
		if wait := s.hold(c); wait != nil {
			<-wait
		}
	}
	s.mu.Lock()
	s.commands = append(s.commands, c)
	ch := &fakeChild{pid: 1000 + len(s.commands), done: make(chan struct{}), exitOnStop: s.exitOnStop}
	s.mu.Unlock()
	if s.quick {
		ch.end(supervise.ExitStatus{})
	}
	s.spawned <- ch
	return ch, nil
}

func (s *fakeSpawner) Logf(format string, args ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.logs = append(s.logs, fmt.Sprintf(format, args...))
}

func (s *fakeSpawner) log() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Join(s.logs, "\n")
}

// waitLog waits (bounded) until the log contains want.
func (s *fakeSpawner) waitLog(t *testing.T, want string) {
	t.Helper()
	testtool.Eventually(t, fmt.Sprintf("log line %q", want), func() bool { return strings.Contains(s.log(), want) }, s.log)
}

func (s *fakeSpawner) next(t *testing.T) *fakeChild {
	t.Helper()
	select {
	case c := <-s.spawned:
		// The service logs the start after it has noted the start time:
		// the test must not move the clock before that.
		s.waitLog(t, fmt.Sprintf("started pid %d ", c.pid))
		return c
	case <-time.After(testtool.Patience):
		t.Fatalf("no run started within %s; log:\n%s", testtool.Patience, s.log())
		return nil
	}
}

// noneUntil asserts that the scheduler starts no run before next: it waits
// until the scheduler has armed its timer for next, after the clock's last
// move, and then no run may have been spawned (the scheduler starts the runs
// due at a wake-up before it sleeps again). Nothing depends on how long a
// loaded machine takes.
func (s *fakeSpawner) noneUntil(t *testing.T, clock *fakeClock, next time.Time) {
	t.Helper()
	clock.waitArmed(t, next)
	s.none(t)
}

// none asserts that no run was spawned since the test last took one; once
// Run has returned, or the scheduler is known to be asleep.
func (s *fakeSpawner) none(t *testing.T) {
	t.Helper()
	select {
	case <-s.spawned:
		t.Fatalf("an unexpected run started; log:\n%s", s.log())
	default:
	}
}

// at is a time on the fake clock's day.
func at(hour, min, sec int) time.Time { return time.Date(2026, 1, 30, hour, min, sec, 0, time.UTC) }

// startService runs a Service over crontab text with a fake clock at
// 2026-01-30 10:00:00.5 UTC; stop cancels it and returns Run's error.
func startService(t *testing.T, text string, sp *fakeSpawner) (*fakeClock, func() error) {
	t.Helper()
	tab, err := Parse("crontab", []byte(text), "UTC")
	if err != nil {
		t.Fatal(err)
	}
	clock := &fakeClock{now: time.Date(2026, 1, 30, 10, 0, 0, 500e6, time.UTC)}
	svc := &Service{Crontab: tab, Clock: clock, StopTimeout: 10 * time.Second}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- svc.Run(ctx, sp) }()
	sp.waitLog(t, "next run")
	stop := func() error {
		cancel()
		select {
		case err := <-errc:
			return err
		case <-time.After(testtool.Patience):
			t.Fatalf("Run did not return within %s of cancel; log:\n%s", testtool.Patience, sp.log())
			return nil
		}
	}
	t.Cleanup(func() { cancel() })
	return clock, stop
}

func TestServiceRunsOnSchedule(t *testing.T) {
	sp := newFakeSpawner()
	sp.quick = true
	clock, stop := startService(t, "FOO=bar\n# tick\n*/1 * * * * * * echo tick\n", sp)
	sp.noneUntil(t, clock, at(10, 0, 1))
	for i := range 5 {
		clock.Advance(time.Second)
		sp.next(t)
		sp.waitLog(t, fmt.Sprintf("tick: pid %d exited with code 0", 1001+i))
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	c := sp.commands[0]
	if c.Name != "cron:tick" || c.Shell != "echo tick" || strings.Join(c.Env, " ") != "FOO=bar" {
		t.Errorf("command %+v", c)
	}
	for _, want := range []string{
		`tick: "*/1 * * * * * *" in UTC, next run 2026-01-30 10:00:01 UTC`,
		"tick: started pid 1001 (due 2026-01-30 10:00:01 UTC)",
		"tick: started pid 1005 (due 2026-01-30 10:00:05 UTC)",
	} {
		if !strings.Contains(sp.log(), want) {
			t.Errorf("log lacks %q:\n%s", want, sp.log())
		}
	}
}

func TestServiceSlowStartDelaysNoOtherJob(t *testing.T) {
	// The first job's spawn takes as long as the test likes (a burst of
	// hundreds of due jobs, a slow fork): the job below it must still
	// start on time, every second, and never be reported as missed.
	sp := newFakeSpawner()
	sp.quick = true
	release := make(chan struct{})
	sp.hold = func(c supervise.Command) chan struct{} {
		if c.Name == "cron:slow" {
			return release
		}
		return nil
	}
	clock, stop := startService(t, "# slow\n*/1 * * * * * * true\n# tick\n*/1 * * * * * * echo tick\n", sp)
	for i := range 3 {
		clock.Advance(time.Second)
		c := sp.next(t)
		sp.waitLog(t, fmt.Sprintf("tick: pid %d exited with code 0", c.pid))
		if i > 0 {
			sp.waitLog(t, fmt.Sprintf("slow: skipped the run due 2026-01-30 10:00:0%d UTC: the previous run (still starting) is still going", i+1))
		}
	}
	close(release)
	sp.next(t)
	sp.waitLog(t, "slow: pid 1004 exited with code 0")
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(sp.log(), "missed") {
		t.Errorf("a run was reported missed:\n%s", sp.log())
	}
	if n := strings.Count(sp.log(), "tick: started pid"); n != 3 {
		t.Errorf("tick started %d times, want 3:\n%s", n, sp.log())
	}
}

func TestServiceSkipsOverlap(t *testing.T) {
	sp := newFakeSpawner()
	clock, stop := startService(t, "# slow\n*/1 * * * * * * sleep 10\n", sp)
	clock.Advance(time.Second)
	first := sp.next(t)
	clock.Advance(time.Second)
	sp.waitLog(t, "slow: skipped the run due 2026-01-30 10:00:02 UTC: the previous run (pid 1001, started 2026-01-30 10:00:01.500 UTC) is still going")
	clock.Advance(time.Second)
	sp.waitLog(t, "skipped the run due 2026-01-30 10:00:03 UTC")
	sp.noneUntil(t, clock, at(10, 0, 4))
	first.end(supervise.ExitStatus{Code: 3})
	sp.waitLog(t, "slow: pid 1001 exited with code 3 after 2s")
	clock.Advance(time.Second)
	sp.next(t).end(supervise.ExitStatus{})
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}

func TestServiceOverlapAllowed(t *testing.T) {
	sp := newFakeSpawner()
	clock, stop := startService(t, "# entry: overlap=allow\n*/1 * * * * * * sleep 10\n", sp)
	clock.Advance(time.Second)
	a := sp.next(t)
	clock.Advance(time.Second)
	b := sp.next(t)
	a.end(supervise.ExitStatus{})
	b.end(supervise.ExitStatus{})
	sp.waitLog(t, "pid 1002 exited")
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(sp.log(), "skipped") {
		t.Errorf("overlap=allow skipped a run:\n%s", sp.log())
	}
}

func TestServiceTimeout(t *testing.T) {
	sp := newFakeSpawner()
	clock, stop := startService(t, "# report\n# entry: timeout=5s\n0 1 10 * * * * ./report\n", sp)
	clock.Advance(9 * time.Minute)
	c := sp.next(t)
	clock.waitTimers(t, 2) // the next run and the timeout
	clock.Advance(5 * time.Second)
	sp.waitLog(t, "report: still running after its timeout of 5s; sending SIGTERM to pid 1001's process group")
	clock.waitTimers(t, 2) // the next run and the stop timeout
	clock.Advance(10 * time.Second)
	sp.waitLog(t, "report: pid 1001 still running 10s after SIGTERM; sending SIGKILL to its process group")
	sp.waitLog(t, "report: pid 1001 killed by SIGKILL after 15s (exit code 137)")
	if got := fmt.Sprint(c.received()); got != "[terminated continued killed]" {
		t.Errorf("signals %s, want TERM, CONT (for a suspended job), then KILL", got)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}

func TestServiceShutdownStopsRunsAndStartsNoMore(t *testing.T) {
	sp := newFakeSpawner()
	sp.exitOnStop = true
	clock, stop := startService(t, "# tick\n*/1 * * * * * * sleep 10\n@reboot echo boot\n", sp)
	boot := sp.next(t)
	boot.end(supervise.ExitStatus{})
	sp.waitLog(t, "line3: pid 1001 exited with code 0")
	clock.Advance(time.Second)
	c := sp.next(t)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(c.received()); got != "[terminated continued]" {
		t.Errorf("signals %s, want TERM then CONT", got)
	}
	for _, want := range []string{
		"line3: @reboot: running once now",
		"stopping: no new runs; stopping 1 running job(s) (SIGTERM, then SIGKILL after 10s)",
		"tick: entry is stopping; sending SIGTERM to pid 1002's process group",
		"tick: pid 1002 stopped (SIGTERM) after 0s",
	} {
		if !strings.Contains(sp.log(), want) {
			t.Errorf("log lacks %q:\n%s", want, sp.log())
		}
	}
	clock.Advance(5 * time.Second)
	sp.none(t) // Run has returned: nothing can start any more
}

func TestServiceDoesNotReplayMissedRuns(t *testing.T) {
	sp := newFakeSpawner()
	sp.quick = true
	clock, stop := startService(t, "# tick\n*/1 * * * * * * echo\n", sp)
	clock.Advance(10 * time.Second) // the host was suspended, say
	sp.next(t)
	sp.waitLog(t, "tick: missed 9 run(s) between 2026-01-30 10:00:01 UTC and 2026-01-30 10:00:10.500 UTC (entry was busy or the clock jumped); not replaying them")
	sp.noneUntil(t, clock, at(10, 0, 11))
	clock.Advance(time.Second)
	sp.next(t)
	sp.waitLog(t, "started pid 1002 (due 2026-01-30 10:00:11 UTC)")
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}

func TestServiceShellFromCrontab(t *testing.T) {
	sp := newFakeSpawner()
	sp.quick = true
	clock, stop := startService(t, "SHELL=/bin/bash\n*/1 * * * * * * echo $BASH_VERSION\n", sp)
	clock.Advance(time.Second)
	sp.next(t)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(sp.commands[0].Argv); got != "[/bin/bash -c echo $BASH_VERSION]" || sp.commands[0].Shell != "" {
		t.Errorf("command %+v", sp.commands[0])
	}
}

// procSpawner starts real process groups for the real-clock tests. The
// test owns these children, so it may wait for them itself; the test's
// cleanup kills every group it started.
type procSpawner struct {
	fakeSpawner
	pgids []int
}

type procChild struct {
	cmd  *exec.Cmd
	done chan struct{}
	exit supervise.ExitStatus
}

func (c *procChild) Pid() int                        { return c.cmd.Process.Pid }
func (c *procChild) Done() <-chan struct{}           { return c.done }
func (c *procChild) Exit() supervise.ExitStatus      { return c.exit }
func (c *procChild) Signal(sig syscall.Signal) error { return syscall.Kill(-c.cmd.Process.Pid, sig) }

func (s *procSpawner) Spawn(c supervise.Command) (supervise.Child, error) {
	cmd := exec.Command("/bin/sh", "-c", c.Shell)
	cmd.Env = append(os.Environ(), c.Env...)
	cmd.Dir = c.Dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.pgids = append(s.pgids, cmd.Process.Pid)
	s.mu.Unlock()
	ch := &procChild{cmd: cmd, done: make(chan struct{})}
	go func() {
		cmd.Wait()
		ws := cmd.ProcessState.Sys().(syscall.WaitStatus)
		ch.exit = supervise.ExitStatus{Code: ws.ExitStatus()}
		if ws.Signaled() {
			ch.exit = supervise.ExitStatus{Code: 128 + int(ws.Signal()), Signal: ws.Signal()}
		}
		close(ch.done)
	}()
	return ch, nil
}

// runReal runs the service over crontab text on the real clock until
// stopWhen holds (waiting for it at most testtool.Patience, failing with
// what), then cancels it and waits for Run to return. It returns the
// spawner, whose log tells what the service did.
func runReal(t *testing.T, text, what string, stopWhen func(*procSpawner) bool, stopTimeout time.Duration) *procSpawner {
	t.Helper()
	tab, err := Parse("crontab", []byte(text), "UTC")
	if err != nil {
		t.Fatal(err)
	}
	sp := &procSpawner{}
	t.Cleanup(func() {
		sp.mu.Lock()
		defer sp.mu.Unlock()
		for _, pgid := range sp.pgids {
			syscall.Kill(-pgid, syscall.SIGKILL)
		}
	})
	svc := &Service{Crontab: tab, StopTimeout: stopTimeout}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- svc.Run(ctx, sp) }()
	if !testtool.Poll(testtool.Patience, func() bool { return stopWhen(sp) }) {
		t.Errorf("%s: not within %s; log:\n%s", what, testtool.Patience, sp.log())
	}
	cancel()
	select {
	case err := <-errc:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(stopTimeout + testtool.Patience):
		t.Fatalf("Run did not return within %s of the stop; log:\n%s", stopTimeout+testtool.Patience, sp.log())
	}
	return sp
}

// fileCount returns a stopWhen for runReal: file holds n lines or more.
func fileCount(file string, n int) func(*procSpawner) bool {
	return func(*procSpawner) bool {
		data, _ := os.ReadFile(file)
		return strings.Count(string(data), "\n") >= n
	}
}

var dueRE = regexp.MustCompile(`started pid \d+ \(due ([^;)]+)`)

func TestRealClockEverySecond(t *testing.T) {
	t.Parallel()
	out := filepath.Join(t.TempDir(), "out")
	sp := runReal(t, "*/1 * * * * * * echo run >> "+out+"\n", "three runs", fileCount(out, 3), time.Second)
	data, _ := os.ReadFile(out)
	if n := strings.Count(string(data), "run"); n < 3 {
		t.Errorf("%d runs, want 3 or more; log:\n%s", n, sp.log())
	}
	// Each run is due a whole number of seconds after the previous one (a
	// busy machine may make the service skip some, never run one twice).
	var dues []time.Time
	for _, m := range dueRE.FindAllStringSubmatch(sp.log(), -1) {
		due, err := time.Parse("2006-01-02 15:04:05 MST", m[1])
		if err != nil {
			t.Fatalf("due time %q: %v", m[1], err)
		}
		dues = append(dues, due)
	}
	if len(dues) < 3 {
		t.Fatalf("%d runs started, want 3 or more; log:\n%s", len(dues), sp.log())
	}
	for i := 1; i < len(dues); i++ {
		if d := dues[i].Sub(dues[i-1]); d < time.Second || d%time.Second != 0 {
			t.Errorf("run %d due %s after the previous one, want whole seconds; log:\n%s", i+1, d, sp.log())
		}
	}
}

func TestRealClockSlowJobNotOverlapped(t *testing.T) {
	t.Parallel()
	out := filepath.Join(t.TempDir(), "out")
	sp := runReal(t, "*/1 * * * * * * echo start >> "+out+"; sleep 1.5; echo end >> "+out+"\n",
		"two runs and a skipped one", func(sp *procSpawner) bool {
			data, _ := os.ReadFile(out)
			return strings.Count(string(data), "end") >= 2 && strings.Contains(sp.log(), "skipped the run")
		}, 3*time.Second)
	data, _ := os.ReadFile(out)
	lines := strings.Fields(string(data))
	for i := 1; i < len(lines); i++ {
		if lines[i] == lines[i-1] {
			t.Fatalf("runs overlapped: %q; log:\n%s", lines, sp.log())
		}
	}
}

func TestRealClockStopWaitsForRun(t *testing.T) {
	t.Parallel()
	out := filepath.Join(t.TempDir(), "out")
	// The stop comes once the job's trap is armed; the stop timeout is far
	// beyond the test's patience, so only the trap can end the run in time.
	job := `trap 'sleep 0.3; echo cleaned >> ` + out + `; exit 0' TERM; echo started >> ` + out + `; sleep 300 & wait`
	sp := runReal(t, "@reboot "+job+"\n", "the job started", fileCount(out, 1), 10*time.Minute)
	data, _ := os.ReadFile(out)
	if string(data) != "started\ncleaned\n" {
		t.Errorf("job wrote %q, want started and cleaned; log:\n%s", data, sp.log())
	}
	if !strings.Contains(sp.log(), "exited with code 0") {
		t.Errorf("log:\n%s", sp.log())
	}
}

func TestRealClockStopKillsAfterTimeout(t *testing.T) {
	t.Parallel()
	out := filepath.Join(t.TempDir(), "out")
	sp := runReal(t, "@reboot trap '' TERM; echo armed >> "+out+"; sleep 300\n", "the job ignoring TERM", fileCount(out, 1), 500*time.Millisecond)
	if !strings.Contains(sp.log(), "still running 500ms after SIGTERM; sending SIGKILL") || !strings.Contains(sp.log(), "killed by SIGKILL") {
		t.Errorf("log:\n%s", sp.log())
	}
}
