package supervise

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
	"unsafe"

	"github.com/entryhq/entry/internal/signame"
	"golang.org/x/sys/unix"
)

// becomeSubreaper makes entry the reaper of its orphaned descendants when
// it is not PID 1, so that the same guarantees hold under another init. It
// returns a function that restores the previous setting.
func becomeSubreaper() (restore func()) {
	if os.Getpid() == 1 {
		return func() {}
	}
	var prev int32
	unix.Prctl(unix.PR_GET_CHILD_SUBREAPER, uintptr(unsafe.Pointer(&prev)), 0, 0, 0)
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		return func() {}
	}
	return func() {
		if prev == 0 {
			unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)
		}
	}
}

// leftoverPoll is how often the end of a stop looks for leftover processes;
// it polls only then, never while the role runs.
const leftoverPoll = 10 * time.Millisecond

// stopLeftovers ends the processes that outlived the role's processes:
// orphans re-parented to entry (a daemonizing grandchild, a sleeper left
// behind). They get TERM, then KILL when the stop's time is up, and entry
// waits until they are reaped, so that it never exits with a descendant
// running.
func (s *Supervisor) stopLeftovers(signals <-chan os.Signal) {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.reaper.reap()
	kids := liveChildren()
	if len(kids) == 0 {
		return
	}
	var longest time.Duration
	for _, p := range s.procs {
		longest = max(longest, p.StopTimeout)
	}
	began := s.stopBegan
	if began.IsZero() {
		began = time.Now()
	}
	deadline := began.Add(longest)
	if wait := time.Until(deadline); wait < time.Second {
		deadline = time.Now().Add(time.Second) // a short grace even when the time is up
	}
	sig := syscall.SIGTERM
	if s.killedAll {
		sig = syscall.SIGKILL
	}
	s.infof("", "%d leftover process(es) (pids %v): sending %s", len(kids), kids, signame.String(sig))
	signalAll(kids, sig)
	killDeadline := time.Now().Add(2 * time.Second)
	for {
		time.Sleep(leftoverPoll)
		s.reaper.reap()
		kids = liveChildren()
		if len(kids) == 0 {
			return
		}
		escalate := false
		select {
		case sig := <-signals:
			if sig == syscall.SIGTERM || sig == syscall.SIGINT {
				escalate = true
			}
		default:
		}
		if sig != syscall.SIGKILL && (escalate || time.Now().After(deadline)) {
			sig = syscall.SIGKILL
			s.log.eventf("", "%d leftover process(es) still running (pids %v): sending SIGKILL", len(kids), kids)
			killDeadline = time.Now().Add(2 * time.Second)
		}
		if sig == syscall.SIGKILL {
			signalAll(kids, syscall.SIGKILL) // also catches ones forked since
			if time.Now().After(killDeadline) {
				s.log.eventf("", "leftover process(es) %v survived SIGKILL; exiting anyway", kids)
				return
			}
		}
	}
}

// signalAll signals each process and its process group (unless that group
// is entry's own).
func signalAll(pids []int, sig syscall.Signal) {
	own := syscall.Getpgrp()
	for _, pid := range pids {
		if pgid, err := syscall.Getpgid(pid); err == nil && pgid != own && pgid > 1 {
			unix.Kill(-pgid, sig)
		}
		unix.Kill(pid, sig)
	}
}

// liveChildren lists entry's children that are not zombies, from /proc.
func liveChildren() []int {
	self := os.Getpid()
	paths, _ := filepath.Glob("/proc/[0-9]*/stat")
	var kids []int
	for _, path := range paths {
		data, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		pid, ppid, state, ok := parseStat(data)
		if ok && ppid == self && state != 'Z' && pid != self {
			kids = append(kids, pid)
		}
	}
	return kids
}

// parseStat reads pid, parent pid and state from /proc/PID/stat. The
// command name is in parentheses and may itself hold spaces and ')'.
func parseStat(data []byte) (pid, ppid int, state byte, ok bool) {
	open := bytes.IndexByte(data, '(')
	end := bytes.LastIndexByte(data, ')')
	if open < 1 || end < open {
		return 0, 0, 0, false
	}
	pid, err := strconv.Atoi(string(bytes.TrimSpace(data[:open])))
	if err != nil {
		return 0, 0, 0, false
	}
	fields := bytes.Fields(data[end+1:])
	if len(fields) < 2 || len(fields[0]) != 1 {
		return 0, 0, 0, false
	}
	ppid, err = strconv.Atoi(string(fields[1]))
	if err != nil {
		return 0, 0, 0, false
	}
	return pid, ppid, fields[0][0], true
}
