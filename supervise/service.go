package supervise

import (
	"context"
	"syscall"
)

// A Service is a process kind that runs inside entry instead of as a child
// command: the built-in cron scheduler is one. The supervisor runs Run in its
// own goroutine and treats its return like a process exit.
//
// A Service starts child processes only through the Spawner it is given, so
// that entry stays the single owner of wait(): the supervisor's one reaper
// collects every child, and no code calls exec.Cmd.Wait or waitpid(-1) on
// its own.
type Service interface {
	// Run runs until ctx is cancelled (the role is stopping) or the service
	// fails. On cancellation it must stop its running children (through
	// Child.Signal, within its stop timeout) and return only when they have
	// exited. A nil error means a clean stop.
	Run(ctx context.Context, sp Spawner) error
}

// A Spawner starts child process groups on a Service's behalf.
type Spawner interface {
	// Spawn starts c in a new process group with the role's environment
	// plus c.Env. Its output is written through the supervisor's log writer
	// under c.Name, and forwarded signals reach its group.
	Spawn(c Command) (Child, error)
	// Logf writes one of entry's own event lines (on stderr, one line).
	Logf(format string, args ...any)
}

// An EventLogger is a Spawner that also writes events with fields (see
// Fields): the supervisor's does, so that a service's events (a cron run
// that failed) reach json logs and metrics as data.
type EventLogger interface {
	Event(f Fields, format string, args ...any)
}

// A Command is one child process group to start.
type Command struct {
	// Name labels the output lines and events, e.g. "cron:db-cleanup".
	Name string
	// Shell is run through /bin/sh -c when Argv is empty.
	Shell string
	Argv  []string
	// Env is added to the role's environment (KEY=VALUE).
	Env []string
	Dir string
}

// A Child is a started process group.
type Child interface {
	Pid() int
	// Signal sends sig to the child's whole process group.
	Signal(sig syscall.Signal) error
	// Done is closed once the child has exited and been reaped.
	Done() <-chan struct{}
	// Exit tells how the child ended; call it after Done is closed.
	Exit() ExitStatus
}

// ExitStatus is how a process ended.
type ExitStatus struct {
	// Code is the exit code, or 128+N when signal N killed the process.
	Code int
	// Signal is the signal that killed the process, or 0.
	Signal syscall.Signal
}
