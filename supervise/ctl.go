package supervise

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/entryhq/entry/internal/signame"
)

// DefaultControlSocket is where `entry ctl` and `entry health` reach a
// supervising entry (in the container: `docker exec CONTAINER entry ctl
// status`).
const DefaultControlSocket = "/run/entry.sock"

// A Request is one command on the control socket, a JSON line.
type Request struct {
	Cmd    string `json:"cmd"` // status, health, start, stop, restart, signal, run
	Name   string `json:"name,omitempty"`
	Signal string `json:"signal,omitempty"`
	// Timeout bounds a health request's readiness checks.
	Timeout time.Duration `json:"timeout,omitempty"`
	// NoWait answers start and restart once the process has started,
	// without waiting for its ready: check to pass, and run once the job
	// has started, without waiting for it to end.
	NoWait bool `json:"no_wait,omitempty"`
	// Overlap lets run start a job while a run of it is going.
	Overlap bool `json:"overlap,omitempty"`
}

// A Response answers a Request, one JSON line.
type Response struct {
	Role      string          `json:"role,omitempty"` // status
	Error     string          `json:"error,omitempty"`
	Message   string          `json:"message,omitempty"`
	Processes []ProcessStatus `json:"processes,omitempty"`
	Jobs      []JobStatus     `json:"jobs,omitempty"` // status: the cron jobs
	// ExitCode is a job's exit code (run).
	ExitCode *int `json:"exit_code,omitempty"`
	// Problems are why the role is not healthy (health); none means healthy.
	Problems []string `json:"problems,omitempty"`
}

// ProcessStatus is one process in `entry ctl status`; its JSON field names
// are those of `entry ctl status --json`, kept stable.
type ProcessStatus struct {
	Name  string `json:"name"`
	State string `json:"state"` // running, starting, suspended, stopping, waiting, backoff, stopped, exited, failed, not started
	Pid   int    `json:"pid,omitempty"`
	// Ready is whether this run counts as ready: its ready: check has
	// passed (a process without one: it has started); nil when it is not
	// running.
	Ready *bool `json:"ready"`
	// ReadyCheck is the ready: check as written (a password masked).
	ReadyCheck string `json:"ready_check,omitempty"`
	// ReadyError is why the last check failed, while it is not ready.
	ReadyError string     `json:"ready_error,omitempty"`
	StartedAt  *time.Time `json:"started_at,omitempty"`
	Uptime     string     `json:"uptime,omitempty"`
	UptimeS    int64      `json:"uptime_s,omitempty"`
	Restarts   int        `json:"restarts"`
	// LastExit says how the last run ended ("exited with 1", "stopped
	// (SIGTERM)"), or why the process never ran.
	LastExit string `json:"last_exit,omitempty"`
	// LastExitCode is the last run's exit code (128+N for signal N).
	LastExitCode *int `json:"last_exit_code,omitempty"`
	Essential    bool `json:"essential"`
}

// A ctlRequest is a Request on its way to Run's goroutine.
type ctlRequest struct {
	Request
	ctx   context.Context // done when the client has gone
	reply chan Response   // buffered: the answer never blocks Run
}

// onControl handles a request in Run's goroutine. A request that waits
// (stop, restart) is answered when the process has stopped or started.
func (s *Supervisor) onControl(r *ctlRequest) {
	answer := func(format string, args ...any) { r.reply <- Response{Message: fmt.Sprintf(format, args...)} }
	fail := func(format string, args ...any) { r.reply <- Response{Error: fmt.Sprintf(format, args...)} }
	switch r.Cmd {
	case "status":
		s.answerStatus(r)
		return
	case "run":
		s.runJob(r)
		return
	case "health":
		s.health(r)
		return
	case "start", "stop", "restart", "signal":
	default:
		fail("unknown command %q (want status, health, start, stop, restart, signal or run)", r.Cmd)
		return
	}
	if r.Name == AllProcesses && r.Cmd != "signal" {
		if s.stopping {
			fail("role %s is stopping", s.role.Name)
			return
		}
		s.onControlAll(r)
		return
	}
	p := s.lookup(r.Name)
	if p == nil {
		names := make([]string, len(s.procs))
		for i, q := range s.procs {
			names[i] = q.Name
		}
		fail("no process %q in role %s (processes: %s)", r.Name, s.role.Name, strings.Join(names, ", "))
		return
	}
	if s.stopping {
		fail("role %s is stopping", s.role.Name)
		return
	}
	switch r.Cmd {
	case "signal":
		sig, err := signame.Parse(r.Signal)
		if err != nil {
			fail("%v", err)
			return
		}
		if p.state != stRunning {
			fail("%s is not running (%s)", p.Name, s.stateOf(p))
			return
		}
		if s.starting(p) {
			// A process that has not finished booting may not have its
			// handlers yet: puma dies of a USR2 sent then.
			fail("%s is starting (not ready yet); try again when entry ctl status shows it ready, or use entry ctl restart", p.Name)
			return
		}
		s.signalProc(p, sig)
		s.log.eventf(p.Name, "sent %s (entry ctl)", signame.String(sig))
		answer("%s: sent %s", p.Name, signame.String(sig))
	case "start":
		if p.state == stRunning {
			fail("%s is already running%s", p.Name, pidText(p))
			return
		}
		s.startByHand(p)
		s.whenReady(r, p, "started", "")
	case "stop":
		if p.state != stRunning {
			s.dropPending(p)
			answer("%s: not running (%s)", p.Name, s.stateOf(p))
			return
		}
		s.stopByHand(p, func(st ExitStatus) {
			if end := describeEnd(p, st); strings.HasPrefix(end, "stopped") {
				answer("%s: %s", p.Name, end) // "stopped (SIGTERM)"
			} else {
				answer("%s: stopped: %s", p.Name, end)
			}
		})
	case "restart":
		if p.state != stRunning {
			s.startByHand(p)
			s.whenReady(r, p, "started", "")
			return
		}
		s.stopByHand(p, func(st ExitStatus) {
			if s.stopping || p.state != stStopped {
				fail("%s: %s, not started again: role %s is stopping", p.Name, describe(st), s.role.Name)
				return
			}
			s.startByHand(p)
			s.whenReady(r, p, "restarted", " (the last run "+describeEnd(p, st)+")")
		})
	}
}

