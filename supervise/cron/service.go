package cron

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"syscall"
	"time"

	"github.com/entryhq/entry/internal/signame"
	"github.com/entryhq/entry/supervise"
)

// DefaultStopTimeout is how long running jobs get between the stop signal
// and SIGKILL when the process sets no stop_timeout: the supervisor's
// default, which leaves room inside ECS's 30s stop timeout.
const DefaultStopTimeout = supervise.DefaultStopTimeout

// maxSleep caps one sleep of the scheduler so that a step of the wall clock
// (an NTP correction, a resumed host) is noticed within a minute, when the
// kernel cannot tell of steps (see watchClockSteps).
const maxSleep = time.Minute

// maxSleepWatched caps one sleep when clock steps are told: a slewing NTP
// (at most 500 ppm) moves the wall clock away from the monotonic one the
// timer counts by at most 1.8 s in an hour.
const maxSleepWatched = time.Hour

// spawnSlots is how many runs are spawned at once: a spawn mostly waits
// for the kernel (fork, then exec of the shell), so a few per core keep the
// machine busy during a burst without hundreds of goroutines competing with
// the scheduler's loop.
var spawnSlots = max(4, 2*runtime.GOMAXPROCS(0))

// A Clock is the scheduler's source of time; tests inject a fake one.
type Clock interface {
	Now() time.Time
	NewTimer(d time.Duration) Timer
}

// A Timer fires once on C after its duration.
type Timer interface {
	C() <-chan time.Time
	Stop() bool
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }
func (realClock) NewTimer(d time.Duration) Timer {
	return realTimer{time.NewTimer(d)}
}

type realTimer struct{ t *time.Timer }

func (t realTimer) C() <-chan time.Time { return t.t.C }
func (t realTimer) Stop() bool          { return t.t.Stop() }

// A Service runs a crontab's jobs as a supervise.Service: each run is a
// child process group started through the supervisor's Spawner.
type Service struct {
	Crontab *Crontab
	// StopSignal is sent to running jobs on stop and on timeout; 0 means
	// SIGTERM.
	StopSignal syscall.Signal
	// StopTimeout is the wait between StopSignal and SIGKILL; 0 means
	// DefaultStopTimeout.
	StopTimeout time.Duration
	// Clock is nil for the real clock.
	Clock Clock

	mu   sync.Mutex                       // guards sc and last (entry ctl reads them)
	sc   *scheduler                       // the running scheduler, for entry ctl
	last map[string]*supervise.JobOutcome // each job's last outcome
}

// A jobState is the scheduler's view of one job.
type jobState struct {
	job     *Job
	next    time.Time
	note    string
	running []*run
}

// A run is one execution of a job, from the moment the scheduler decides
// to start it.
type run struct {
	state *jobState
	due   time.Time

	mu      sync.Mutex // child and started are set by the run's goroutine
	child   supervise.Child
	started time.Time

	// stopSent is the stop signal stop sent, and killed whether it had
	// to send SIGKILL after it; both are set in the run's goroutine
	// before its end is reported.
	stopSent syscall.Signal
	killed   bool

	// An entry ctl run: told when the process started and when it ended.
	byHand   bool
	onStart  func(pid int, err error)
	onEnd    func(supervise.JobOutcome)
	spawnErr error // set before the end is reported
	timedOut bool  // stopped because it ran past the job's timeout
}

// startedAs returns the run's child and start time; a nil child while it is
// still being started.
func (r *run) startedAs() (supervise.Child, time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.child, r.started
}

// A runEnd reports a finished run to the scheduler loop.
type runEnd struct {
	run        *run
	exit       supervise.ExitStatus
	notStarted bool // the spawn failed, or the role stopped first
}

// scheduler is one Run of a Service.
type scheduler struct {
	*Service
	clock       Clock
	sp          supervise.Spawner
	stopSignal  syscall.Signal
	stopTimeout time.Duration
	stopping    chan struct{} // closed when the role stops
	spawning    chan struct{} // a slot for each spawn in progress
	ended       chan runEnd
	active      int
	control     chan controlReq // entry ctl requests
	done        chan struct{}   // closed when the loop has returned
}

