package supervise

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/entryhq/entry/internal/testtool"
)

// fileReady is a process whose ready: check passes once file exists.
func fileReady(t *testing.T, name, file string) Process {
	t.Helper()
	ready, err := ParseReady("test -f "+file, nil)
	if err != nil {
		t.Fatal(err)
	}
	return Process{Name: name, Shell: "trap 'exit 0' TERM; echo up $$; while :; do sleep 0.05; done", Ready: ready, Essential: true}
}

// procStatus asks sock for name's status.
func procStatus(t *testing.T, sock, name string) ProcessStatus {
	t.Helper()
	resp, err := Call(sock, Request{Cmd: "status"}, testtool.Patience)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range resp.Processes {
		if p.Name == name {
			return p
		}
	}
	t.Fatalf("no %s in %+v", name, resp.Processes)
	return ProcessStatus{}
}

// callAsync sends req on a goroutine of its own; the answer comes on the
// channel.
func callAsync(sock string, req Request) <-chan string {
	answer := make(chan string, 1)
	go func() {
		resp, err := Call(sock, req, testtool.Patience)
		switch {
		case err != nil:
			answer <- "call: " + err.Error()
		case resp.Error != "":
			answer <- "error: " + resp.Error
		default:
			answer <- resp.Message
		}
	}()
	return answer
}

func receive(t *testing.T, what string, c <-chan string) string {
	t.Helper()
	select {
	case s := <-c:
		return s
	case <-time.After(testtool.Patience):
		t.Fatalf("%s: no answer within %s", what, testtool.Patience)
		return ""
	}
}

