package supervise

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Limits of the control socket. A client writes its request as soon as it
// has connected, so a short read deadline only ends connections that send
// nothing; a health request's own timeout is capped because ECS's
// healthCheck timeout is at most 60s.
const (
	// MaxSocketPath is the longest path a Unix socket can be bound to:
	// sun_path holds 108 bytes with the terminating NUL.
	MaxSocketPath = 107
	// MaxRequest bounds a request line, newline included.
	MaxRequest       = 4 << 10
	requestDeadline  = 3 * time.Second
	maxHealthTimeout = 60 * time.Second
	replyDeadline    = 10 * time.Second
	// maxConns bounds the connections served at once on a generous
	// descriptor limit; a low limit lowers it (connLimit).
	maxConns = 64
)

// CheckControlSocket refuses a path the supervisor could not listen on
// whatever the permissions: too long for a socket address, or in a
// directory that does not exist (entry does not create one).
func CheckControlSocket(path string) error {
	abs, err := filepath.Abs(path)
	if err != nil {
		return err
	}
	if len(abs) > MaxSocketPath {
		return fmt.Errorf("%s: too long (%d > %d bytes): choose a shorter path, such as /tmp/entry.sock", abs, len(abs), MaxSocketPath)
	}
	dir := filepath.Dir(abs)
	st, err := os.Stat(dir)
	if err != nil && errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("%s: directory %s does not exist: create it in the image, or choose a path in an existing directory, such as /tmp/entry.sock", abs, dir)
	}
	if err == nil && !st.IsDir() {
		return fmt.Errorf("%s: %s is not a directory", abs, dir)
	}
	return nil
}

// FallbackControlSocket is where a supervisor listens when it was left to
// the default and cannot create DefaultControlSocket (a non-root USER
// cannot write /run): a name of its user's own in /tmp.
func FallbackControlSocket(uid int) string {
	return fmt.Sprintf("/tmp/entry-%d.sock", uid)
}

// A control is the listening socket.
type control struct {
	l    *net.UnixListener
	path string
	ino  uint64
}

// listenControlDefault listens on DefaultControlSocket, or on the fallback
// when the default's directory is missing, read-only or not the user's.
func listenControlDefault() (*control, error) {
	c, err := listenControl(DefaultControlSocket)
	if err == nil || !(errors.Is(err, os.ErrPermission) || errors.Is(err, os.ErrNotExist) || errors.Is(err, syscall.EROFS)) {
		return c, err
	}
	fallback := FallbackControlSocket(os.Geteuid())
	c, err2 := listenControl(fallback)
	if err2 != nil {
		return nil, fmt.Errorf("%v; and %v", err, err2)
	}
	return c, nil
}

// listenControl listens on path, made absolute, with mode 0600. The socket
// is bound under its own name with a umask that leaves it 0600 from the
// start, so it is never reachable with looser permissions (a temporary name
// would be longer, and fail for a path near the limit). A stale socket
// (nobody answers) is replaced; a live one, or another kind of file, is
// left alone. The check and the replacement hold a lock on the directory,
// so that two entries starting at once cannot both replace it.
func listenControl(path string) (*control, error) {
	if err := CheckControlSocket(path); err != nil {
		return nil, err
	}
	path, _ = filepath.Abs(path)
	dir, err := os.Open(filepath.Dir(path))
	if err != nil {
		return nil, err
	}
	defer dir.Close()
	// Best effort: a file system without flock still gets the socket.
	if err := unix.Flock(int(dir.Fd()), unix.LOCK_EX); err == nil {
		defer unix.Flock(int(dir.Fd()), unix.LOCK_UN)
	}
	l, err := bindPrivate(path)
	if errors.Is(err, syscall.EADDRINUSE) {
		st, serr := os.Lstat(path)
		switch {
		case serr != nil:
			return nil, serr
		case st.Mode()&os.ModeSocket == 0:
			return nil, fmt.Errorf("%s exists and is not a socket: remove it, or choose another control_socket", path)
		}
		c, derr := net.DialTimeout("unix", path, time.Second)
		if derr == nil {
			c.Close()
			return nil, fmt.Errorf("%s: another entry answers there (set --control-socket or ENTRY_CONTROL_SOCKET)", path)
		}
		if !errors.Is(derr, syscall.ECONNREFUSED) {
			return nil, fmt.Errorf("%s: cannot tell whether another entry answers there: %v", path, unwrapOp(derr))
		}
		if err := os.Remove(path); err != nil {
			return nil, fmt.Errorf("replacing the stale socket: %v", err)
		}
		l, err = bindPrivate(path)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, unwrapOp(err))
	}
	l.SetUnlinkOnClose(false) // close removes it only if it is still ours
	c := &control{l: l, path: path}
	if st, err := os.Lstat(path); err == nil {
		c.ino = st.Sys().(*syscall.Stat_t).Ino
	}
	return c, nil
}

