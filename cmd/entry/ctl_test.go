package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/entryhq/entry/internal/testtool"
)

// ctlEnv points entry and its clients at a socket of the test's own.
func ctlEnv(t *testing.T) (string, []string) {
	sock := filepath.Join(t.TempDir(), "ctl.sock")
	return sock, []string{"ENTRY_CONTROL_SOCKET=" + sock}
}

// waitSocket waits for entry's control socket to appear.
func waitSocket(t *testing.T, r *runningEntry, sock string) {
	t.Helper()
	testtool.Eventually(t, "control socket "+sock, func() bool {
		st, err := os.Lstat(sock)
		return err == nil && st.Mode()&os.ModeSocket != 0
	}, func() string { return "stderr:\n" + r.stderr.String() })
}

// Without a writable place for the socket (a non-root user and /run, say),
// the role still runs, and entry says how to fix it.
func TestCtlSocketUnwritable(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"entry.yml": "roles:\n  web:\n    app: echo served\n"})
	r := runEntry(t, dir, []string{"ENTRY_CONTROL_SOCKET=/proc/entry-ctl.sock"}, "role=web")
	if r.code != 0 || !strings.Contains(r.stdout, "app | served") {
		t.Fatalf("exit %d, want the role to run\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	want := "; set control_socket (ENTRY_CONTROL_SOCKET) to a writable path such as /tmp/entry.sock, or to none\n"
	if !strings.HasPrefix(r.stderr, "entry: no control socket (entry ctl, entry health will not work): ") || !strings.Contains(r.stderr, want) {
		t.Errorf("stderr:\n%s\nwant the no-socket line ending %q", r.stderr, want)
	}
}

func TestCtlControlsProcessesOfARunningRole(t *testing.T) {
	dir := t.TempDir()
	sock, env := ctlEnv(t)
	writeFiles(t, dir, map[string]string{"entry.yml": `roles:
  web:
    app: {command: "trap 'echo app got USR1' USR1; trap 'echo app got TERM; exit 0' TERM; echo app up; while :; do sleep 0.05; done", stop_timeout: 20s}
    side: {command: "trap 'exit 0' TERM; echo side up; while :; do sleep 0.05; done", essential: false}
    plain: {command: "echo plain up; exec sleep 1000", essential: false}
`})
	r := startEntry(t, dir, env, true, "role=web")
	r.waitFor("app | app up", testtool.Patience)
	r.waitFor("side | side up", testtool.Patience)
	r.waitFor("plain | plain up", testtool.Patience)
	waitSocket(t, r, sock)
	if st, err := os.Stat(sock); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("socket mode: %v %v, want 0600", st.Mode(), err)
	}
	ctl := func(want int, args ...string) string {
		t.Helper()
		res := runEntry(t, dir, env, args...)
		if res.code != want {
			t.Fatalf("entry %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s\nentry's stderr:\n%s", strings.Join(args, " "), res.code, want, res.stdout, res.stderr, r.stderr.String())
		}
		return res.stdout + res.stderr
	}
	out := ctl(0, "ctl", "status")
	if !regexp.MustCompile(`(?m)^NAME +STATE +READY +PID +UPTIME +RESTARTS +LAST EXIT\napp +running +yes +\d+ +\d+s +0 +-\nside +running +yes +\d+ `).MatchString(out) {
		t.Fatalf("status:\n%s", out)
	}
	if out := ctl(0, "health"); out != "healthy\n" {
		t.Fatalf("health: %q", out)
	}

	// An essential process stopped by hand does not end the role.
	if out := ctl(0, "ctl", "stop", "app"); out != "app: stopped: exited with 0\n" {
		t.Fatalf("stop: %q", out)
	}
	r.waitFor("app | app got TERM", testtool.Patience)
	// As supervisorctl status: 3 when a process is not running.
	if out := ctl(3, "ctl", "status"); !regexp.MustCompile(`(?m)^app +stopped +- +- +- +0 +exited with 0$`).MatchString(out) {
		t.Fatalf("status after stop:\n%s", out)
	}
	if out := ctl(0, "ctl", "status", "side", "plain"); strings.Contains(out, "app") || !strings.Contains(out, "plain ") {
		t.Fatalf("status of side and plain:\n%s", out)
	}
	if out := ctl(4, "ctl", "status", "nope"); out != "entry: ctl status: no process \"nope\" in role web (processes: app, side, plain)\n" {
		t.Fatalf("status of an unknown process: %q", out)
	}
	var doc struct {
		Role      string           `json:"role"`
		Processes []map[string]any `json:"processes"`
	}
	if err := json.Unmarshal([]byte(ctl(3, "ctl", "status", "--json")), &doc); err != nil || doc.Role != "web" || len(doc.Processes) != 3 {
		t.Fatalf("status --json: %+v %v", doc, err)
	}
	app, side := doc.Processes[0], doc.Processes[1]
	if app["name"] != "app" || app["state"] != "stopped" || app["ready"] != nil || app["last_exit"] != "exited with 0" || app["last_exit_code"] != 0.0 || app["restarts"] != 0.0 || app["essential"] != true {
		t.Errorf("status --json, app: %v", app)
	}
	if side["state"] != "running" || side["ready"] != true || side["pid"].(float64) <= 0 || side["started_at"] == nil || side["uptime"] == nil { // uptime_s is left out while under 1 s
		t.Errorf("status --json, side: %v", side)
	}
	if out := ctl(1, "health"); out != "entry: unhealthy: app: stopped by entry ctl (entry ctl start app)\n" {
		t.Fatalf("health with app stopped: %q", out)
	}
	if out := ctl(0, "ctl", "start", "app"); !regexp.MustCompile(`^app: started \(pid \d+\)\n$`).MatchString(out) {
		t.Fatalf("start: %q", out)
	}
	r.waitFor("entry: app: starting (entry ctl)", testtool.Patience)
	if out := ctl(0, "ctl", "restart", "app"); !regexp.MustCompile(`^app: restarted \(pid \d+\) \(the last run exited with 0\)\n$`).MatchString(out) {
		t.Fatalf("restart: %q", out)
	}
	r.waitFor("app | app up", testtool.Patience)
	if out := ctl(0, "ctl", "status"); !regexp.MustCompile(`(?m)^app +running +yes +\d+ +\d+s +2 +exited with 0$`).MatchString(out) {
		t.Fatalf("status after restart:\n%s", out)
	}
	if out := ctl(0, "ctl", "signal", "app", "USR1"); out != "app: sent SIGUSR1\n" {
		t.Fatalf("signal: %q", out)
	}
	r.waitFor("app | app got USR1", testtool.Patience)
	if out := ctl(0, "ctl", "restart", "all"); !regexp.MustCompile(`^app: stopped: exited with 0\nside: stopped: exited with 0\nplain: stopped \(SIGTERM\)\napp: restarted \(pid \d+\)\nside: restarted \(pid \d+\)\nplain: restarted \(pid \d+\)\n$`).MatchString(out) {
		t.Fatalf("restart all: %q", out)
	}
	if out := ctl(0, "ctl", "status"); strings.Count(out, " running ") != 3 {
		t.Fatalf("status after restart all:\n%s", out)
	}
	// A process that dies of the stop signal entry sent it stopped as
	// asked: not "killed by SIGTERM".
	if out := ctl(0, "ctl", "stop", "plain"); out != "plain: stopped (SIGTERM)\n" {
		t.Fatalf("stop plain: %q", out)
	}
	if out := ctl(1, "ctl", "stop", "nope"); !strings.Contains(out, `entry: ctl stop: no process "nope" in role web (processes: app, side, plain)`) {
		t.Fatalf("unknown process: %q", out)
	}
	if out := ctl(2, "ctl", "signal", "app"); !strings.Contains(out, "want 2 argument(s)") {
		t.Fatalf("missing signal: %q", out)
	}

	r.signal(syscall.SIGTERM)
	if code := r.wait(30 * time.Second); code != 0 {
		t.Fatalf("exit code %d\nstderr:\n%s", code, r.stderr.String())
	}
	if _, err := os.Lstat(sock); !os.IsNotExist(err) {
		t.Errorf("the socket is left behind: %v", err)
	}
	if out := ctl(4, "ctl", "status"); !strings.Contains(out, "entry: ctl: cannot reach the supervisor at "+sock) {
		t.Errorf("no supervisor: %q", out)
	}
}

