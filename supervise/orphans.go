package supervise

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
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

// stopLeftovers ends the processes that outlived the role's processes:
// orphans re-parented to entry (a daemonizing grandchild, a sleeper left
// behind). They get TERM, then KILL when the stop's time is up, and entry
// waits until they are reaped, so that it never exits with a descendant
// running. It sleeps between steps until a child is reaped, a signal
// arrives or a deadline passes: no polling.
//
// Only entry's own children are ever signalled, found in
// /proc/self/task/*/children (see children): a /proc of another PID
// namespace (unshare --pid without --mount-proc) cannot make entry signal a
// process that is not its own.
func (s *Supervisor) stopLeftovers(signals <-chan os.Signal) {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.reaper.reap()
	if !hasChildren() {
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
	signalled := map[int]bool{}
	kids, err := s.reaper.signalChildren(sig, signalled)
	switch {
	case err != nil:
		s.log.eventf("", "leftover process(es) still running, which entry cannot name (%v): not signalling them; waiting for them until the stop's time is up", err)
	case len(kids) > 0:
		s.infof("", "%d leftover process(es) (pids %v): sending %s", len(kids), kids, signame.String(sig))
	}
	killDeadline := time.Now().Add(2 * time.Second) // once SIGKILL is sent
	if sig != syscall.SIGKILL {
		killDeadline = deadline
	}
	timer := time.NewTimer(time.Until(killDeadline))
	defer timer.Stop()
	for {
		escalate := false
		select {
		case <-s.reaper.reaped:
		case sig := <-signals:
			escalate = sig == syscall.SIGTERM || sig == syscall.SIGINT
		case <-timer.C:
		}
		s.reaper.reap()
		if !hasChildren() {
			return
		}
		now := time.Now()
		if err != nil {
			if escalate || now.After(deadline) {
				s.log.eventf("", "leftover process(es) still running at the end of the stop; exiting anyway")
				return
			}
			continue
		}
		if sig != syscall.SIGKILL && (escalate || now.After(deadline)) {
			sig = syscall.SIGKILL
			clear(signalled)
			if kids, err = s.reaper.signalChildren(sig, signalled); err == nil && len(kids) > 0 {
				s.log.eventf("", "%d leftover process(es) still running (pids %v): sending SIGKILL", len(kids), kids)
			}
			killDeadline = now.Add(2 * time.Second)
			timer.Reset(time.Until(killDeadline))
			continue
		}
		// Children re-parented to entry since (those of a leftover that
		// has just exited) get the signal too.
		if sig == syscall.SIGKILL {
			clear(signalled)
		}
		var fresh []int
		if fresh, err = s.reaper.signalChildren(sig, signalled); err == nil && len(fresh) > 0 && sig != syscall.SIGKILL {
			s.infof("", "%d more leftover process(es) (pids %v): sending %s", len(fresh), fresh, signame.String(sig))
		}
		if sig == syscall.SIGKILL && now.After(killDeadline) {
			s.log.eventf("", "leftover process(es) survived SIGKILL; exiting anyway")
			return
		}
	}
}

// hasChildren reports whether entry has any child, running or a zombie: a
// question wait answers in entry's own PID namespace, whatever /proc is.
func hasChildren() bool {
	var info unix.Siginfo
	for {
		err := unix.Waitid(unix.P_ALL, 0, &info, unix.WEXITED|unix.WNOHANG|unix.WNOWAIT, nil)
		if err == unix.EINTR {
			continue
		}
		return err != unix.ECHILD
	}
}

// signalChildren sends sig to each of entry's children that is not a
// zombie and not in done, adds them to done and returns them (with
// SIGKILL, pass an empty done: every child gets it on every call). Reaping is
// held off meanwhile, so that a pid read from /proc still names that child
// when it is signalled: an unreaped child's pid cannot be reused.
func (r *reaper) signalChildren(sig syscall.Signal, done map[int]bool) ([]int, error) {
	r.forking.Lock()
	defer r.forking.Unlock()
	kids, err := children()
	for pid := range done {
		if !slices.Contains(kids, pid) {
			delete(done, pid) // reaped: the pid may be another child's now
		}
	}
	var sent []int
	for _, pid := range kids {
		if done[pid] {
			continue
		}
		done[pid] = true
		sent = append(sent, pid)
		unix.Kill(pid, sig)
		if sig != syscall.SIGKILL {
			unix.Kill(pid, syscall.SIGCONT) // a suspended process cannot act on sig
		}
	}
	return sent, err
}

// children lists entry's children that are not zombies, as pids of entry's
// own PID namespace. It reads /proc/self/task/*/children (a child belongs
// to the thread that forked it, or that it was re-parented to), which lists
// only entry's children whatever namespace /proc belongs to. When /proc is
// another namespace's (unshare --pid without --mount-proc), the pids it
// shows are that namespace's, and each is translated through the child's
// NSpid line; a child that cannot be translated is an error, never a guess.
// The caller holds off reaping, so that the pids stay the children's.
func children() ([]int, error) {
	own, level, err := procNamespace()
	if err != nil {
		return nil, err
	}
	files, _ := filepath.Glob("/proc/self/task/*/children")
	if len(files) == 0 {
		return nil, errors.New("no /proc/self/task/*/children (a kernel without CONFIG_PROC_CHILDREN?)")
	}
	var kids []int
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			continue // the thread has exited
		}
		for _, field := range strings.Fields(string(data)) {
			pid, err := strconv.Atoi(field)
			if err != nil {
				return nil, fmt.Errorf("%s: %q is not a pid", f, field)
			}
			stat, err := os.ReadFile("/proc/" + field + "/stat")
			if err != nil {
				return nil, fmt.Errorf("child %d: %v", pid, err)
			}
			if _, _, state, ok := parseStat(stat); !ok || state == 'Z' {
				continue
			}
			if !own {
				inner, err := nsPid("/proc/"+field+"/status", level)
				if err != nil {
					return nil, fmt.Errorf("child %d: %v", pid, err)
				}
				pid = inner
			}
			kids = append(kids, pid)
		}
	}
	return kids, nil
}

