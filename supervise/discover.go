package supervise

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// FindControlSocket returns the control socket a running supervisor
// listens on, however it was configured (a flag given to the ENTRYPOINT,
// a variable set by a wrapper, a relative control_socket): the Unix socket
// in the listening state (/proc/net/unix) that entry as PID 1, or as a
// child of PID 1, holds open (/proc/PID/fd). "" means none was found; the error
// then says what could not be looked at (another user's process).
func FindControlSocket() (string, error) {
	return findControlSocket("/proc")
}

func findControlSocket(proc string) (string, error) {
	listening, err := listeningSockets(filepath.Join(proc, "net/unix"))
	if err != nil || len(listening) == 0 {
		return "", err
	}
	self, _ := os.Executable()
	var denied error
	for _, pid := range candidates(proc) {
		dir := filepath.Join(proc, strconv.Itoa(pid))
		if !isEntry(dir, self) {
			continue
		}
		fds, err := os.ReadDir(filepath.Join(dir, "fd"))
		if err != nil {
			if errors.Is(err, os.ErrPermission) && denied == nil {
				denied = fmt.Errorf("cannot look at the sockets of process %d (%s): permission denied: run this as the user entry runs as", pid, comm(dir))
			}
			continue
		}
		for _, fd := range fds {
			link, err := os.Readlink(filepath.Join(dir, "fd", fd.Name()))
			if err != nil {
				continue
			}
			ino, ok := strings.CutPrefix(link, "socket:[")
			if !ok {
				continue
			}
			if path, ok := listening[strings.TrimSuffix(ino, "]")]; ok {
				return path, nil
			}
		}
	}
	return "", denied
}

// candidates lists PID 1, then its children (entry under tini or docker
// run --init), in pid order: the processes of a container that can be its
// supervisor, and never another container's or the host's others.
func candidates(proc string) []int {
	pids := []int{1}
	tasks, _ := filepath.Glob(filepath.Join(proc, "1/task/*/children"))
	for _, f := range tasks {
		data, _ := os.ReadFile(f)
		for _, w := range strings.Fields(string(data)) {
			if pid, err := strconv.Atoi(w); err == nil {
				pids = append(pids, pid)
			}
		}
	}
	sort.Ints(pids[1:])
	return pids
}

// isEntry reports whether the process at dir runs entry: the same
// executable as this one, or a program named entry (or one of the EntryKit
// names it answers to).
func isEntry(dir, self string) bool {
	switch comm(dir) {
	case "entry", "prehook", "codep", "switch":
		return true
	}
	if self == "" {
		return false
	}
	a, err1 := os.Stat(filepath.Join(dir, "exe"))
	b, err2 := os.Stat(self)
	return err1 == nil && err2 == nil && os.SameFile(a, b)
}

func comm(dir string) string {
	data, _ := os.ReadFile(filepath.Join(dir, "comm"))
	return strings.TrimSpace(string(data))
}

// listeningSockets maps the inode of every listening Unix stream socket
// with a path in the file system to that path.
func listeningSockets(netUnix string) (map[string]string, error) {
	data, err := os.ReadFile(netUnix)
	if err != nil {
		return nil, err
	}
	const acceptCon = 0x10000 // __SO_ACCEPTCON: listening
	out := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for sc.Scan() {
		// Num RefCount Protocol Flags Type St Inode Path
		f := strings.Fields(sc.Text())
		if len(f) < 8 || !strings.HasPrefix(f[7], "/") {
			continue
		}
		flags, err1 := strconv.ParseUint(f[3], 16, 32)
		typ, err2 := strconv.ParseUint(f[4], 16, 16)
		if err1 != nil || err2 != nil || flags&acceptCon == 0 || typ != 1 {
			continue
		}
		out[f[6]] = strings.Join(f[7:], " ")
	}
	return out, sc.Err()
}
