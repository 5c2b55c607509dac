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
	// DefaultReadyTimeout is how long after its start a process with a
	// Ready check may take to pass it: puma booting a large app, redis
	// loading its dump.
	DefaultReadyTimeout = 60 * time.Second
)

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
	// ReadyTimeout is how long after each start the Ready check may take
	// to pass; then the processes waiting for it (after:) fail, and so
	// does an `entry ctl start` or `restart` waiting for it.
	ReadyTimeout time.Duration

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
	// Metrics is the HOST:PORT of a Prometheus text endpoint
	// (GET /metrics); "" serves none.
	Metrics string
}

// A Supervisor runs one role. Create it with New, run it once with Run.
type Supervisor struct {
	role  Role
	procs []*proc
	log   *logger
	// metrics counts events for the Prometheus endpoint; nil when off.
	metrics *metricSet

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
	pendingAll []*pendingAll // entry ctl start all requests waiting for readiness
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
	readyAt     time.Time
	readyCancel context.CancelFunc
	readyErr    error         // the last failed Ready check of this run
	readyWait   []func(error) // entry ctl requests waiting for this run's readiness
	failure     string        // why it failed without running (after: not ready)

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
	evCtl          // a request on the control socket
	evReady        // p's Ready check passed
	evNotReady     // p's Ready check failed (err); it is checked again
	evReadyTimeout // p's Ready check has not passed within ReadyTimeout (err: the last failure)
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
		defaultDuration(&p.ReadyTimeout, DefaultReadyTimeout)
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
	if role.Metrics != "" {
		s.metrics = newMetricSet(s.procs)
	}
	return s, nil
}

// infof writes a routine event, left out when the role is Quiet.
func (s *Supervisor) infof(process, format string, args ...any) {
	if !s.role.Quiet {
		s.log.eventf(process, format, args...)
	}
}

// emit writes an event an operator must see, and counts it in the metrics.
func (s *Supervisor) emit(f Fields, format string, args ...any) {
	s.metrics.observe(f)
	s.log.event(f, format, args...)
}

// routine writes a routine event, left out of the log when the role is
// Quiet, and counts it in the metrics.
func (s *Supervisor) routine(f Fields, format string, args ...any) {
	s.metrics.observe(f)
	if !s.role.Quiet {
		s.log.event(f, format, args...)
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