// whenReady answers a start or restart of p: once p's ready: check has
// passed, or at once when it has none or the client asked not to wait.
// A check that does not pass within ready_timeout, or a run that ends
// before it passes, is a failure; the process is left as it is.
func (s *Supervisor) whenReady(r *ctlRequest, p *proc, did, tail string) {
	if p.state != stRunning {
		r.reply <- Response{Error: fmt.Sprintf("%s: not started: %s", p.Name, s.lastEnd(p))}
		return
	}
	if p.Ready == nil || p.ready || r.NoWait {
		r.reply <- Response{Message: fmt.Sprintf("%s: %s%s%s", p.Name, did, pidText(p), tail)}
		return
	}
	pid, began := pidText(p), p.startedAt
	p.readyWait = append(p.readyWait, func(err error) {
		if err != nil {
			r.reply <- Response{Error: fmt.Sprintf("%s: %v", p.Name, err)}
			return
		}
		took := time.Since(began).Round(100 * time.Millisecond)
		r.reply <- Response{Message: fmt.Sprintf("%s: %s%s, ready after %s%s", p.Name, did, pid, took, tail)}
	})
}

// lastEnd says how p's last run ended, or why it never ran.
func (s *Supervisor) lastEnd(p *proc) string {
	if p.failure != "" {
		return p.failure
	}
	return describe(p.last)
}

// NotRunning reports whether a process in state (ProcessStatus.State) is
// not running and will not start on its own: what makes `entry ctl status`
// exit 3, as supervisorctl status does for STOPPED, EXITED and FATAL.
func NotRunning(state string) bool {
	switch state {
	case "stopped", "exited", "failed", "not started":
		return true
	}
	return false
}

// starting reports whether p runs but has not passed its ready: check yet,
// and is still being checked (its ready_timeout has not passed).
func (s *Supervisor) starting(p *proc) bool {
	return p.state == stRunning && p.Ready != nil && !p.ready && p.readyCancel != nil
}

func pidText(p *proc) string {
	if p.child != nil {
		return fmt.Sprintf(" (pid %d)", p.child.pid)
	}
	return ""
}

// dropPending turns a process waiting to start or restart into a stopped
// one.
func (s *Supervisor) dropPending(p *proc) {
	if p.state == stWaiting || p.state == stBackoff {
		if p.timer != nil {
			p.timer.Stop()
			p.timer = nil
		}
		p.state = stStopped
		s.log.eventf(p.Name, "will not start: stopped by entry ctl")
	}
}

// stopByHand stops p's run as the role's stop would (stop signal, CONT,
// SIGKILL after stop_timeout) without stopping the role; then calls done.
func (s *Supervisor) stopByHand(p *proc, done func(ExitStatus)) {
	p.waiters = append(p.waiters, done)
	if p.manualStop {
		return // already stopping
	}
	p.manualStop, p.signalled = true, true
	gen := p.gen
	p.timer = time.AfterFunc(p.StopTimeout, func() { s.send(event{kind: evKill, p: p, gen: gen}) })
	if p.Service != nil {
		p.cancel()
		s.log.eventf(p.Name, "stopping (entry ctl; stop_timeout %s)", p.StopTimeout)
		return
	}
	p.stopSent = p.StopSignal
	StopGroup(p.child, p.StopSignal)
	s.log.eventf(p.Name, "sending %s (entry ctl; stop_timeout %s)", signame.String(p.StopSignal), p.StopTimeout)
}

