package supervise

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/entryhq/entry/internal/signame"
)

// Defaults for the zero values of Process fields.
const (
	// DefaultStopTimeout leaves 5s of ECS's default 30s stopTimeout for
	// entry's own exit.
	DefaultStopTimeout   = 25 * time.Second
	DefaultRestartWindow = 60 * time.Second
	DefaultBackoffMin    = 1 * time.Second
	DefaultBackoffMax    = 30 * time.Second
	// DefaultHealthyAfter is how long a run must last for the restart
	// backoff to start again from BackoffMin.
	DefaultHealthyAfter = 10 * time.Second
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

// A Process is one process of a role: a command (Shell or Argv) or a
// Service. Zero values mean the defaults above.
type Process struct {
	Name string
	// Shell runs through /bin/sh -c; Argv runs directly. Exactly one of
	// Shell, Argv and Service is set.
	Shell   string
	Argv    []string
	Service Service

	Dir string
	Env []string // added to the role's environment

	// StopSignal is sent to the process group to stop it (default TERM).
	StopSignal syscall.Signal
	// StopWithReceived sends the signal that stopped entry (TERM or INT)
	// instead of StopSignal: the tini model.
	StopWithReceived bool
	StopTimeout      time.Duration
	// Signals rewrites forwarded signals for this process: {HUP: USR1};
	// a signal mapped to 0 is not forwarded to it. The job-control signals
	// TSTP, TTIN and TTOU reach only a process that names them here (see
	// Forwarded).
	Signals map[syscall.Signal]syscall.Signal

	// Essential: when the process has ended for good (restart policy
	// exhausted), the role stops and its exit code becomes entry's.
	Essential     bool
	Restart       Restart
	MaxRestarts   int // within RestartWindow; 0 means no limit
	RestartWindow time.Duration
	BackoffMin    time.Duration
	BackoffMax    time.Duration
	HealthyAfter  time.Duration

	// After names processes that must have started before this one, and
	// be ready when they declare Ready.
	After []string
	// Ready is how to tell that the process serves: for after: and
	// `entry health`. nil means started is ready.
	Ready *Ready

	// Stdio gives the process entry's own stdin, stdout and stderr instead
	// of line-prefixed pipes (the tini model, for interactive commands).
	Stdio bool
}

// A Role is a named set of processes run together.
type Role struct {
	Name      string
	Processes []Process
	// Env is the environment every process starts with (KEY=VALUE);
	// ENTRY_ROLE and ENTRY_PROCESS are added.
	Env       []string
	LogFormat LogFormat
	// Stdout and Stderr receive the processes' lines and entry's events;
	// nil means entry's own.
	Stdout, Stderr io.Writer
	// ChildExitCode makes entry exit with the essential process's own
	// status even when entry was asked to stop (the tini model), instead of
	// 0 for a clean stop.
	ChildExitCode bool
	// Quiet leaves out the routine events (started, exited, stopping) and
	// keeps the ones an operator must see (cannot start, restarting,
	// killed, leftovers): the tini model prints nothing when all is well.
	Quiet bool
	// ControlSocket is the Unix socket `entry ctl` and `entry health`
	// reach the supervisor through; "" serves none.
	ControlSocket string
}

// A Supervisor runs one role. Create it with New, run it once with Run.
type Supervisor struct {
	role  Role
	procs []*proc
	log   *logger

	reaper  *reaper
	devNull *os.File
	pumps   sync.WaitGroup
	events  chan event
	quit    chan struct{}

	mu     sync.Mutex // guards proc.children and closed (Spawn runs on services' goroutines)
	closed bool

	// The state below belongs to Run's goroutine.
	stopping   bool
	stopBegan  time.Time
	stopSignal syscall.Signal // the signal that began the stop; 0 if a process's end did
	cause      *proc          // the essential process whose end stopped the role
	killedAll  bool
}

type procState int

const (
	stWaiting procState = iota // not started yet (after:)
	stRunning
	stBackoff // waiting to restart
	stStopped // stopped by entry ctl; the role carries on
	stDone
)

type proc struct {
	Process
	env   []string
	state procState
	gen   int // numbers runs, so that a stale timer is ignored

	child    *child
	cancel   context.CancelFunc  // a running service
	children map[*child]struct{} // a service's children, under Supervisor.mu

	started   bool
	startedAt time.Time
	restarts  []time.Time
	backoff   time.Duration
	timer     *time.Timer // restart or kill timer
	last      ExitStatus
	failed    bool // gave up after max_restarts

	runs        int  // runs started, for status
	manualStop  bool // entry ctl stop or restart is stopping this run
	waiters     []func(ExitStatus)
	ready       bool // this run passed its Ready check
	readyCancel context.CancelFunc

	wasRunning bool // running when the stop began
	stopSent   syscall.Signal
	signalled  bool
	killed     bool
}

type evKind int

const (
	evExit evKind = iota
	evRestart
	evKill
	evGiveUp
	evCtl   // a request on the control socket
	evReady // p's Ready check passed
)

type event struct {
	kind evKind
	p    *proc
	gen  int
	st   ExitStatus
	err  error // a service's Run error
	req  *ctlRequest
}

// serviceGiveUp is how long a service may take to return after its
// children were killed.
const serviceGiveUp = 2 * time.Second

// New checks role and fills in defaults.
func New(role Role) (*Supervisor, error) {
	if len(role.Processes) == 0 {
		return nil, fmt.Errorf("role %s has no processes", role.Name)
	}
	s := &Supervisor{role: role, events: make(chan event, 64), quit: make(chan struct{})}
	names := map[string]bool{}
	for _, p := range role.Processes {
		if p.Name == "" {
			return nil, errors.New("a process has no name")
		}
		if names[p.Name] {
			return nil, fmt.Errorf("process %s appears twice", p.Name)
		}
		names[p.Name] = true
		n := 0
		if p.Shell != "" {
			n++
		}
		if len(p.Argv) > 0 {
			n++
		}
		if p.Service != nil {
			n++
		}
		if n != 1 {
			return nil, fmt.Errorf("process %s: give exactly one of a shell command, an argument list or a service", p.Name)
		}
	}
	for _, p := range role.Processes {
		for _, dep := range p.After {
			if !names[dep] || dep == p.Name {
				return nil, fmt.Errorf("process %s: after: %q is not another process of role %s", p.Name, dep, role.Name)
			}
		}
	}
	if cycle := findCycle(role.Processes); cycle != nil {
		return nil, fmt.Errorf("after: processes wait for each other in a cycle: %s", strings.Join(cycle, " -> "))
	}
	for _, p := range role.Processes {
		if p.StopSignal == 0 {
			p.StopSignal = syscall.SIGTERM
		}
		defaultDuration(&p.StopTimeout, DefaultStopTimeout)
		defaultDuration(&p.RestartWindow, DefaultRestartWindow)
		defaultDuration(&p.BackoffMin, DefaultBackoffMin)
		defaultDuration(&p.BackoffMax, DefaultBackoffMax)
		defaultDuration(&p.HealthyAfter, DefaultHealthyAfter)
		if p.BackoffMax < p.BackoffMin {
			p.BackoffMax = p.BackoffMin
		}
		var own []string
		if role.Name != "" {
			own = []string{"ENTRY_ROLE=" + role.Name, "ENTRY_PROCESS=" + p.Name}
		}
		env := mergeEnv(role.Env, p.Env, own)
		s.procs = append(s.procs, &proc{Process: p, env: env, children: map[*child]struct{}{}})
	}
	stdout, stderr := role.Stdout, role.Stderr
	if stdout == nil {
		stdout = os.Stdout
	}
	if stderr == nil {
		stderr = os.Stderr
	}
	s.log = newLogger(role.LogFormat, role.Name, stdout, stderr)
	return s, nil
}

// infof writes a routine event, left out when the role is Quiet.
func (s *Supervisor) infof(process, format string, args ...any) {
	if !s.role.Quiet {
		s.log.eventf(process, format, args...)
	}
}

func defaultDuration(d *time.Duration, def time.Duration) {
	if *d <= 0 {
		*d = def
	}
}

// findCycle returns a cycle of after: dependencies, or nil.
func findCycle(procs []Process) []string {
	after := map[string][]string{}
	for _, p := range procs {
		after[p.Name] = p.After
	}
	const (
		unvisited = iota
		visiting
		visited
	)
	state := map[string]int{}
	var path []string
	var visit func(string) []string
	visit = func(n string) []string {
		switch state[n] {
		case visiting:
			i := slices.Index(path, n)
			return append(slices.Clone(path[i:]), n)
		case visited:
			return nil
		}
		state[n] = visiting
		path = append(path, n)
		for _, dep := range after[n] {
			if c := visit(dep); c != nil {
				return c
			}
		}
		path = path[:len(path)-1]
		state[n] = visited
		return nil
	}
	for _, p := range procs {
		if c := visit(p.Name); c != nil {
			return c
		}
	}
	return nil
}

// mergeEnv joins KEY=VALUE lists; a later value wins, in the place the key
// first appeared, so that execve never sees a key twice.
func mergeEnv(lists ...[]string) []string {
	var out []string
	index := map[string]int{}
	for _, list := range lists {
		for _, kv := range list {
			k, _, _ := strings.Cut(kv, "=")
			if i, ok := index[k]; ok {
				out[i] = kv
				continue
			}
			index[k] = len(out)
			out = append(out, kv)
		}
	}
	return out
}

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
		if l, err := listenControl(s.role.ControlSocket); err != nil {
			s.log.eventf("", "no control socket (entry ctl, entry health will not work): %v; set control_socket (ENTRY_CONTROL_SOCKET) to a writable path such as /tmp/entry.sock, or to none", err)
		} else {
			defer l.close()
			go s.serveControl(l)
		}
	}

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
		s.infof("", "starting role %s: %s", s.role.Name, strings.Join(names, ", "))
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
	}
	s.stopLeftovers(signals)
	close(s.quit)
	s.waitPumps(time.Second)
	s.reaper.close()
	code := s.exitCode()
	s.infof("", "role %s stopped, exit code %d", s.role.Name, code)
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
	defer s.watchReady(p)
	if p.Service != nil {
		ctx, cancel := context.WithCancel(context.Background())
		p.cancel = cancel
		p.state = stRunning
		s.infof(p.Name, "started")
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
		code := 1
		var se *startError
		if errors.As(err, &se) {
			code = se.code
		}
		s.log.eventf(p.Name, "cannot start: %v (exit code %d)", err, code)
		p.state = stRunning
		s.ended(p, ExitStatus{Code: code})
		s.startReady()
		return
	}
	p.child = c
	p.state = stRunning
	s.infof(p.Name, "started (pid %d)", c.pid)
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
				s.log.eventf(p.Name, "failed: %v", ev.err)
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
			p.ready = true
			s.infof(p.Name, "ready (%s)", p.Ready)
			s.startReady()
		}
	case evGiveUp:
		if p.state == stRunning {
			s.log.eventf(p.Name, "did not return %s after its children were killed; leaving it", serviceGiveUp)
			s.ended(p, ExitStatus{Code: 128 + int(syscall.SIGKILL), Signal: syscall.SIGKILL})
		}
	}
}

