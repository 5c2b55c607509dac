package cron

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/entryhq/entry/internal/signame"
	"github.com/entryhq/entry/supervise"
)

// Service is a supervise.JobService: entry ctl lists its jobs and runs one
// now.
var _ supervise.JobService = (*Service)(nil)

// A controlReq is an entry ctl request handed to the scheduler's loop,
// which owns the jobs' state.
type controlReq struct {
	list chan []supervise.JobStatus // list the jobs, or
	run  *runNow                    // run one now
}

// runNow is an entry ctl run on its way to the loop.
type runNow struct {
	name    string
	overlap bool
	started func(pid int, err error)
	ended   func(supervise.JobOutcome)
	reply   chan error // whether the run was started
}

// attach makes sc the service's running scheduler; detach forgets it.
func (s *Service) attach(sc *scheduler) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sc = sc
	if s.last == nil {
		s.last = map[string]*supervise.JobOutcome{}
	}
}

func (s *Service) detach(sc *scheduler) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sc == sc {
		s.sc = nil
	}
}

func (s *Service) running() *scheduler {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sc
}

// lastOutcome returns a copy of job name's last outcome, or nil. Outcomes
// outlive a scheduler's run: a restart of the cron process keeps them.
func (s *Service) lastOutcome(name string) *supervise.JobOutcome {
	s.mu.Lock()
	defer s.mu.Unlock()
	if o := s.last[name]; o != nil {
		c := *o
		return &c
	}
	return nil
}

func (s *Service) setLast(name string, o supervise.JobOutcome) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.last == nil {
		s.last = map[string]*supervise.JobOutcome{}
	}
	s.last[name] = &o
}

// ask hands req to sc's loop; false when the loop is stopping or has
// ended, or ctx is done first.
func (sc *scheduler) ask(ctx context.Context, req controlReq) bool {
	select {
	case sc.control <- req:
		return true
	case <-sc.stopping: // shutting down: the loop waits for its runs, not for requests
	case <-sc.done:
	case <-ctx.Done():
	}
	return false
}

// Jobs describes each job: from the running scheduler when there is one,
// else from the crontab (no next run, nothing running).
func (s *Service) Jobs(ctx context.Context) []supervise.JobStatus {
	if sc := s.running(); sc != nil {
		list := make(chan []supervise.JobStatus, 1)
		if sc.ask(ctx, controlReq{list: list}) {
			select {
			case jobs := <-list:
				return jobs
			case <-ctx.Done():
			}
		}
	}
	jobs := make([]supervise.JobStatus, len(s.Crontab.Jobs))
	for i, j := range s.Crontab.Jobs {
		jobs[i] = supervise.JobStatus{Name: j.Name, Schedule: j.Schedule, Last: s.lastOutcome(j.Name)}
	}
	return jobs
}

