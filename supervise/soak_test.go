package supervise

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/entryhq/entry/internal/testtool"
)

// soakTolerance is how much private memory (RssAnon) the supervisor may
// keep after the soak. Issue 19 asks for the figure after 10,000 requests
// to be "within a few hundred KB" of the idle one: the requests alone keep
// about 150 KiB here (bench/ctl-memory.sh: 250-300 KiB, 3 or 60
// processes). The 1,000 restarts beside them leave a few hundred KiB more
// of heap fragmentation, measured between +350 and +610 KiB on a busy
// 2-core machine; 1 MiB keeps the test from flaking on that spread while
// still catching what the issue found (+3.5 MB, +33 MB with 60 processes).
const soakTolerance = 1 << 20

// TestPID1Soak: entry as PID 1 answers 10,000 control requests (some
// abandoned, some garbage, some slow) while a process crashes and restarts
// 1,000 times. Every restart succeeds, every well-formed request is
// answered, and descriptors and private memory end where they started.
func TestPID1Soak(t *testing.T) {
	if testing.Short() {
		t.Skip("soak test")
	}
	dir := t.TempDir()
	sock := filepath.Join(dir, "ctl.sock")
	crash, calm := filepath.Join(dir, "crash"), filepath.Join(dir, "calm")
	// crasher sleeps until told to crash; then every run exits at once,
	// until told to calm down.
	crasher := fmt.Sprintf(`[ -e %s ] && exec sleep 100000; [ -e %s ] && exit 3; exec sleep 100000`, calm, crash)
	// The race detector's own memory would swamp the supervisor's: PID 1 is
	// the supervisor built as entry is.
	helper := filepath.Join(t.TempDir(), "pid1helper")
	build := exec.Command("go", "build", "-o", helper, "./testdata/pid1helper")
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the helper: %v\n%s", err, out)
	}
	p := startPID1Program(t, helperSpec{Role: Role{Name: "soak", ControlSocket: sock, Quiet: true, Processes: []Process{
		{Name: "crasher", Shell: crasher, Essential: true, Restart: RestartAlways, BackoffMin: time.Millisecond, BackoffMax: time.Millisecond},
		{Name: "steady", Shell: loopForever, Essential: true},
	}}}, helper)
	status := func() map[string]ProcessStatus {
		t.Helper()
		resp, err := Call(sock, Request{Cmd: "status"}, testtool.Patience)
		if err != nil || resp.Error != "" {
			t.Fatalf("status: %+v %v\noutput:\n%s", resp, err, p.out.String())
		}
		m := map[string]ProcessStatus{}
		for _, ps := range resp.Processes {
			m[ps.Name] = ps
		}
		return m
	}
	testtool.Eventually(t, "the control socket answering", func() bool {
		_, err := Call(sock, Request{Cmd: "status"}, testtool.Patience)
		return err == nil
	}, p.out.String)
	// Warm up every kind of request, so that the figures to compare with
	// include the code and the runtime's state that serving needs at all.
	soakRequests(t, sock, 200)
	fds0, mem0 := settle(t, p.pid)
	threads0 := threadCount(t, p.pid)

	if err := os.WriteFile(crash, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if resp, err := Call(sock, Request{Cmd: "signal", Name: "crasher", Signal: "KILL"}, testtool.Patience); err != nil || resp.Error != "" {
		t.Fatalf("signal: %+v %v", resp, err)
	}
	began := time.Now()
	soakRequests(t, sock, 10000)
	t.Logf("10,000 requests in %s", time.Since(began).Round(time.Millisecond))
	testtool.Eventually(t, "1,000 restarts", func() bool { return status()["crasher"].Restarts >= 1000 },
		func() string { return fmt.Sprintf("%+v", status()["crasher"]) })
	t.Logf("1,000 restarts in %s", time.Since(began).Round(time.Millisecond))
	if err := os.WriteFile(calm, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	testtool.Eventually(t, "crasher running calmly", func() bool {
		c := status()["crasher"]
		return c.State == "running" && c.Uptime != "" && c.Uptime != "0s"
	}, func() string { return fmt.Sprintf("%+v", status()["crasher"]) })
	out := p.out.String()
	if strings.Contains(out, "cannot start") {
		t.Fatalf("a restart failed:\n%s", out)
	}
	if st := status(); st["steady"].Restarts != 0 || st["steady"].State != "running" {
		t.Errorf("steady: %+v", st["steady"])
	}
	fds1, mem1 := settle(t, p.pid)
	t.Logf("PID 1: %d descriptors before, %d after; RssAnon %d KiB before, %d KiB after (%+d KiB); %d threads before, %d after; crasher restarted %d times",
		fds0, fds1, mem0>>10, mem1>>10, (mem1-mem0)>>10, threads0, threadCount(t, p.pid), status()["crasher"].Restarts)
	if fds1 != fds0 {
		t.Errorf("descriptors: %d before, %d after", fds0, fds1)
	}
	if mem1 > mem0+soakTolerance {
		t.Errorf("private memory: %d KiB before, %d KiB after: more than %d KiB kept", mem0>>10, mem1>>10, soakTolerance>>10)
	}
	p.signal(15)
	p.wait()
}

// settle waits, at most testtool.Patience, until pid's descriptors and
// private memory are steady (unchanged for longer than the idle trim's
// delay), and returns them.
func settle(t *testing.T, pid int) (int, int64) {
	t.Helper()
	var fds int
	var mem int64
	var since time.Time
	ok := testtool.Poll(testtool.Patience, func() bool {
		f, m := countFDs(t, pid), rssAnon(t, pid)
		if f != fds || m != mem {
			fds, mem, since = f, m, time.Now()
		}
		// Steady for longer than the idle trim's delay: past the trim.
		return time.Since(since) >= 3*trimAfter
	})
	if !ok {
		t.Fatalf("PID 1 never settled: %d descriptors, RssAnon %d KiB", fds, mem>>10)
	}
	return fds, mem
}

func threadCount(t *testing.T, pid int) int {
	entries, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		t.Fatal(err)
	}
	return len(entries)
}

