package supervise

import (
	"os"
	"os/signal"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// The reaper is the one owner of wait() in entry: a wait4(-1) loop woken by
// SIGCHLD. It collects every child, registered or not (orphans re-parented
// to entry as PID 1 or as child subreaper), and hands the exit status of a
// registered child to its callback. Nothing else in a supervised entry
// calls wait: no exec.Cmd.Wait, no os.Process.Wait, so no two waiters race
// for one child (supercronic's "waitid: no child processes").
//
// The fork-versus-reap race (a child that exits before its pid is
// registered) cannot happen: start holds forking (shared) from before fork
// until the pid is registered, and the reap loop holds it exclusively.
// Starts do not wait for each other: a burst of cron jobs forks on every
// core at once.
type reaper struct {
	forking sync.RWMutex
	mu      sync.Mutex // guards waiters and orphans
	waiters map[int]func(ExitStatus)
	orphans int // unregistered children reaped

	// reaped gets a token when a reap collected any child; the end of a
	// stop waits on it for leftovers to go.
	reaped chan struct{}

	sigchld chan os.Signal
	quit    chan struct{}
	done    chan struct{}
}

// newReaper subscribes to SIGCHLD and starts the reap loop. It reaps
// straight away, for children that ended before it existed.
func newReaper() *reaper {
	r := &reaper{
		waiters: map[int]func(ExitStatus){},
		reaped:  make(chan struct{}, 1),
		sigchld: make(chan os.Signal, 1),
		quit:    make(chan struct{}),
		done:    make(chan struct{}),
	}
	signal.Notify(r.sigchld, syscall.SIGCHLD)
	go r.loop()
	return r
}

func (r *reaper) loop() {
	defer close(r.done)
	r.reap()
	for {
		select {
		case <-r.sigchld:
			r.reap()
		case <-r.quit:
			r.reap()
			return
		}
	}
}

// close stops the loop after a last reap.
func (r *reaper) close() {
	signal.Stop(r.sigchld)
	close(r.quit)
	<-r.done
}

// start runs fork (which starts a process and returns its pid) and
// registers onExit for it, with reaping held off in between. onExit is
// called from the reap loop and must not block.
func (r *reaper) start(fork func() (int, error), onExit func(ExitStatus)) (int, error) {
	r.forking.RLock()
	defer r.forking.RUnlock()
	pid, err := fork()
	if err != nil {
		return 0, err
	}
	r.mu.Lock()
	r.waiters[pid] = onExit
	r.mu.Unlock()
	return pid, nil
}

// reap collects every child that has ended. SIGCHLD signals coalesce, so
// it loops until wait4 has nothing more to give.
func (r *reaper) reap() {
	type exited struct {
		fn func(ExitStatus)
		st ExitStatus
	}
	var calls []exited
	collected := false
	r.forking.Lock()
	r.mu.Lock()
	for {
		var ws unix.WaitStatus
		pid, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
		if err == unix.EINTR {
			continue
		}
		if err != nil || pid <= 0 {
			break // ECHILD: no children; 0: none has ended yet
		}
		if !ws.Exited() && !ws.Signaled() {
			continue // stopped or continued: not an end
		}
		collected = true
		if fn, ok := r.waiters[pid]; ok {
			delete(r.waiters, pid)
			calls = append(calls, exited{fn, statusOf(ws)})
		} else {
			r.orphans++
		}
	}
	r.mu.Unlock()
	r.forking.Unlock()
	if collected {
		select {
		case r.reaped <- struct{}{}:
		default:
		}
	}
	for _, c := range calls {
		c.fn(c.st)
	}
}

// reapedOrphans returns how many unregistered children were reaped.
func (r *reaper) reapedOrphans() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.orphans
}

func statusOf(ws unix.WaitStatus) ExitStatus {
	if ws.Signaled() {
		sig := syscall.Signal(ws.Signal())
		return ExitStatus{Code: 128 + int(sig), Signal: sig}
	}
	return ExitStatus{Code: ws.ExitStatus()}
}