// after: waits for a process's ready: check (sidekiq after a local redis
// that accepts connections), and entry health runs the checks.
func TestReadyChecksForAfterAndHealth(t *testing.T) {
	redis := testtool.Require(t, "redis-server")
	cli := testtool.Require(t, "redis-cli")
	port := freePort(t)
	dir := t.TempDir()
	sock, env := ctlEnv(t)
	writeFiles(t, dir, map[string]string{"entry.yml": fmt.Sprintf(`roles:
  job:
    redis: {command: "sleep 1; exec %s --port %d --bind 127.0.0.1 --save '' --appendonly no", ready: "tcp://127.0.0.1:%d"}
    worker: {command: "%s -p %d ping; echo worker up; trap 'exit 0' TERM; while :; do sleep 0.05; done", after: [redis], ready: "test -e ready-flag"}
`, redis, port, port, cli, port)})
	r := startEntry(t, dir, env, true, "role=job")
	r.waitFor("worker | worker up", 20*time.Second)
	if !strings.Contains(r.stdout.String(), "worker | PONG") {
		t.Fatalf("the worker started before redis accepted connections:\n%s\n%s", r.stdout.String(), r.stderr.String())
	}
	errOut := r.stderr.String()
	if i, j := strings.Index(errOut, "entry: redis: ready (tcp://127.0.0.1:"), strings.Index(errOut, "entry: worker: started"); i < 0 || j < i {
		t.Fatalf("worker not started after redis was ready:\n%s", errOut)
	}
	waitSocket(t, r, sock)
	res := runEntry(t, dir, env, "health")
	if res.code != 1 || res.stderr != "entry: unhealthy: worker: not ready: ready command \"test -e ready-flag\" exited with 1\n" {
		t.Fatalf("health without the flag: %+v", res)
	}
	writeFiles(t, dir, map[string]string{"ready-flag": ""})
	if res := runEntry(t, dir, env, "health"); res.code != 0 {
		t.Fatalf("health: %+v", res)
	}
	if res := runEntry(t, dir, env, "ctl", "stop", "redis"); res.code != 0 {
		t.Fatalf("stop redis: %+v", res)
	}
	res = runEntry(t, dir, env, "health")
	if res.code != 1 || !strings.HasPrefix(res.stderr, "entry: unhealthy: redis: stopped by entry ctl (entry ctl start redis)") {
		t.Fatalf("health with redis stopped: %+v", res)
	}
	r.signal(syscall.SIGTERM)
	if code := r.wait(30 * time.Second); code != 0 {
		t.Fatalf("exit code %d\nstderr:\n%s", code, r.stderr.String())
	}
}

