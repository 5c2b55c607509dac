package supervise

import (
	"fmt"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/entryhq/entry/internal/signame"
)

// Restart is a process's restart policy.
type Restart int

const (
	RestartNever     Restart = iota // never restart (the default)
	RestartOnFailure                // restart after a non-zero exit or a signal
	RestartAlways                   // restart after every exit
)

// ParseRestart accepts always, on-failure or never; "" means never.
func ParseRestart(s string) (Restart, error) {
	switch s {
	case "", "never":
		return RestartNever, nil
	case "on-failure":
		return RestartOnFailure, nil
	case "always":
		return RestartAlways, nil
	}
	return 0, fmt.Errorf("restart %q: want always, on-failure or never", s)
}

func (r Restart) String() string {
	return [...]string{"never", "on-failure", "always"}[r]
}

// ended handles the end of a process's run: restart, stop the role, or
// carry on with the stop.
func (s *Supervisor) ended(p *proc, st ExitStatus) {
	end := s.endFields(p, st)
	p.child = nil
	p.last = st
	if p.cancel != nil {
		p.cancel()
		p.cancel = nil
	}
	if p.timer != nil {
		p.timer.Stop()
		p.timer = nil
	}
	if p.readyCancel != nil {
		p.readyCancel()
		p.readyCancel = nil
	}
	what := describeEnd(p, st)
	if len(p.readyWait) > 0 {
		s.readyDone(p, fmt.Errorf("%s before it was ready", what))
	}
	waiters := p.waiters
	p.waiters = nil
	defer func() {
		for _, w := range waiters {
			w(st)
		}
	}()
	if p.manualStop && !s.stopping {
		p.state = stStopped
		if sig, ok := strings.CutPrefix(what, "stopped ("); ok {
			s.emit(end, "stopped by entry ctl (%s); the role carries on", strings.TrimSuffix(sig, ")"))
		} else {
			s.emit(end, "%s (stopped by entry ctl; the role carries on)", what)
		}
		return
	}
	if s.stopping {
		p.state = stDone
		s.routine(end, "%s", what)
		s.advanceStop()
		return
	}
	restart := p.Restart == RestartAlways || (p.Restart == RestartOnFailure && st.Code != 0)
	now := time.Now()
	if restart && p.MaxRestarts > 0 {
		cutoff := now.Add(-p.RestartWindow)
		p.restarts = slices.DeleteFunc(p.restarts, func(t time.Time) bool { return t.Before(cutoff) })
		if len(p.restarts) >= p.MaxRestarts {
			restart = false
			p.failed = true
			gaveUp := end
			gaveUp.Event = "gave_up"
			s.emit(gaveUp, "%s; failed: restarted %d times within %s (max_restarts)", what, len(p.restarts), p.RestartWindow)
		}
	}
	if restart {
		if now.Sub(p.startedAt) >= p.HealthyAfter {
			p.backoff = 0
		}
		if p.backoff == 0 {
			p.backoff = p.BackoffMin
		} else {
			p.backoff = min(2*p.backoff, p.BackoffMax)
		}
		p.restarts = append(p.restarts, now)
		p.state = stBackoff
		restarting := end
		restarting.Event, restarting.Restarts, restarting.Delay = "restarting", p.runs, p.backoff
		s.emit(restarting, "%s; restarting in %s (restart: %s)", what, p.backoff, p.Restart)
		gen := p.gen
		p.timer = time.AfterFunc(p.backoff, func() { s.send(event{kind: evRestart, p: p, gen: gen}) })
		return
	}
	p.state = stDone
	if !p.failed {
		s.routine(end, "%s", what)
	}
	if p.Essential {
		s.cause = p
		s.beginStop(0)
	}
}

// describeEnd says how p's run ended, for event lines. A run that died of
// the stop signal entry sent it (a role's stop, entry ctl stop) is
// "stopped (SIGTERM)", not "killed by SIGTERM": that is how a graceful stop
// ends, and a log alert on "killed" must not fire for it. "killed" is kept
// for a signal entry did not send as a stop, and for the SIGKILL at
// stop_timeout.
func describeEnd(p *proc, st ExitStatus) string {
	switch {
	case p.Service != nil && st.Code == 0:
		return "stopped"
	case st.Signal != 0 && st.Signal == p.stopSent && !p.killed:
		return "stopped (" + signame.String(st.Signal) + ")"
	}
	return describe(st)
}

// endFields describes the end of p's run as an event: "exited", "stopped"
// (by the stop signal entry sent) or "killed", as describeEnd words it.
func (s *Supervisor) endFields(p *proc, st ExitStatus) Fields {
	f := Fields{Process: p.Name, Exit: &st, Restarts: max(p.runs-1, 0)}
	if !p.startedAt.IsZero() {
		f.Duration = time.Since(p.startedAt)
	}
	if p.child != nil {
		f.Pid = p.child.pid
	}
	switch what := describeEnd(p, st); {
	case strings.HasPrefix(what, "stopped"):
		f.Event = "stopped"
	case strings.HasPrefix(what, "killed"):
		f.Event = "killed"
	default:
		f.Event = "exited"
	}
	return f
}

// exitCode is entry's exit code once every process has stopped.
func (s *Supervisor) exitCode() int {
	if s.cause != nil {
		if s.cause.failed && s.cause.last.Code == 0 {
			return 1
		}
		return s.cause.last.Code
	}
	if s.stopSignal != 0 {
		if s.role.ChildExitCode {
			for _, p := range s.procs {
				if p.Essential && p.wasRunning {
					return p.last.Code
				}
			}
		}
		// The first unclean stop, essential processes first.
		for _, essential := range []bool{true, false} {
			for _, p := range s.procs {
				if p.Essential == essential && p.wasRunning && !s.stoppedCleanly(p) {
					if p.last.Code == 0 {
						// A service returning nil after its children
						// had to be killed did not stop cleanly.
						return 128 + int(syscall.SIGKILL)
					}
					return p.last.Code
				}
			}
		}
		return 0
	}
	// Every process ended on its own and none was essential.
	for _, p := range s.procs {
		if p.last.Code != 0 {
			return p.last.Code
		}
	}
	return 0
}

// stoppedCleanly: exited 0, or ended by the stop signal it was sent (the
// default action of TERM, or a shell's 128+N), and not killed.
func (s *Supervisor) stoppedCleanly(p *proc) bool {
	st := p.last
	switch {
	case p.killed:
		return false
	case st.Code == 0:
		return true
	case p.stopSent != 0 && (st.Signal == p.stopSent || st.Code == 128+int(p.stopSent)):
		return true
	}
	return false
}
