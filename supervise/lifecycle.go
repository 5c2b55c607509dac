package supervise

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/entryhq/entry/internal/signame"
)

// Run starts the role, supervises it until it stops, and returns entry's
// exit code (see docs/supervise.md). signals delivers the signals entry
// receives; SIGCHLD, SIGURG and SIGPIPE among them are ignored.
func (s *Supervisor) Run(signals <-chan os.Signal) int {
	restore := becomeSubreaper()
	defer restore()
	var err error
	if s.devNull, err = os.OpenFile(os.DevNull, os.O_RDWR, 0); err != nil { // stdin of processes, output of ready commands
		s.log.eventf("", "cannot open %s: %v", os.DevNull, err)
		return 1
	}
	defer s.devNull.Close()
	s.reaper = newReaper()
	trimMemory()
	if s.role.ControlSocket != "" {
		if l, err := s.listenControl(); err != nil {
			s.log.eventf("", "no control socket (entry ctl, entry health will not work): %v; set control_socket (ENTRY_CONTROL_SOCKET) to a writable path such as /tmp/entry.sock, or to none", err)
		} else {
			defer l.close()
			go s.serveControl(l, s.connLimit())
		}
	}

	defer s.startMetrics()()

	// A signal that arrived during start-up is handled before anything
	// starts: a TERM then means nothing is started at all.
	for pending := true; pending; {
		select {
		case sig := <-signals:
			s.onSignal(sig)
		default:
			pending = false
		}
	}
	if !s.stopping {
		names := make([]string, len(s.procs))
		for i, p := range s.procs {
			names[i] = p.Name
		}
		s.routine(Fields{Event: "role_starting"}, "starting role %s: %s", s.role.Name, strings.Join(names, ", "))
		s.startReady()
	}
	for !s.finished() {
		select {
		case sig, ok := <-signals:
			if !ok {
				signals = nil
				continue
			}
			s.onSignal(sig)
		case ev := <-s.events:
			s.onEvent(ev)
		}
		s.answerPending()
	}
	s.stopLeftovers(signals)
	close(s.quit)
	s.waitPumps(time.Second)
	s.reaper.close()
	code := s.exitCode()
	s.routine(Fields{Event: "role_stopped", Exit: &ExitStatus{Code: code}}, "role %s stopped, exit code %d", s.role.Name, code)
	return code
}

// send hands an event from another goroutine to Run.
func (s *Supervisor) send(ev event) {
	select {
	case s.events <- ev:
	case <-s.quit:
	}
}

func (s *Supervisor) finished() bool {
	// A process stopped by hand (stStopped) keeps the role running: it
	// may be started again.
	for _, p := range s.procs {
		if p.state != stDone {
			return false
		}
	}
	return true
}

// startReady starts every waiting process whose after: processes have
// started.
func (s *Supervisor) startReady() {
	for _, p := range s.procs {
		if p.state != stWaiting || s.stopping {
			continue
		}
		ready := true
		for _, dep := range p.After {
			if d := s.lookup(dep); !d.started || (d.Ready != nil && !d.ready) {
				ready = false
			}
		}
		if ready {
			s.start(p)
		}
	}
}

func (s *Supervisor) lookup(name string) *proc {
	for _, p := range s.procs {
		if p.Name == name {
			return p
		}
	}
	return nil
}