// entry ctl restart and start answer once the new run's ready: check
// passes, not when it has merely been spawned (issue 23 §2); until then
// status shows it starting, not ready, with the check's last error, and a
// signal to it is refused.
func TestCtlRestartWaitsUntilReady(t *testing.T) {
	dir := t.TempDir()
	flag := filepath.Join(dir, "ready")
	if err := os.WriteFile(flag, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	sock, stop := serveRole(t, Role{Name: "web", Processes: []Process{fileReady(t, "puma", flag)}})
	testtool.Eventually(t, "puma ready", func() bool {
		st := procStatus(t, sock, "puma")
		return st.Ready != nil && *st.Ready
	})
	old := procStatus(t, sock, "puma").Pid
	if err := os.Remove(flag); err != nil {
		t.Fatal(err)
	}
	answer := callAsync(sock, Request{Cmd: "restart", Name: "puma"})
	var st ProcessStatus
	testtool.Eventually(t, "the new run checked and not ready", func() bool {
		st = procStatus(t, sock, "puma")
		return st.Pid != 0 && st.Pid != old && st.ReadyError != ""
	})
	wantErr := fmt.Sprintf(`ready command "test -f %s" exited with 1`, flag)
	if st.State != "starting" || st.Ready == nil || *st.Ready || st.ReadyError != wantErr {
		t.Errorf("status while starting: %+v, want starting, ready false, ready_error %q", st, wantErr)
	}
	var table bytes.Buffer
	WriteStatus(&table, []ProcessStatus{st})
	if want := regexp.MustCompile(`^NAME +STATE +READY +PID +UPTIME +RESTARTS +LAST EXIT\npuma +starting +no +\d+ +\d+s +1 +exited with 0\npuma: not ready: ` + regexp.QuoteMeta(wantErr) + "\n$"); !want.MatchString(table.String()) {
		t.Errorf("table:\n%s", table.String())
	}
	resp, err := Call(sock, Request{Cmd: "signal", Name: "puma", Signal: "USR2"}, testtool.Patience)
	if want := "puma is starting (not ready yet); try again when entry ctl status shows it ready, or use entry ctl restart"; err != nil || resp.Error != want {
		t.Errorf("signal while starting: %+v %v, want the error %q", resp, err, want)
	}
	select {
	case a := <-answer:
		t.Fatalf("restart answered %q before puma was ready", a)
	default:
	}
	if err := os.WriteFile(flag, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	got := receive(t, "restart", answer)
	if want := regexp.MustCompile(fmt.Sprintf(`^puma: restarted \(pid %d\), ready after [0-9.]+m?s \(the last run exited with 0\)$`, st.Pid)); !want.MatchString(got) {
		t.Errorf("restart: %q", got)
	}
	if st := procStatus(t, sock, "puma"); st.State != "running" || st.Ready == nil || !*st.Ready || st.ReadyError != "" {
		t.Errorf("status once ready: %+v", st)
	}
	if resp, err := Call(sock, Request{Cmd: "signal", Name: "puma", Signal: "HUP"}, testtool.Patience); err != nil || resp.Message != "puma: sent SIGHUP" {
		t.Errorf("signal once ready: %+v %v", resp, err)
	}
	stop()
}

// A start or restart whose ready: check does not pass within ready_timeout
// fails with the reason, and leaves the process running; --no-wait answers
// at once.
func TestCtlStartReadyTimeoutAndNoWait(t *testing.T) {
	dir := t.TempDir()
	flag := filepath.Join(dir, "ready")
	p := fileReady(t, "puma", flag)
	p.ReadyTimeout = time.Second
	sock, stop := serveRole(t, Role{Name: "web", Processes: []Process{p}})
	testtool.Eventually(t, "puma's first ready_timeout over", func() bool {
		return procStatus(t, sock, "puma").State == "running"
	})
	resp, err := Call(sock, Request{Cmd: "restart", Name: "puma"}, testtool.Patience)
	want := fmt.Sprintf(`puma: not ready after 1s: ready command "test -f %s" exited with 1`, flag)
	if err != nil || resp.Error != want {
		t.Fatalf("restart: %+v %v\nwant the error %s", resp, err, want)
	}
	st := procStatus(t, sock, "puma")
	if st.State != "running" || st.Pid == 0 || st.Ready == nil || *st.Ready {
		t.Errorf("after the timeout: %+v, want it running, not ready", st)
	}
	resp, err = Call(sock, Request{Cmd: "restart", Name: "puma", NoWait: true}, testtool.Patience)
	if err != nil || !regexp.MustCompile(`^puma: restarted \(pid \d+\) \(the last run exited with 0\)$`).MatchString(resp.Message) {
		t.Errorf("restart --no-wait: %+v %v", resp, err)
	}
	if st := procStatus(t, sock, "puma"); st.State != "starting" {
		t.Errorf("right after restart --no-wait: %+v, want starting", st)
	}
	stop()
}

// A run that ends before it is ready fails the start that waits for it.
func TestCtlStartFailsWhenTheRunEndsBeforeReady(t *testing.T) {
	dir := t.TempDir()
	flag := filepath.Join(dir, "ready")
	p := fileReady(t, "puma", flag)
	p.Shell = "trap 'exit 0' TERM; while ! test -f " + flag + ".go; do sleep 0.05; done; exit 3"
	p.Essential = false
	sock, stop := serveRole(t, Role{Name: "web", Processes: []Process{p, {Name: "keep", Shell: loopForever}}})
	if resp, err := Call(sock, Request{Cmd: "stop", Name: "puma"}, testtool.Patience); err != nil || resp.Error != "" {
		t.Fatalf("stop: %+v %v", resp, err)
	}
	answer := callAsync(sock, Request{Cmd: "start", Name: "puma"})
	testtool.Eventually(t, "puma started and checked", func() bool { return procStatus(t, sock, "puma").ReadyError != "" })
	if err := os.WriteFile(flag+".go", nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if got, want := receive(t, "start", answer), "error: puma: exited with 3 before it was ready"; got != want {
		t.Errorf("start: %q, want %q", got, want)
	}
	stop()
}

// As PID 1: a process whose after: target does not become ready within its
// ready_timeout fails, naming both and the check's error, and the role
// stops with exit code 1 (it waited forever before).
func TestPID1AfterTargetNeverReadyFailsTheRole(t *testing.T) {
	dir := t.TempDir()
	flag := filepath.Join(dir, "never")
	redis := fileReady(t, "redis", flag)
	redis.ReadyTimeout = time.Second
	sidekiq := Process{Name: "sidekiq", Shell: "echo sidekiq ran", After: []string{"redis"}, Essential: true}
	p := startPID1(t, helperSpec{Role: Role{Name: "job", Processes: []Process{redis, sidekiq}}})
	if code := p.wait(); code != 1 {
		t.Errorf("exit code %d, want 1\n%s", code, p.out.String())
	}
	out := p.out.String()
	for _, want := range []string{
		fmt.Sprintf(`entry: redis: not ready after 1s (ready_timeout): ready command "test -f %s" exited with 1`+"\n", flag),
		fmt.Sprintf(`entry: sidekiq: cannot start: redis not ready after 1s (ready_timeout): ready command "test -f %s" exited with 1`+"\n", flag),
		"entry: sidekiq is essential: stopping role job",
		"entry: role job stopped, exit code 1\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "sidekiq ran") {
		t.Errorf("sidekiq ran:\n%s", out)
	}
}

// entry ctl stop all stops the processes started after others first; start
// all starts them in after: order, each once its targets are ready, and
// answers when all are ready; restart all does both (issue 23 §3).
func TestCtlAllInAfterOrder(t *testing.T) {
	dir := t.TempDir()
	flag := filepath.Join(dir, "ready")
	if err := os.WriteFile(flag, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	// Each shell marks that its TERM trap is set, so that a stop finds it
	// set even on a busy machine (else sh dies of the SIGTERM itself).
	trapped := func(name string) string {
		return "trap 'exit 0' TERM; touch " + filepath.Join(dir, name+".up") + "; while :; do sleep 0.05; done"
	}
	awaitTraps := func() {
		t.Helper()
		for _, name := range []string{"db", "web", "side"} {
			up := filepath.Join(dir, name+".up")
			testtool.Eventually(t, name+"'s trap", func() bool { _, err := os.Stat(up); return err == nil })
			os.Remove(up)
		}
	}
	db := fileReady(t, "db", flag)
	db.Shell = trapped("db")
	web := Process{Name: "web", Shell: trapped("web"), After: []string{"db"}, Essential: true}
	side := Process{Name: "side", Shell: trapped("side")}
	sock, stop := serveRole(t, Role{Name: "web", Processes: []Process{db, web, side}})
	awaitTraps()

	resp, err := Call(sock, Request{Cmd: "stop", Name: "all"}, testtool.Patience)
	if want := "db: stopped: exited with 0\nweb: stopped: exited with 0\nside: stopped: exited with 0"; err != nil || resp.Message != want || resp.Error != "" {
		t.Fatalf("stop all: %+v %v\nwant %q", resp, err, want)
	}
	for _, name := range []string{"db", "web", "side"} {
		if st := procStatus(t, sock, name); st.State != "stopped" {
			t.Errorf("%s after stop all: %+v", name, st)
		}
	}

	if err := os.Remove(flag); err != nil {
		t.Fatal(err)
	}
	answer := callAsync(sock, Request{Cmd: "start", Name: "all"})
	testtool.Eventually(t, "db started and checked", func() bool { return procStatus(t, sock, "db").ReadyError != "" })
	if st := procStatus(t, sock, "web"); st.State != "waiting" {
		t.Errorf("web while db is not ready: %+v, want waiting", st)
	}
	select {
	case a := <-answer:
		t.Fatalf("start all answered %q before db was ready", a)
	default:
	}
	if err := os.WriteFile(flag, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	got := receive(t, "start all", answer)
	if !regexp.MustCompile(`^db: started \(pid \d+\), ready after [0-9.]+m?s\nweb: started \(pid \d+\)\nside: started \(pid \d+\)$`).MatchString(got) {
		t.Errorf("start all: %q", got)
	}
	resp, err = Call(sock, Request{Cmd: "start", Name: "all"}, testtool.Patience)
	if err != nil || !regexp.MustCompile(`^db: already running \(pid \d+\)\nweb: already running \(pid \d+\)\nside: already running \(pid \d+\)$`).MatchString(resp.Message) {
		t.Errorf("start all again: %+v %v", resp, err)
	}
	awaitTraps()
	resp, err = Call(sock, Request{Cmd: "restart", Name: "all"}, testtool.Patience)
	if err != nil || !regexp.MustCompile(`^db: stopped: exited with 0\nweb: stopped: exited with 0\nside: stopped: exited with 0\ndb: restarted \(pid \d+\), ready after [0-9.]+m?s\nweb: restarted \(pid \d+\)\nside: restarted \(pid \d+\)$`).MatchString(resp.Message) {
		t.Errorf("restart all: %+v %v", resp, err)
	}
	resp, err = Call(sock, Request{Cmd: "signal", Name: "all", Signal: "HUP"}, testtool.Patience)
	if want := `no process "all" in role web (processes: db, web, side)`; err != nil || resp.Error != want {
		t.Errorf("signal all: %+v %v, want %q", resp, err, want)
	}
	out := stop()
	if i, j := strings.Index(out, "entry: web: exited with 0 (stopped by entry ctl"), strings.Index(out, "entry: db: sending SIGTERM (entry ctl"); i < 0 || j < i {
		t.Errorf("db was sent its stop signal before web had stopped:\n%s", out)
	}
}