// startByHand starts a process that is not running, whatever its restart
// policy and after: say; its restart history starts afresh.
func (s *Supervisor) startByHand(p *proc) {
	if p.timer != nil {
		p.timer.Stop()
		p.timer = nil
	}
	p.failed, p.restarts, p.backoff = false, nil, 0
	s.log.eventf(p.Name, "starting (entry ctl)")
	s.start(p)
}

// status describes every process, in the role's order.
func (s *Supervisor) status() []ProcessStatus {
	out := make([]ProcessStatus, 0, len(s.procs))
	for _, p := range s.procs {
		ps := ProcessStatus{Name: p.Name, State: s.stateOf(p), Restarts: max(p.runs-1, 0), Essential: p.Essential}
		if p.Ready != nil {
			ps.ReadyCheck = p.Ready.String()
		}
		if p.state == stRunning {
			ready := p.Ready == nil || p.ready
			ps.Ready = &ready
			if !ready && p.readyErr != nil {
				ps.ReadyError = p.readyErr.Error()
			}
			began := p.startedAt.UTC().Truncate(time.Millisecond)
			ps.StartedAt = &began
			up := time.Since(p.startedAt)
			ps.Uptime = up.Round(time.Second).String()
			ps.UptimeS = int64(up / time.Second)
			if p.child != nil {
				ps.Pid = p.child.pid
			}
		}
		if p.runs > 0 && p.state != stRunning || p.runs > 1 {
			ps.LastExit = describe(p.last)
			code := p.last.Code
			ps.LastExitCode = &code
		}
		if p.failure != "" {
			ps.LastExit = p.failure
		}
		out = append(out, ps)
	}
	return out
}

func (s *Supervisor) stateOf(p *proc) string {
	switch p.state {
	case stWaiting:
		return "waiting"
	case stBackoff:
		return "backoff"
	case stStopped:
		return "stopped"
	case stDone:
		if p.failed {
			return "failed"
		}
		if !p.started {
			return "not started"
		}
		return "exited"
	}
	if p.manualStop || p.signalled {
		return "stopping"
	}
	if p.child != nil && suspended(p.child.pid) {
		return "suspended"
	}
	if s.starting(p) {
		return "starting"
	}
	return "running"
}

// suspended reports whether pid is stopped (STOP, TSTP): state T.
func suspended(pid int) bool {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	_, _, state, ok := parseStat(data)
	return ok && (state == 'T' || state == 't')
}

// health answers whether every essential process runs and every running
// process with a Ready check passes it. The checks run outside Run's
// goroutine, in parallel.
func (s *Supervisor) health(r *ctlRequest) {
	var problems []string
	var checks []*proc
	for _, p := range s.procs {
		if p.state == stRunning && p.Ready != nil {
			checks = append(checks, p)
		}
		if !p.Essential || p.state == stRunning {
			continue
		}
		why := s.stateOf(p)
		switch p.state {
		case stStopped:
			why = "stopped by entry ctl (entry ctl start " + p.Name + ")"
		case stBackoff:
			why = "restarting after it " + describe(p.last)
		}
		problems = append(problems, p.Name+": "+why)
	}
	if s.stopping {
		problems = append([]string{"role " + s.role.Name + " is stopping"}, problems...)
	}
	timeout := r.Timeout
	if timeout <= 0 {
		timeout = readyCheckTimeout
	}
	timeout = min(timeout, maxHealthTimeout)
	go func() {
		ctx, cancel := context.WithTimeout(r.ctx, timeout)
		defer cancel()
		errs := make([]error, len(checks))
		var wg sync.WaitGroup
		for i, p := range checks {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = s.check(ctx, p)
			}()
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				problems = append(problems, checks[i].Name+": not ready: "+err.Error())
			}
		}
		r.reply <- Response{Problems: problems}
	}()
}

// WriteStatus writes processes as a table; below it, why each process
// that is not ready yet is not.
func WriteStatus(w io.Writer, procs []ProcessStatus) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tSTATE\tREADY\tPID\tUPTIME\tRESTARTS\tLAST EXIT")
	dash := func(s string) string {
		if s == "" {
			return "-"
		}
		return s
	}
	for _, p := range procs {
		pid := "-"
		if p.Pid > 0 {
			pid = fmt.Sprint(p.Pid)
		}
		ready := "-"
		if p.Ready != nil {
			ready = map[bool]string{true: "yes", false: "no"}[*p.Ready]
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s\n", p.Name, p.State, ready, pid, dash(p.Uptime), p.Restarts, dash(p.LastExit))
	}
	tw.Flush()
	for _, p := range procs {
		if p.Ready != nil && !*p.Ready {
			why := p.ReadyError
			if why == "" {
				why = p.ReadyCheck + ": not checked yet"
			}
			fmt.Fprintf(w, "%s: not ready: %s\n", p.Name, why)
		}
	}
}