// RunJob runs job name now (see supervise.JobService).
func (s *Service) RunJob(ctx context.Context, name string, overlap bool, started func(int, error), ended func(supervise.JobOutcome)) error {
	found := false
	for _, j := range s.Crontab.Jobs {
		found = found || j.Name == name
	}
	if !found {
		return fmt.Errorf("no job %q in %s (jobs: %s)", name, s.Crontab.Path, strings.Join(s.jobNames(), ", "))
	}
	sc := s.running()
	if sc == nil {
		return errors.New("the cron scheduler is not running")
	}
	req := &runNow{name: name, overlap: overlap, started: started, ended: ended, reply: make(chan error, 1)}
	if !sc.ask(ctx, controlReq{run: req}) {
		return errors.New("the cron scheduler is stopping")
	}
	select {
	case err := <-req.reply:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// JobNames lists the crontab's jobs, in order, without asking the
// scheduler.
func (s *Service) JobNames() []string { return s.jobNames() }

func (s *Service) jobNames() []string {
	names := make([]string, len(s.Crontab.Jobs))
	for i, j := range s.Crontab.Jobs {
		names[i] = j.Name
	}
	return names
}

// onControl answers an entry ctl request in the loop.
func (sc *scheduler) onControl(req controlReq, states []*jobState) {
	if req.list != nil {
		jobs := make([]supervise.JobStatus, len(states))
		for i, st := range states {
			js := supervise.JobStatus{Name: st.job.Name, Schedule: st.job.Schedule, Last: sc.lastOutcome(st.job.Name)}
			if !st.next.IsZero() {
				next := st.next
				js.Next = &next
			}
			for _, r := range st.running {
				if child, began := r.startedAs(); child != nil {
					js.Running = append(js.Running, supervise.JobRun{Pid: child.Pid(), StartedAt: began, ByHand: r.byHand})
				}
			}
			jobs[i] = js
		}
		req.list <- jobs
		return
	}
	rn := req.run
	var st *jobState
	for _, s := range states {
		if s.job.Name == rn.name {
			st = s
		}
	}
	select {
	case <-sc.stopping:
		rn.reply <- errors.New("the cron scheduler is stopping")
		return
	default:
	}
	if len(st.running) > 0 && !st.job.Overlap && !rn.overlap {
		prev := "a run (still starting)"
		if child, began := st.running[0].startedAs(); child != nil {
			prev = fmt.Sprintf("a run (pid %d, started %s)", child.Pid(), stamp(began.In(st.job.loc)))
		}
		rn.reply <- fmt.Errorf("%s is already running: %s; wait for it to end, or give --overlap to run it beside (the job's \"# entry: overlap=allow\" allows it always)", st.job.Name, prev)
		return
	}
	now := sc.clock.Now().In(st.job.loc)
	sc.launch(&run{state: st, due: now, byHand: true, onStart: rn.started, onEnd: rn.ended}, "entry ctl run")
	rn.reply <- nil
}

// spawned notes whether r's process started, and tells an entry ctl run
// waiting for it.
func (r *run) spawned(child supervise.Child, err error) {
	r.spawnErr = err
	if r.onStart == nil {
		return
	}
	if err != nil {
		r.onStart(0, err)
		return
	}
	r.onStart(child.Pid(), nil)
}

// recordSkip records a due run skipped because the previous one is still
// going as the job's last outcome.
func (sc *scheduler) recordSkip(st *jobState, due time.Time, why string) {
	d := due
	sc.setLast(st.job.Name, supervise.JobOutcome{Outcome: "skipped", Detail: why, At: sc.clock.Now(), Due: &d})
}

// recordEnd records how a run ended as its job's last outcome, and tells
// an entry ctl run waiting for it.
func (sc *scheduler) recordEnd(e runEnd) {
	r := e.run
	due := r.due
	o := supervise.JobOutcome{At: sc.clock.Now(), Due: &due, ByHand: r.byHand}
	switch {
	case e.notStarted && r.spawnErr == nil:
		// The role stopped before it started: nothing happened.
		if r.onStart != nil {
			r.onStart(0, errors.New("the cron scheduler stopped before the run started"))
		}
		return
	case e.notStarted:
		o.Outcome, o.Detail = "not_started", "cannot start: "+r.spawnErr.Error()
		sc.setLast(r.state.job.Name, o)
		return // onStart has been told
	default:
		code := e.exit.Code
		o.ExitCode = &code
		ms := o.At.Sub(r.started).Milliseconds()
		o.DurationMS = &ms
		o.Outcome, o.Detail = outcomeOf(r, e.exit)
	}
	sc.setLast(r.state.job.Name, o)
	if r.onEnd != nil {
		r.onEnd(o)
	}
}

// outcomeOf names how a run that started ended, with the words of the
// cron_* events (finish): ok, failed (a non-zero exit), killed (a signal
// entry did not send as a stop), timed_out (stopped past the job's
// timeout, however it then ended), stopped (by entry's stop); and says
// it for people. ctl status and the cron_* events both use it.
func outcomeOf(r *run, exit supervise.ExitStatus) (outcome, detail string) {
	switch {
	case stoppedAsAsked(r, exit):
		detail = "stopped (" + signame.String(r.stopSent) + ")"
		if r.timedOut {
			return "timed_out", detail + " past its timeout"
		}
		return "stopped", detail
	case exit.Signal != 0:
		detail = "killed by " + signame.String(exit.Signal)
		if r.timedOut {
			return "timed_out", detail + " past its timeout"
		}
		return "killed", detail
	case r.timedOut:
		return "timed_out", fmt.Sprintf("exited with %d past its timeout", exit.Code)
	case exit.Code != 0:
		return "failed", fmt.Sprintf("exited with %d", exit.Code)
	}
	return "ok", "exited with 0"
}

// stoppedAsAsked tells whether the run ended by the stop signal entry sent
// it: "killed" is for SIGKILL at the stop timeout and signals from
// elsewhere.
func stoppedAsAsked(r *run, exit supervise.ExitStatus) bool {
	return r.stopSent != 0 && !r.killed && (exit.Signal == r.stopSent || exit.Code == 128+int(r.stopSent))
}
