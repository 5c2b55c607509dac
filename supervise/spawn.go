package supervise

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// A child is one started process group; its pid is also its group id.
type child struct {
	pid   int
	name  string
	owner *proc // the role process it belongs to
	done  chan struct{}
	exit  ExitStatus
}

func (c *child) Pid() int              { return c.pid }
func (c *child) Done() <-chan struct{} { return c.done }
func (c *child) Exit() ExitStatus      { return c.exit }
func (c *child) Signal(sig syscall.Signal) error {
	err := unix.Kill(-c.pid, sig)
	if err == unix.ESRCH {
		return nil // the whole group is already gone
	}
	return err
}

// A startError is a process that could not be started at all; it counts as
// an exit with code (127 not found, 126 not executable), as in a shell.
type startError struct {
	code int
	err  error
}

func (e *startError) Error() string { return e.err.Error() }

// spawnSpec is what spawn starts.
type spawnSpec struct {
	name  string
	argv  []string
	env   []string
	dir   string
	stdio bool // share entry's stdin, stdout and stderr (the tini model)
	quiet bool // output to /dev/null (a ready command)
}

// pipeDrainWait is how long an exit waits for the process's last output
// lines before it is reported: a grandchild may keep the pipe open for
// longer, and must not hold the exit up.
const pipeDrainWait = 100 * time.Millisecond

// pipeSize is the capacity asked for each output pipe.
const pipeSize = 1 << 20

// spawn starts spec as a new process group. onExit runs once the child has
// been reaped and its output drained (or pipeDrainWait has passed).
func (s *Supervisor) spawn(spec spawnSpec, owner *proc, onExit func(*child)) (*child, error) {
	path, err := lookPath(spec.argv[0], envValue(spec.env, "PATH"))
	if err != nil {
		code := 127
		if !errors.Is(err, errNotFound) {
			code = 126
		}
		return nil, &startError{code, err}
	}
	if spec.dir != "" {
		if st, err := os.Stat(spec.dir); err != nil || !st.IsDir() {
			return nil, &startError{126, fmt.Errorf("working directory %s does not exist (check dir: in entry.yml)", spec.dir)}
		}
	}

	sys := &syscall.SysProcAttr{Setpgid: true}
	var files []uintptr
	var outR, errR *os.File
	if spec.quiet {
		files = []uintptr{s.devNull.Fd(), s.devNull.Fd(), s.devNull.Fd()}
	} else if spec.stdio {
		files = []uintptr{0, 1, 2}
		if isForegroundTTY(0) {
			// Like tini: the command gets the terminal, so that an
			// interactive shell reads it and receives ^C itself.
			sys.Foreground, sys.Ctty = true, 0
		}
	} else {
		var outW, errW *os.File
		if outR, outW, err = os.Pipe(); err != nil {
			return nil, err
		}
		if errR, errW, err = os.Pipe(); err != nil {
			outR.Close()
			outW.Close()
			return nil, err
		}
		// A pipe larger than Linux's 64 KiB default lets a chatty process
		// write on while entry is busy, and lets each of entry's reads
		// carry more lines. Best effort: the limit is pipe-max-size.
		// Set through the write ends, whose Fd() the child takes anyway:
		// Fd() on a read end would make entry's reads blocking.
		for _, w := range []*os.File{outW, errW} {
			_, _ = unix.FcntlInt(w.Fd(), unix.F_SETPIPE_SZ, pipeSize)
		}
		files = []uintptr{s.devNull.Fd(), outW.Fd(), errW.Fd()}
		defer outW.Close()
		defer errW.Close()
	}

	c := &child{name: spec.name, owner: owner, done: make(chan struct{})}
	drained := make(chan struct{})
	attr := &syscall.ProcAttr{Dir: spec.dir, Env: spec.env, Files: files, Sys: sys}
	pid, err := s.reaper.start(func() (int, error) {
		return syscall.ForkExec(path, spec.argv, attr)
	}, func(st ExitStatus) {
		go func() {
			t := time.NewTimer(pipeDrainWait)
			select {
			case <-drained:
			case <-t.C:
			}
			t.Stop()
			c.exit = st
			close(c.done)
			onExit(c)
		}()
	})
	if err != nil {
		if outR != nil {
			outR.Close()
			errR.Close()
		}
		code := 126
		if errors.Is(err, syscall.ENOENT) {
			code = 127
		}
		return nil, &startError{code, fmt.Errorf("%s: %v", path, err)}
	}
	c.pid = pid
	if outR == nil {
		close(drained)
		return c, nil
	}
	var wg sync.WaitGroup
	wg.Add(2)
	s.pumps.Add(2)
	for _, p := range []struct {
		r      *os.File
		stream string
	}{{outR, "stdout"}, {errR, "stderr"}} {
		go func() {
			defer s.pumps.Done()
			defer wg.Done()
			s.log.lineWriter(spec.name, p.stream).pump(p.r)
			p.r.Close()
		}()
	}
	go func() { wg.Wait(); close(drained) }()
	return c, nil
}

// isForegroundTTY reports whether fd is entry's controlling terminal.
func isForegroundTTY(fd int) bool {
	_, err := unix.IoctlGetInt(fd, unix.TIOCGPGRP)
	return err == nil
}

var errNotFound = errors.New("command not found")

// lookPath finds file in pathEnv (the role's PATH, not entry's own).
func lookPath(file, pathEnv string) (string, error) {
	check := func(p string) error {
		st, err := os.Stat(p)
		if err != nil {
			return err
		}
		if st.IsDir() || st.Mode()&0o111 == 0 {
			return fmt.Errorf("%s is not an executable file", p)
		}
		return nil
	}
	if strings.Contains(file, "/") {
		if err := check(file); err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return "", fmt.Errorf("%s: %w", file, errNotFound)
			}
			return "", err
		}
		return file, nil
	}
	for _, dir := range filepath.SplitList(pathEnv) {
		if dir == "" {
			dir = "."
		}
		p := filepath.Join(dir, file)
		if err := check(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s: %w in PATH=%s", file, errNotFound, pathEnv)
}

// envValue returns the last value of key in a KEY=VALUE list.
func envValue(env []string, key string) string {
	for i := len(env) - 1; i >= 0; i-- {
		if v, ok := strings.CutPrefix(env[i], key+"="); ok {
			return v
		}
	}
	return ""
}