// bindPrivate binds and listens on path with the socket file mode 0600.
// The umask is the process's, so this runs before any process is started.
func bindPrivate(path string) (*net.UnixListener, error) {
	old := syscall.Umask(0o177)
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	syscall.Umask(old)
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(path, 0o600); err != nil {
		l.Close()
		return nil, err
	}
	return l, nil
}

// close stops listening and removes the socket, unless another entry has
// put its own there since.
func (c *control) close() {
	c.l.Close()
	if st, err := os.Lstat(c.path); err == nil && st.Sys().(*syscall.Stat_t).Ino == c.ino {
		os.Remove(c.path)
	}
}

// listenControl listens on the role's control socket; the default one
// falls back to a path of the user's own (FallbackControlSocket).
func (s *Supervisor) listenControl() (*control, error) {
	if s.role.ControlSocket == DefaultControlSocket {
		c, err := listenControlDefault()
		if err == nil && c.path != DefaultControlSocket {
			s.infof("", "control socket %s (user %d cannot create %s)", c.path, os.Geteuid(), DefaultControlSocket)
		}
		return c, err
	}
	return listenControl(s.role.ControlSocket)
}

// connLimit is connLimit for this role under entry's descriptor limit.
func (s *Supervisor) connLimit() int {
	var lim unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		return maxConns
	}
	checks := 0
	for _, p := range s.procs {
		if p.Ready != nil {
			checks++
		}
	}
	return connLimit(lim.Cur, len(s.procs), checks)
}

// connLimit is how many connections may be served at once with nofile
// descriptors: what is left after a reserve for the processes (the pipes
// of a start, the output pipes kept open, a ready check each) and entry's
// own files, divided by what a connection can hold (itself and one ready
// check per process that has one).
func connLimit(nofile uint64, procs, readyChecks int) int {
	reserve := 32 + 8*procs
	n := (int(min(nofile, 1<<20)) - reserve) / (1 + readyChecks)
	return max(1, min(n, maxConns))
}

// serveControl accepts connections until the listener is closed, at most
// limit at once: the others wait in the kernel's listen queue, holding no
// descriptor of entry's. Accept blocks in the runtime's poller: an idle
// socket costs no wake-up.
func (s *Supervisor) serveControl(c *control, limit int) {
	slots := make(chan struct{}, limit)
	var idle idleTrim
	for {
		slots <- struct{}{}
		conn, err := c.l.Accept()
		if err != nil {
			<-slots
			if errors.Is(err, net.ErrClosed) {
				idle.stop()
				return
			}
			time.Sleep(100 * time.Millisecond) // EMFILE and the like: do not spin
			continue
		}
		idle.begin()
		go func() {
			s.serveConn(conn)
			<-slots
			idle.end()
		}()
	}
}

// idleTrim keeps the memory requests use from staying with entry: the
// health check comes every 30s for the life of the task, and the runtime
// would otherwise keep the pages of the busiest moment. While connections
// are being served, a soft memory limit a little above the idle figure
// makes the collector run before the heap grows; once the socket has had
// no connection for trimAfter, the garbage is returned to the kernel and
// the limit lifted, so that nothing else (a long output line) ever works
// under it. Nothing runs while the socket stays idle.
type idleTrim struct {
	mu       sync.Mutex
	active   int
	timer    *time.Timer
	baseline uint64 // memory in use after the last trim
}

const (
	trimAfter = 500 * time.Millisecond
	// burstHeadroom is how far above the idle figure serving may take
	// entry's memory before the collector runs.
	burstHeadroom = 512 << 10
)

func (t *idleTrim) begin() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.active++
	if t.timer != nil {
		t.timer.Stop()
	}
	if t.baseline == 0 {
		t.baseline = memoryInUse()
	}
	debug.SetMemoryLimit(int64(t.baseline + burstHeadroom))
}

func (t *idleTrim) end() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.active--
	if t.active > 0 {
		return
	}
	if t.timer == nil {
		t.timer = time.AfterFunc(trimAfter, t.trim)
		return
	}
	t.timer.Reset(trimAfter)
}

func (t *idleTrim) trim() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.active > 0 {
		return
	}
	debug.SetMemoryLimit(math.MaxInt64)
	trimMemory()
	t.baseline = memoryInUse()
}

func (t *idleTrim) stop() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.timer != nil {
		t.timer.Stop()
	}
	debug.SetMemoryLimit(math.MaxInt64)
}

// memoryInUse is the memory the runtime holds from the kernel, as its
// memory limit counts it (Sys less HeapReleased: runtime/metrics'
// /memory/classes/total less /memory/classes/heap/released). ReadMemStats
// rather than runtime/metrics, whose package initialiser alone keeps 15 KB
// of heap in every entry process.
func memoryInUse() uint64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.Sys - m.HeapReleased
}

