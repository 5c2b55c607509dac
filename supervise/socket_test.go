package supervise

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/entryhq/entry/internal/testtool"
)

// serveRole runs role in the test process with a control socket in a
// temporary directory, until stop (which returns the output).
func serveRole(t *testing.T, role Role) (sock string, stop func() string) {
	t.Helper()
	sock = filepath.Join(t.TempDir(), "ctl.sock")
	role.ControlSocket = sock
	var out testtool.SyncBuffer
	role.Stdout, role.Stderr = &out, &out
	s, err := New(role)
	if err != nil {
		t.Fatal(err)
	}
	signals := make(chan os.Signal, 1)
	done := make(chan int, 1)
	go func() { done <- s.Run(signals) }()
	stopped := false
	stop = func() string {
		t.Helper()
		if stopped {
			return out.String()
		}
		stopped = true
		signals <- syscall.SIGTERM
		select {
		case <-done:
			checkNoChildren(t)
		case <-time.After(testtool.Patience):
			t.Fatalf("role still running after %s; output:\n%s", testtool.Patience, out.String())
		}
		return out.String()
	}
	t.Cleanup(func() { stop() })
	testtool.Eventually(t, "the control socket answering", func() bool {
		_, err := Call(sock, Request{Cmd: "status"}, testtool.Patience)
		return err == nil
	}, out.String)
	return sock, stop
}

// rawRequest writes data on a new connection to sock and returns the
// answer line.
func rawRequest(t *testing.T, sock string, data string) Response {
	t.Helper()
	c, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(testtool.Patience))
	if _, err := c.Write([]byte(data)); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(c).ReadBytes('\n')
	if err != nil {
		t.Fatalf("no answer to %.40q: %v", data, err)
	}
	var resp Response
	if err := json.Unmarshal(line, &resp); err != nil {
		t.Fatalf("answer %q: %v", line, err)
	}
	return resp
}

var loopForever = `trap 'exit 0' TERM; echo up; while :; do sleep 0.05; done`