// A wrong ready: stops the start with the place and the fix; wrong ctl
// command lines exit 2 and say what is wanted.
func TestReadyAndCtlUsageErrors(t *testing.T) {
	for yml, want := range map[string]string{
		"roles:\n  web:\n    app: {command: x, ready: \"ftp://127.0.0.1:21\"}\n": `entry.yml:3: roles.web.app: ready: ftp://127.0.0.1:21: want tcp://, http:// or https://, or a command`,
		"roles:\n  web:\n    app: {command: x, ready: \"tcp://127.0.0.1\"}\n":    `entry.yml:3: roles.web.app: ready: tcp://127.0.0.1: give host and port, e.g. tcp://127.0.0.1:3000`,
	} {
		dir := t.TempDir()
		writeFiles(t, dir, map[string]string{"entry.yml": yml})
		r := runEntry(t, dir, nil, "config", "check")
		if r.code != 2 || !strings.Contains(r.stderr, want) {
			t.Errorf("%s: exit %d, stderr %q, want %q", yml, r.code, r.stderr, want)
		}
	}
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"entry.yml": "control_socket: none\nroles:\n  web:\n    app: x\n"})
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"ctl"}, 2, "entry: ctl: missing command (status, start, stop, restart, signal or run; see 'entry ctl --help')"},
		{[]string{"ctl", "reload"}, 2, `entry: ctl: unknown command "reload"`},
		{[]string{"ctl", "stop"}, 2, "entry: ctl stop: want 1 argument(s) after it, got 0"},
		{[]string{"ctl", "status"}, 2, "entry: ctl: the control socket is off (control_socket: none)"},
		{[]string{"health", "now"}, 2, `entry: health: takes no arguments, got "now"`},
		{[]string{"health", "--control-socket", filepath.Join(dir, "absent.sock")}, 1, "entry: health: cannot reach the supervisor at " + filepath.Join(dir, "absent.sock")},
	} {
		r := runEntry(t, dir, nil, c.args...)
		if r.code != c.code || !strings.HasPrefix(r.stderr, c.want) {
			t.Errorf("entry %v: exit %d, stderr %q; want %d, %q", c.args, r.code, r.stderr, c.code, c.want)
		}
	}
}

// An http:// ready: check passes on 2xx/3xx and names the status otherwise.
func TestHealthHTTPReady(t *testing.T) {
	var status atomic.Int32
	status.Store(http.StatusServiceUnavailable)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/up" {
			http.NotFound(w, r)
			return
		}
		w.WriteHeader(int(status.Load()))
	}))
	defer srv.Close()
	dir := t.TempDir()
	sock, env := ctlEnv(t)
	writeFiles(t, dir, map[string]string{"entry.yml": fmt.Sprintf("roles:\n  web:\n    puma: {command: \"trap 'exit 0' TERM; echo up; while :; do sleep 0.05; done\", ready: %q}\n", srv.URL+"/up")})
	r := startEntry(t, dir, env, true, "role=web")
	r.waitFor("puma | up", testtool.Patience)
	waitSocket(t, r, sock)
	res := runEntry(t, dir, env, "health")
	if want := "entry: unhealthy: puma: not ready: " + srv.URL + "/up: 503 Service Unavailable\n"; res.code != 1 || res.stderr != want {
		t.Fatalf("health while 503: %+v, want %q", res, want)
	}
	status.Store(http.StatusOK)
	if res := runEntry(t, dir, env, "health"); res.code != 0 || res.stdout != "healthy\n" {
		t.Fatalf("health while 200: %+v", res)
	}
	srv.Close()
	res = runEntry(t, dir, env, "health")
	if res.code != 1 || !strings.Contains(res.stderr, "connection refused") {
		t.Fatalf("health with nothing listening: %+v", res)
	}
	r.signal(syscall.SIGTERM)
	if code := r.wait(30 * time.Second); code != 0 {
		t.Fatalf("exit code %d\nstderr:\n%s", code, r.stderr.String())
	}
}