func countFDs(t *testing.T, pid int) int {
	entries, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Fatal(err)
	}
	return len(entries)
}

func rssAnon(t *testing.T, pid int) int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "RssAnon:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatalf("no RssAnon in /proc/%d/status", pid)
	return 0
}

// soakRequests makes n requests on sock from 4 clients at once: status and
// health, answered without error; garbage and over-long lines, answered
// with one; clients that hang up before sending, half-way, or before the
// answer; and slow ones that send their request in two parts.
func soakRequests(t *testing.T, sock string, n int) {
	t.Helper()
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(n) {
					return
				}
				if err := soakRequest(sock, int(i)); err != nil {
					errs <- fmt.Errorf("request %d: %v", i, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if t.Failed() {
		t.FailNow()
	}
}

func soakRequest(sock string, i int) error {
	c, err := net.DialTimeout("unix", sock, testtool.Patience)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(testtool.Patience))
	send := func(s string) error { _, err := c.Write([]byte(s)); return err }
	wantError := ""
	switch i % 20 {
	case 0:
		return nil // hangs up before sending
	case 1:
		return send(`{"cmd":"sta`) // hangs up half-way
	case 2:
		return send(`{"cmd":"health","timeout":3600000000000}` + "\n") // does not wait for the answer
	case 3:
		wantError = "bad request: invalid character 'o' in literal null (expecting 'u')"
		err = send("not json\n")
	case 4:
		wantError = errTooLong.Error()
		err = send(strings.Repeat("x", MaxRequest+10) + "\n")
	case 5:
		// Slow: the second half comes later.
		if err := send(`{"cmd":"st`); err != nil {
			return err
		}
		time.Sleep(10 * time.Millisecond)
		err = send(`atus"}` + "\n")
	default:
		if i%2 == 0 {
			err = send(`{"cmd":"status"}` + "\n")
		} else {
			err = send(`{"cmd":"health","timeout":4000000000}` + "\n")
		}
	}
	if err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadBytes('\n')
	if err != nil {
		return fmt.Errorf("no answer: %v", err)
	}
	var resp Response
	if err := json.Unmarshal(line, &resp); err != nil {
		return fmt.Errorf("answer %q: %v", line, err)
	}
	if resp.Error != wantError {
		return fmt.Errorf("answer %q, want error %q", line, wantError)
	}
	return nil
}