// Run schedules the jobs until ctx is cancelled, then stops running jobs
// (stop signal, stop timeout, SIGKILL) and returns once all have exited.
// Runs missed while entry was not running, or while the clock jumped, are
// not replayed. @reboot jobs run once, at the start of Run.
func (s *Service) Run(ctx context.Context, sp supervise.Spawner) error {
	sc := &scheduler{
		Service:     s,
		clock:       s.Clock,
		sp:          sp,
		stopSignal:  s.StopSignal,
		stopTimeout: s.StopTimeout,
		stopping:    make(chan struct{}),
		spawning:    make(chan struct{}, spawnSlots),
		ended:       make(chan runEnd),
		control:     make(chan controlReq),
		done:        make(chan struct{}),
	}
	if sc.clock == nil {
		sc.clock = realClock{}
	}
	if sc.stopSignal == 0 {
		sc.stopSignal = syscall.SIGTERM
	}
	if sc.stopTimeout <= 0 {
		sc.stopTimeout = DefaultStopTimeout
	}
	s.attach(sc)
	defer s.detach(sc)
	defer close(sc.done)
	return sc.loop(ctx)
}

func (sc *scheduler) loop(ctx context.Context) error {
	var steps <-chan struct{}
	longest := maxSleep
	if _, real := sc.clock.(realClock); real {
		var stop func()
		if steps, stop = watchClockSteps(); steps != nil {
			defer stop()
			longest = maxSleepWatched
		}
	}
	now := sc.clock.Now()
	var states []*jobState
	for _, j := range sc.Crontab.Jobs {
		st := &jobState{job: j}
		states = append(states, st)
		switch {
		case j.Reboot:
			sc.event(supervise.Fields{Event: "cron_scheduled", Job: j.Name, Next: now.In(j.loc)}, "%s: @reboot: running once now", j.Name)
			sc.start(st, now.In(j.loc), "")
			continue
		}
		st.next, st.note = j.NextWithNote(now)
		if st.next.IsZero() {
			sc.sp.Logf("%s: %q never runs again; ignoring it", j.Name, j.Schedule)
			continue
		}
		sc.event(supervise.Fields{Event: "cron_scheduled", Job: j.Name, Next: st.next}, "%s: %q in %s, next run %s", j.Name, j.Schedule, j.loc, stamp(st.next))
	}

	for {
		earliest := time.Time{}
		for _, st := range states {
			if !st.next.IsZero() && (earliest.IsZero() || st.next.Before(earliest)) {
				earliest = st.next
			}
		}
		var wake <-chan time.Time
		var timer Timer
		if !earliest.IsZero() {
			timer = sc.clock.NewTimer(min(earliest.Sub(sc.clock.Now()), longest))
			wake = timer.C()
		}
		select {
		case <-ctx.Done():
			if timer != nil {
				timer.Stop()
			}
			return sc.shutdown()
		case e := <-sc.ended:
			if timer != nil {
				timer.Stop()
			}
			sc.finish(e)
		case req := <-sc.control:
			if timer != nil {
				timer.Stop()
			}
			sc.onControl(req, states)
		case <-steps:
			// The wall clock was set: sleep again, measured from the new
			// time (runs it skipped are found due at once, and reported).
			if timer != nil {
				timer.Stop()
			}
		case <-wake:
			now := sc.clock.Now()
			for _, st := range states {
				if st.next.IsZero() || st.next.After(now) {
					continue
				}
				sc.fire(st, st.next, st.note)
				sc.advance(st, now)
			}
		}
	}
}

