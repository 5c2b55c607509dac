package supervise

import (
	"os"
	"syscall"
)

func (s *Supervisor) onSignal(sig os.Signal) {
	ss, ok := sig.(syscall.Signal)
	if !ok {
		return
	}
	switch ss {
	case syscall.SIGCHLD, syscall.SIGURG, syscall.SIGPIPE:
		// SIGCHLD is the reaper's; SIGURG is the Go runtime's preemption;
		// SIGPIPE comes from entry's own writes to a closed output.
	case syscall.SIGTERM, syscall.SIGINT:
		if s.stopping {
			s.escalate(ss)
		} else {
			s.beginStop(ss)
		}
	default:
		s.forward(ss)
	}
}

// forward sends sig (rewritten per process) to every running process group.
func (s *Supervisor) forward(sig syscall.Signal) {
	for _, p := range s.procs {
		if p.state != stRunning {
			continue
		}
		if target, ok := p.Forwarded(sig); ok {
			s.signalProc(p, target)
		}
	}
}

// Forwarded returns the signal p receives when entry receives sig, and
// false when p receives nothing. The job-control signals TSTP, TTIN and
// TTOU stop a process that has no handler for them (a cron job's shell, a
// web server), so they reach only a process whose Signals names them
// (sidekiq: {TSTP: TSTP}).
func (p *Process) Forwarded(sig syscall.Signal) (syscall.Signal, bool) {
	if to, ok := p.Signals[sig]; ok {
		return to, to != 0
	}
	switch sig {
	case syscall.SIGTSTP, syscall.SIGTTIN, syscall.SIGTTOU:
		return 0, false
	}
	return sig, true
}

// StopGroup sends c's process group the stop signal sig, then CONT (as init
// systems do): a group suspended by STOP or TSTP cannot act on sig until it
// runs again.
func StopGroup(c Child, sig syscall.Signal) error {
	err := c.Signal(sig)
	if sig != syscall.SIGKILL && sig != syscall.SIGCONT {
		if cerr := c.Signal(syscall.SIGCONT); err == nil {
			err = cerr
		}
	}
	return err
}

// signalProc sends sig to p's process group, or to every child of a
// service.
func (s *Supervisor) signalProc(p *proc, sig syscall.Signal) {
	if p.child != nil {
		p.child.Signal(sig)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range p.children {
		c.Signal(sig)
	}
}