// ended handles the end of a process's run: restart, stop the role, or
// carry on with the stop.
func (s *Supervisor) ended(p *proc, st ExitStatus) {
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
	what := describe(st)
	if p.Service != nil {
		what = "stopped"
		if st.Code != 0 {
			what = describe(st)
		}
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
		s.log.eventf(p.Name, "%s (stopped by entry ctl; the role carries on)", what)
		return
	}
	if s.stopping {
		p.state = stDone
		s.infof(p.Name, "%s", what)
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
			s.log.eventf(p.Name, "%s; failed: restarted %d times within %s (max_restarts)", what, len(p.restarts), p.RestartWindow)
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
		s.log.eventf(p.Name, "%s; restarting in %s (restart: %s)", what, p.backoff, p.Restart)
		gen := p.gen
		p.timer = time.AfterFunc(p.backoff, func() { s.send(event{kind: evRestart, p: p, gen: gen}) })
		return
	}
	p.state = stDone
	if !p.failed {
		s.infof(p.Name, "%s", what)
	}
	if p.Essential {
		s.cause = p
		s.beginStop(0)
	}
}

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
			s.infof("", "%s", h)
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
			events = append(events, func() { s.infof(p.Name, "stopping (stop_timeout %s)", p.StopTimeout) })
			continue
		}
		sig := p.StopSignal
		if p.StopWithReceived && s.stopSignal != 0 {
			sig = s.stopSignal
		}
		p.stopSent = sig
		StopGroup(p.child, sig)
		events = append(events, func() { s.infof(p.Name, "sending %s (stop_timeout %s)", signame.String(sig), p.StopTimeout) })
	}
}

// kill sends SIGKILL to p's process group (or a service's children).
func (s *Supervisor) kill(p *proc, why string) {
	if p.state != stRunning || p.killed {
		return
	}
	p.killed = true
	s.log.eventf(p.Name, "%s: sending SIGKILL", why)
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