func (s *Supervisor) start(p *proc) {
	p.gen++
	gen := p.gen
	p.started = true
	p.startedAt = time.Now()
	p.runs++
	p.killed, p.signalled, p.stopSent, p.manualStop, p.ready = false, false, 0, false, false
	p.readyErr, p.failure = nil, ""
	defer s.watchReady(p)
	if p.Service != nil {
		ctx, cancel := context.WithCancel(context.Background())
		p.cancel = cancel
		p.state = stRunning
		s.routine(Fields{Event: "started", Process: p.Name, Restarts: p.runs - 1}, "started")
		sp := &spawner{s: s, p: p}
		go func() {
			err := p.Service.Run(ctx, sp)
			s.send(event{kind: evExit, p: p, gen: gen, err: err})
		}()
		s.startReady()
		return
	}
	argv := p.Argv
	if len(argv) == 0 {
		argv = []string{"/bin/sh", "-c", p.Shell}
	}
	spec := spawnSpec{name: p.Name, argv: argv, env: p.env, dir: p.Dir, stdio: p.Stdio}
	c, err := s.spawn(spec, p, func(c *child) {
		s.send(event{kind: evExit, p: p, gen: gen, st: c.exit})
	})
	if err != nil {
		code := 126 // a start that failed for want of a resource
		var se *startError
		if errors.As(err, &se) {
			code = se.code
		}
		s.emit(Fields{Event: "start_failed", Process: p.Name, Exit: &ExitStatus{Code: code}, Restarts: p.runs - 1}, "cannot start: %v (exit code %d)", err, code)
		p.state = stRunning
		s.ended(p, ExitStatus{Code: code})
		s.startReady()
		return
	}
	p.child = c
	p.state = stRunning
	s.routine(Fields{Event: "started", Process: p.Name, Pid: c.pid, Restarts: p.runs - 1}, "started (pid %d)", c.pid)
	s.startReady()
}

func (s *Supervisor) onEvent(ev event) {
	if ev.kind == evCtl {
		s.onControl(ev.req)
		return
	}
	p := ev.p
	if ev.gen != p.gen {
		return // from an earlier run
	}
	switch ev.kind {
	case evExit:
		if p.state != stRunning {
			return
		}
		st := ev.st
		if p.Service != nil {
			if ev.err != nil {
				s.emit(Fields{Event: "service_failed", Process: p.Name}, "failed: %v", ev.err)
				st = ExitStatus{Code: 1}
			}
		}
		s.ended(p, st)
	case evRestart:
		if p.state == stBackoff && !s.stopping {
			s.start(p)
		}
	case evKill:
		s.kill(p, fmt.Sprintf("still running %s after the stop began", p.StopTimeout))
	case evReady:
		if p.state == stRunning && !p.ready {
			p.ready, p.readyErr, p.readyCancel, p.readyAt = true, nil, nil, time.Now()
			s.routine(Fields{Event: "ready", Process: p.Name, Pid: pidOf(p), Duration: time.Since(p.startedAt)}, "ready (%s)", p.Ready)
			s.readyDone(p, nil)
			s.startReady()
		}
	case evNotReady:
		if p.state == stRunning && !p.ready {
			p.readyErr = ev.err
		}
	case evReadyTimeout:
		if p.state == stRunning && !p.ready {
			s.readyTimedOut(p, ev.err)
		}
	case evGiveUp:
		if p.state == stRunning {
			s.log.eventf(p.Name, "did not return %s after its children were killed; leaving it", serviceGiveUp)
			s.ended(p, ExitStatus{Code: 128 + int(syscall.SIGKILL), Signal: syscall.SIGKILL})
		}
	}
}

// beginStop starts the graceful stop: processes are sent their stop signal
// (those another process starts after wait until it has exited), and each is
// killed stop_timeout after the stop began.
func (s *Supervisor) beginStop(sig syscall.Signal) {
	if s.stopping {
		return
	}
	s.stopping = true
	s.stopBegan = time.Now()
	s.stopSignal = sig
	var longest time.Duration
	for _, p := range s.procs {
		switch p.state {
		case stWaiting, stBackoff, stStopped:
			if p.timer != nil {
				p.timer.Stop()
				p.timer = nil
			}
			p.state = stDone
		case stRunning:
			p.wasRunning = true
			longest = max(longest, p.StopTimeout)
			if p.timer != nil { // stopping by hand already
				p.timer.Stop()
			}
			gen := p.gen
			p.timer = time.AfterFunc(p.StopTimeout, func() { s.send(event{kind: evKill, p: p, gen: gen}) })
		}
	}
	why := "stopping role " + s.role.Name
	if sig != 0 {
		why = "received " + signame.String(sig) + ": " + why
	} else if s.cause != nil {
		why = s.cause.Name + " is essential: " + why
	}
	if longest > 0 {
		why = fmt.Sprintf("%s (up to %s)", why, longest)
	}
	s.advanceStop(why)
}