// A path of 107 bytes, the most a socket address holds, works; one byte
// more, or a directory that does not exist, is refused with what to do
// (and no directory is created).
func TestControlSocketPathLimits(t *testing.T) {
	dir := t.TempDir()
	if len(dir) > 90 {
		t.Skipf("temporary directory %s too long for this test", dir)
	}
	longest := dir + "/" + strings.Repeat("s", MaxSocketPath-len(dir)-1)
	c, err := listenControl(longest)
	if err != nil {
		t.Fatalf("a %d-byte path: %v", len(longest), err)
	}
	if st, err := os.Lstat(longest); err != nil || st.Mode()&os.ModeSocket == 0 || st.Mode().Perm() != 0o600 {
		t.Errorf("socket: %v %v, want a socket of mode 0600", st.Mode(), err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("the directory holds %d entries, want the socket alone (no temporary name)", len(entries))
	}
	c.close()
	if _, err := os.Lstat(longest); !os.IsNotExist(err) {
		t.Errorf("close left the socket: %v", err)
	}

	tooLong := longest + "x"
	_, err = listenControl(tooLong)
	want := fmt.Sprintf("%s: too long (108 > 107 bytes): choose a shorter path, such as /tmp/entry.sock", tooLong)
	if err == nil || err.Error() != want {
		t.Errorf("108 bytes: %v\nwant %s", err, want)
	}
	if _, err := Call(tooLong, Request{Cmd: "status"}, time.Second); err == nil || !strings.Contains(err.Error(), "too long (108 > 107 bytes)") {
		t.Errorf("Call on 108 bytes: %v", err)
	}

	missing := filepath.Join(dir, "no-such-dir")
	_, err = listenControl(filepath.Join(missing, "x.sock"))
	want = fmt.Sprintf("%s/x.sock: directory %s does not exist: create it in the image, or choose a path in an existing directory, such as /tmp/entry.sock", missing, missing)
	if err == nil || err.Error() != want {
		t.Errorf("missing directory: %v\nwant %s", err, want)
	}
	if _, err := os.Stat(missing); !os.IsNotExist(err) {
		t.Errorf("%s was created", missing)
	}
}

// A stale socket (nobody listening) is replaced; a live one, or a file of
// another kind, is left alone.
func TestControlSocketStaleLiveAndFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "ctl.sock")
	stale, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	stale.SetUnlinkOnClose(false)
	stale.Close()
	c, err := listenControl(path)
	if err != nil {
		t.Fatalf("replacing a stale socket: %v", err)
	}
	_, err = listenControl(path)
	if want := path + ": another entry answers there (set --control-socket or ENTRY_CONTROL_SOCKET)"; err == nil || err.Error() != want {
		t.Errorf("a live socket: %v, want %s", err, want)
	}
	c.close()

	file := filepath.Join(dir, "file.sock")
	if err := os.WriteFile(file, []byte("keep me"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = listenControl(file)
	if want := file + " exists and is not a socket: remove it, or choose another control_socket"; err == nil || err.Error() != want {
		t.Errorf("a regular file: %v, want %s", err, want)
	}
	if data, _ := os.ReadFile(file); string(data) != "keep me" {
		t.Errorf("the file was changed: %q", data)
	}
}

// Bad requests are answered with what is wrong, and the socket serves on.
func TestControlBadRequests(t *testing.T) {
	sock, stop := serveRole(t, Role{Name: "web", Processes: []Process{{Name: "app", Shell: loopForever}}})
	for _, c := range []struct{ data, want string }{
		{strings.Repeat("a", 5000) + "\n", "request too long (over 4096 bytes): a request is one JSON line"},
		{`{"cmd":"status","name":"` + strings.Repeat("a", MaxRequest) + `"}` + "\n", "request too long (over 4096 bytes): a request is one JSON line"},
		{"{nope\n", "bad request: invalid character 'n' looking for beginning of object key string"},
		{"\n", `empty request: want one JSON line, such as {"cmd":"status"}`},
		{`{"cmd":"health","timeout":-1}` + "\n", "bad request: timeout -1ns is negative"},
		{`{"cmd":"status"} {"cmd":"stop","name":"app"}` + "\n", "bad request: more than one JSON value on the line"},
		{`{"cmd":"reload"}` + "\n", `unknown command "reload" (want status, health, start, stop, restart, signal or run)`},
	} {
		if resp := rawRequest(t, sock, c.data); resp.Error != c.want {
			t.Errorf("%.40q: answer %q, want %q", c.data, resp.Error, c.want)
		}
	}
	if resp := rawRequest(t, sock, `{"cmd":"status"}`+"\n"); len(resp.Processes) != 1 || resp.Processes[0].State != "running" {
		t.Errorf("status after the bad requests: %+v", resp)
	}
	if out := stop(); strings.Contains(out, "app: exited") && !strings.Contains(out, "exited with 0") {
		t.Errorf("output:\n%s", out)
	}
}

// A health request whose client has gone stops its readiness checks at
// once, whatever timeout it asked for.
func TestControlHealthCancelledWhenClientGoes(t *testing.T) {
	var hang atomic.Bool
	entered, gone := make(chan struct{}, 1), make(chan struct{}, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !hang.Load() {
			return
		}
		entered <- struct{}{}
		<-r.Context().Done()
		gone <- struct{}{}
	}))
	defer srv.Close()
	ready, err := ParseReady(srv.URL+"/up", nil)
	if err != nil {
		t.Fatal(err)
	}
	sock, _ := serveRole(t, Role{Name: "web", Processes: []Process{{Name: "puma", Shell: loopForever, Ready: ready}}})
	if resp, err := Call(sock, Request{Cmd: "health", Timeout: time.Second}, testtool.Patience); err != nil || len(resp.Problems) > 0 {
		t.Fatalf("health: %+v %v", resp, err)
	}
	hang.Store(true)
	c, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(c, `{"cmd":"health","timeout":%d}`+"\n", time.Hour)
	select {
	case <-entered:
	case <-time.After(testtool.Patience):
		t.Fatal("the health check did not reach the server")
	}
	c.Close()
	select {
	case <-gone:
	case <-time.After(testtool.Patience):
		t.Fatal("the health check still runs after its client went away")
	}
}

// As PID 1 under a 256-descriptor limit, 400 connections that send
// nothing do not stop a crashing process from restarting (issue 19: they
// took every descriptor, and the restart failed with "pipe2: too many open
// files").
func TestPID1IdleConnectionsCannotStarveRestarts(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "ctl.sock")
	p := startPID1(t, helperSpec{NoFile: 256, Role: Role{Name: "job", ControlSocket: sock, Processes: []Process{
		{Name: "crasher", Shell: "echo run; sleep 0.05; exit 3", Essential: true, Restart: RestartAlways, BackoffMin: time.Millisecond, BackoffMax: time.Millisecond},
	}}})
	// The socket's file exists from bind on, a moment before listen: wait
	// for an answer, not for the file.
	testtool.Eventually(t, "the control socket answering", func() bool {
		_, err := Call(sock, Request{Cmd: "status"}, testtool.Patience)
		return err == nil
	}, p.out.String)
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for range 400 {
		c, err := net.DialTimeout("unix", sock, testtool.Patience)
		if err != nil {
			t.Fatalf("connection %d: %v", len(conns)+1, err)
		}
		conns = append(conns, c)
	}
	// Ten restarts more, with every connection still open.
	runs := strings.Count(p.out.String(), "crasher | run")
	testtool.Eventually(t, "ten more restarts", func() bool {
		return strings.Count(p.out.String(), "crasher | run") >= runs+10
	}, p.out.String)
	if out := p.out.String(); strings.Contains(out, "cannot start") {
		t.Fatalf("a restart failed:\n%s", out)
	}
	p.signal(syscall.SIGTERM)
	p.wait()
}