// errTooLong is a request line over MaxRequest.
var errTooLong = fmt.Errorf("request too long (over %d bytes): a request is one JSON line", MaxRequest)

// readRequest reads one request line (the newline may be left out when the
// client closes its side after the request).
func readRequest(r *bufio.Reader) (Request, error) {
	line, err := r.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		return Request{}, errTooLong
	}
	if err != nil && !(errors.Is(err, io.EOF) && len(line) > 0) {
		if errors.Is(err, io.EOF) {
			return Request{}, errors.New("no request: the client closed the connection without sending one")
		}
		return Request{}, err
	}
	return DecodeRequest(line)
}

// DecodeRequest parses one request line.
func DecodeRequest(line []byte) (Request, error) {
	var req Request
	if len(line) > MaxRequest {
		return req, errTooLong
	}
	line = bytes.TrimSpace(line)
	if len(line) == 0 {
		return req, errors.New("empty request: want one JSON line, such as {\"cmd\":\"status\"}")
	}
	// Unknown fields are ignored: a newer client may ask more of an older
	// supervisor.
	dec := json.NewDecoder(bytes.NewReader(line))
	if err := dec.Decode(&req); err != nil {
		return Request{}, fmt.Errorf("bad request: %v", err)
	}
	if dec.More() {
		return Request{}, errors.New("bad request: more than one JSON value on the line")
	}
	if req.Timeout < 0 {
		return Request{}, fmt.Errorf("bad request: timeout %s is negative", req.Timeout)
	}
	return req, nil
}

// serveConn answers one request. While Run's goroutine works on it, a read
// waits for the client to hang up: a client that has gone cancels the
// request's work (health checks) and frees its descriptor at once.
func (s *Supervisor) serveConn(conn net.Conn) {
	defer conn.Close()
	conn.SetReadDeadline(time.Now().Add(requestDeadline))
	r := bufio.NewReaderSize(conn, MaxRequest)
	req, err := readRequest(r)
	var resp Response
	if err != nil {
		resp.Error = err.Error()
	} else {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		conn.SetReadDeadline(time.Time{})
		go func() {
			var b [1]byte
			for {
				if _, err := conn.Read(b[:]); err != nil {
					cancel()
					return
				}
			}
		}()
		cr := &ctlRequest{Request: req, ctx: ctx, reply: make(chan Response, 1)}
		select {
		case s.events <- event{kind: evCtl, req: cr}:
			select {
			case resp = <-cr.reply:
			case <-ctx.Done():
				return // the client has gone: nobody to answer
			case <-s.quit:
				resp.Error = "the role has stopped"
			}
		case <-ctx.Done():
			return
		case <-s.quit:
			resp.Error = "the role has stopped"
		}
	}
	conn.SetWriteDeadline(time.Now().Add(replyDeadline))
	b, _ := json.Marshal(resp)
	conn.Write(append(b, '\n'))
}

// Call sends req to the supervisor listening on path and returns its
// answer; an error means the supervisor could not be asked.
func Call(path string, req Request, timeout time.Duration) (*Response, error) {
	if timeout <= 0 {
		return nil, fmt.Errorf("timeout %s: want a positive duration", timeout)
	}
	if len(path) > MaxSocketPath {
		return nil, fmt.Errorf("control socket %s: too long (%d > %d bytes)", path, len(path), MaxSocketPath)
	}
	conn, err := net.DialTimeout("unix", path, timeout)
	if err != nil {
		return nil, dialError(path, err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(timeout))
	b, _ := json.Marshal(req)
	if _, err := conn.Write(append(b, '\n')); err != nil {
		return nil, fmt.Errorf("%s: %v", path, unwrapOp(err))
	}
	line, err := bufio.NewReader(conn).ReadBytes('\n')
	if err != nil {
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return nil, fmt.Errorf("%s: no answer within %s (raise --timeout)", path, timeout)
		}
		return nil, fmt.Errorf("%s: no answer: %v", path, unwrapOp(err))
	}
	var resp Response
	if err := json.Unmarshal(line, &resp); err != nil {
		return nil, fmt.Errorf("%s: bad answer: %v", path, err)
	}
	return &resp, nil
}

// dialError says why path could not be reached, and what to do.
func dialError(path string, err error) error {
	if errors.Is(err, os.ErrPermission) {
		owner := ""
		if st, serr := os.Stat(path); serr == nil {
			owner = fmt.Sprintf(" (owned by uid %d, mode %04o)", st.Sys().(*syscall.Stat_t).Uid, st.Mode().Perm())
		}
		return fmt.Errorf("cannot reach the supervisor at %s: permission denied%s: run this as the user entry runs as (docker exec -u USER)", path, owner)
	}
	return fmt.Errorf("cannot reach the supervisor at %s: %v (is entry running a role there? run it inside the container: docker exec CONTAINER entry ctl status)", path, unwrapOp(err))
}