// advanceStop sends the stop signal to every running process that no
// running process starts after. The signals go out first and the events
// (header first, if any) are written after, so that the stop latency does
// not include log writes.
func (s *Supervisor) advanceStop(header ...string) {
	var events []func()
	defer func() {
		for _, h := range header {
			s.routine(Fields{Event: "role_stopping", Signal: s.stopSignal}, "%s", h)
		}
		for _, ev := range events {
			ev()
		}
	}()
	for _, p := range s.procs {
		if p.state != stRunning || p.signalled {
			continue
		}
		waiting := false
		for _, q := range s.procs {
			if q.state == stRunning && slices.Contains(q.After, p.Name) {
				waiting = true
			}
		}
		if waiting {
			continue
		}
		p.signalled = true
		if p.Service != nil {
			p.cancel()
			events = append(events, func() {
				s.routine(Fields{Event: "stopping", Process: p.Name}, "stopping (stop_timeout %s)", p.StopTimeout)
			})
			continue
		}
		sig := p.StopSignal
		if p.StopWithReceived && s.stopSignal != 0 {
			sig = s.stopSignal
		}
		p.stopSent = sig
		StopGroup(p.child, sig)
		pid := pidOf(p)
		events = append(events, func() {
			s.routine(Fields{Event: "stopping", Process: p.Name, Pid: pid, Signal: sig}, "sending %s (stop_timeout %s)", signame.String(sig), p.StopTimeout)
		})
	}
}

// kill sends SIGKILL to p's process group (or a service's children).
func (s *Supervisor) kill(p *proc, why string) {
	if p.state != stRunning || p.killed {
		return
	}
	p.killed = true
	s.emit(Fields{Event: "killing", Process: p.Name, Pid: pidOf(p), Signal: syscall.SIGKILL}, "%s: sending SIGKILL", why)
	s.signalProc(p, syscall.SIGKILL)
	if p.Service != nil {
		gen := p.gen
		p.timer = time.AfterFunc(serviceGiveUp, func() { s.send(event{kind: evGiveUp, p: p, gen: gen}) })
	}
}

// escalate answers a second TERM or INT during a stop: kill everything now.
func (s *Supervisor) escalate(sig syscall.Signal) {
	s.killedAll = true
	for _, p := range s.procs {
		s.kill(p, "received "+signame.String(sig)+" again")
	}
}

// waitPumps waits up to d for the output of every process to be written.
func (s *Supervisor) waitPumps(d time.Duration) {
	done := make(chan struct{})
	go func() { s.pumps.Wait(); close(done) }()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
	}
}

// A spawner starts a service's children as process groups of the role.
type spawner struct {
	s *Supervisor
	p *proc
}

func (sp *spawner) Spawn(c Command) (Child, error) {
	s, p := sp.s, sp.p
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return nil, fmt.Errorf("%s: role %s has stopped", c.Name, s.role.Name)
	}
	argv := c.Argv
	if len(argv) == 0 {
		argv = []string{"/bin/sh", "-c", c.Shell}
	}
	name := c.Name
	if name == "" {
		name = p.Name
	}
	dir := c.Dir
	if dir == "" {
		dir = p.Dir
	}
	env := mergeEnv(p.env, []string{"ENTRY_PROCESS=" + name}, c.Env)
	ch, err := s.spawn(spawnSpec{name: name, argv: argv, env: env, dir: dir}, p, func(ch *child) {
		s.mu.Lock()
		delete(p.children, ch)
		s.mu.Unlock()
	})
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	select {
	case <-ch.done:
	default:
		p.children[ch] = struct{}{}
	}
	s.mu.Unlock()
	return ch, nil
}

func (sp *spawner) Logf(format string, args ...any) {
	sp.s.log.eventf(sp.p.Name, format, args...)
}

// Event writes one of the service's events with its fields (EventLogger).
func (sp *spawner) Event(f Fields, format string, args ...any) {
	f.Process = sp.p.Name
	sp.s.emit(f, format, args...)
}

// pidOf is p's running child's pid, or 0.
func pidOf(p *proc) int {
	if p.child != nil {
		return p.child.pid
	}
	return 0
}