// advance sets st's next run after the one just due, skipping (and
// logging) any runs whose time has already passed.
func (sc *scheduler) advance(st *jobState, now time.Time) {
	due := st.next
	next, note := st.job.NextWithNote(due)
	missed := 0
	for !next.IsZero() && !next.After(now) && missed < 1000 {
		missed++
		next, note = st.job.NextWithNote(next)
	}
	if missed > 0 {
		next, note = st.job.NextWithNote(now)
		sc.event(supervise.Fields{Event: "cron_missed", Job: st.job.Name, Due: due, Outcome: "missed"},
			"%s: missed %d run(s) between %s and %s (entry was busy or the clock jumped); not replaying them",
			st.job.Name, missed, stamp(due), stamp(now))
	}
	st.next, st.note = next, note
}

// fire starts a due run unless the previous one is still going.
func (sc *scheduler) fire(st *jobState, due time.Time, note string) {
	if len(st.running) > 0 && !st.job.Overlap {
		prev := "the previous run (still starting)"
		if child, started := st.running[0].startedAs(); child != nil {
			prev = fmt.Sprintf("the previous run (pid %d, started %s)", child.Pid(), stamp(started.In(st.job.loc)))
		}
		sc.event(supervise.Fields{Event: "cron_skipped", Job: st.job.Name, Due: due, Outcome: "skipped"},
			"%s: skipped the run due %s: %s is still going (\"# entry: overlap=allow\" above the job allows overlapping runs)",
			st.job.Name, stamp(due), prev)
		sc.recordSkip(st, due, prev+" was still going")
		return
	}
	sc.start(st, due, note)
}

// start starts a run of st on a goroutine of its own, which then watches
// it. The loop never waits for a spawn, so it keeps to the schedule during
// a burst of due jobs (400 due the same minute): a job due a second later
// is started, not reported missed, once the spawns queued before it are
// done, and those run spawnSlots at a time (in due order: a channel serves
// its waiters first come, first served).
func (sc *scheduler) start(st *jobState, due time.Time, note string) {
	sc.launch(&run{state: st, due: due}, note)
}

// launch starts r (see start).
func (sc *scheduler) launch(r *run, note string) {
	st := r.state
	st.running = append(st.running, r)
	sc.active++
	go sc.run(r, note)
}

// run spawns r's child, logs the start, and watches it until it ends.
func (sc *scheduler) run(r *run, note string) {
	j, due := r.state.job, r.due
	select {
	case <-sc.stopping:
		sc.ended <- runEnd{run: r, notStarted: true}
		return
	case sc.spawning <- struct{}{}:
	}
	cmd := supervise.Command{
		Name: "cron:" + j.Name,
		Env:  j.Env,
	}
	if j.Shell != "" && j.Shell != "/bin/sh" {
		cmd.Argv = []string{j.Shell, "-c", j.Command}
	} else {
		cmd.Shell = j.Command
	}
	child, err := sc.sp.Spawn(cmd)
	<-sc.spawning
	r.spawned(child, err)
	if err != nil {
		sc.event(supervise.Fields{Event: "cron_failed", Job: j.Name, Due: due, Outcome: "not_started"},
			"%s: cannot start the run due %s: %v", j.Name, stamp(due), err)
		sc.ended <- runEnd{run: r, notStarted: true}
		return
	}
	r.mu.Lock()
	r.child, r.started = child, sc.clock.Now()
	r.mu.Unlock()
	started := supervise.Fields{Event: "cron_run", Job: j.Name, Due: due, Pid: child.Pid()}
	if note != "" {
		sc.event(started, "%s: started pid %d (due %s; %s)", j.Name, child.Pid(), stamp(due), note)
	} else {
		sc.event(started, "%s: started pid %d (due %s)", j.Name, child.Pid(), stamp(due))
	}
	sc.watch(r)
}

// watch waits for r's child to exit, stopping it on timeout or when the
// role stops, and reports the end to the loop.
func (sc *scheduler) watch(r *run) {
	var timeout <-chan time.Time
	if d := r.state.job.Timeout; d > 0 {
		t := sc.clock.NewTimer(d)
		defer t.Stop()
		timeout = t.C()
	}
	select {
	case <-r.child.Done():
	case <-timeout:
		r.timedOut = true
		sc.stop(r, fmt.Sprintf("still running after its timeout of %s", r.state.job.Timeout))
	case <-sc.stopping:
		sc.stop(r, "entry is stopping")
	}
	sc.ended <- runEnd{run: r, exit: r.child.Exit()}
}