// procNamespace tells whether /proc shows entry's own PID namespace and, if
// not, entry's depth in the namespaces /proc shows (the index of its own pid
// in an NSpid line).
func procNamespace() (own bool, level int, err error) {
	self, err := os.Readlink("/proc/self")
	if err != nil {
		return false, 0, fmt.Errorf("/proc is not mounted: %v", err)
	}
	if self == strconv.Itoa(os.Getpid()) {
		return true, 0, nil
	}
	fields, err := nsPids("/proc/self/status")
	if err != nil {
		return false, 0, err
	}
	if fields[len(fields)-1] != os.Getpid() {
		return false, 0, fmt.Errorf("/proc belongs to another PID namespace, and its NSpid line does not name entry's pid %d", os.Getpid())
	}
	return false, len(fields) - 1, nil
}

// nsPid returns the pid at level from the NSpid line of a status file.
func nsPid(status string, level int) (int, error) {
	fields, err := nsPids(status)
	if err != nil {
		return 0, err
	}
	if level >= len(fields) {
		return 0, fmt.Errorf("%s: not in entry's PID namespace", status)
	}
	return fields[level], nil
}

// nsPids reads the NSpid line of a status file: the process's pid in each
// namespace from /proc's down to its own.
func nsPids(status string) ([]int, error) {
	data, err := os.ReadFile(status)
	if err != nil {
		return nil, err
	}
	for line := range strings.Lines(string(data)) {
		rest, ok := strings.CutPrefix(line, "NSpid:")
		if !ok {
			continue
		}
		var pids []int
		for _, f := range strings.Fields(rest) {
			pid, err := strconv.Atoi(f)
			if err != nil {
				return nil, fmt.Errorf("%s: NSpid: %q is not a pid", status, f)
			}
			pids = append(pids, pid)
		}
		if len(pids) > 0 {
			return pids, nil
		}
	}
	return nil, fmt.Errorf("%s has no NSpid line (a kernel before 4.1?): /proc belongs to another PID namespace", status)
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