// stop sends the stop signal to r's process group, then SIGKILL after the
// stop timeout, and waits for the child to exit.
func (sc *scheduler) stop(r *run, why string) {
	name, pid := r.state.job.Name, r.child.Pid()
	sc.sp.Logf("%s: %s; sending %s to pid %d's process group", name, why, signame.String(sc.stopSignal), pid)
	r.stopSent = sc.stopSignal
	if err := supervise.StopGroup(r.child, sc.stopSignal); err != nil {
		sc.sp.Logf("%s: signalling pid %d: %v", name, pid, err)
	}
	grace := sc.clock.NewTimer(sc.stopTimeout)
	defer grace.Stop()
	select {
	case <-r.child.Done():
		return
	case <-grace.C():
	}
	sc.sp.Logf("%s: pid %d still running %s after %s; sending SIGKILL to its process group", name, pid, sc.stopTimeout, signame.String(sc.stopSignal))
	r.killed = true
	if err := r.child.Signal(syscall.SIGKILL); err != nil {
		sc.sp.Logf("%s: killing pid %d: %v", name, pid, err)
	}
	<-r.child.Done()
}

// finish logs a run's end and forgets it.
func (sc *scheduler) finish(e runEnd) {
	r := e.run
	st := r.state
	for i, x := range st.running {
		if x == r {
			st.running = append(st.running[:i], st.running[i+1:]...)
			break
		}
	}
	sc.active--
	sc.recordEnd(e)
	if e.notStarted {
		return
	}
	took := sc.clock.Now().Sub(r.started).Round(100 * time.Microsecond)
	exit := e.exit
	f := supervise.Fields{Job: st.job.Name, Due: r.due, Pid: r.child.Pid(), Exit: &exit, Duration: took}
	f.Outcome, _ = outcomeOf(r, exit)
	switch f.Outcome {
	case "ok":
		f.Event = "cron_ok"
	case "stopped":
		f.Event = "cron_stopped"
	default:
		f.Event = "cron_failed"
	}
	switch {
	case stoppedAsAsked(r, exit):
		sc.event(f, "%s: pid %d stopped (%s) after %s", st.job.Name, r.child.Pid(), signame.String(r.stopSent), took)
	case exit.Signal != 0:
		sc.event(f, "%s: pid %d killed by %s after %s (exit code %d)", st.job.Name, r.child.Pid(), signame.String(exit.Signal), took, exit.Code)
	default:
		sc.event(f, "%s: pid %d exited with code %d after %s", st.job.Name, r.child.Pid(), exit.Code, took)
	}
}

// event writes one of the scheduler's events, with its fields when the
// spawner takes them (the supervisor's does).
func (sc *scheduler) event(f supervise.Fields, format string, args ...any) {
	if el, ok := sc.sp.(supervise.EventLogger); ok {
		el.Event(f, format, args...)
		return
	}
	sc.sp.Logf(format, args...)
}

// shutdown stops every running job and waits until all have exited.
func (sc *scheduler) shutdown() error {
	close(sc.stopping)
	if sc.active > 0 {
		sc.sp.Logf("stopping: no new runs; stopping %d running job(s) (%s, then SIGKILL after %s)", sc.active, signame.String(sc.stopSignal), sc.stopTimeout)
	}
	for sc.active > 0 {
		sc.finish(<-sc.ended)
	}
	return nil
}

// stamp formats a run time for the log, in the job's zone.
// stamp prints a run's time; @every schedules count from the role's start,
// so their due times carry milliseconds, which are kept rather than cut.
func stamp(t time.Time) string {
	if t.Nanosecond() >= int(time.Millisecond) {
		return t.Format("2006-01-02 15:04:05.000 MST")
	}
	return t.Format("2006-01-02 15:04:05 MST")
}
