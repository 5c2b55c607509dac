package supervise

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/entryhq/entry/internal/testtool"
)

// startPID1ForeignProc runs the helper as PID 1 of a new PID namespace that
// keeps the test's /proc (unshare --pid without --mount-proc): every pid
// /proc shows is another namespace's.
func startPID1ForeignProc(t *testing.T, spec helperSpec) *pid1 {
	t.Helper()
	testtool.RequireRoot(t)
	unshare := testtool.Require(t, "unshare")
	data, err := json.Marshal(spec)
	if err != nil {
		t.Fatal(err)
	}
	p := &pid1{t: t}
	p.cmd = exec.Command(unshare, "--pid", "--fork", "--kill-child", os.Args[0], "-test.run=^$")
	p.cmd.Env = append(os.Environ(), helperEnv+"="+string(data))
	p.cmd.Stdout, p.cmd.Stderr = &p.out, &p.out
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		if p.cmd.ProcessState == nil {
			p.cmd.Wait()
		}
	})
	children := fmt.Sprintf("/proc/%d/task/%d/children", p.cmd.Process.Pid, p.cmd.Process.Pid)
	testtool.Eventually(t, "unshare's child, PID 1", func() bool {
		data, _ := os.ReadFile(children)
		f := strings.Fields(string(data))
		if len(f) == 0 {
			return false
		}
		p.pid, _ = strconv.Atoi(f[0])
		return true
	})
	p.started = time.Now()
	return p
}

func TestPID1ForeignProc(t *testing.T) {
	// The role's stop_timeout is far beyond the test's patience: the role
	// ends in time only if entry does not take another namespace's
	// processes for its leftovers and wait for them.
	long := 10 * time.Minute
	t.Run("nothing left over", func(t *testing.T) {
		p := startPID1ForeignProc(t, helperSpec{Role: Role{Name: "web", Processes: []Process{{Name: "p", Shell: "true", Essential: true, StopTimeout: long}}}})
		code := p.wait()
		if out := p.out.String(); code != 0 || strings.Contains(out, "leftover") {
			t.Fatalf("exit code %d, want 0 and no leftover; output:\n%s", code, out)
		}
	})
	t.Run("own orphans stopped", func(t *testing.T) {
		// A daemon left behind (its own session) with a child of its own:
		// both are entry's descendants, and only they get TERM.
		daemon := `trap "echo daemon $$ got TERM; exit 0" TERM; sleep 100 & echo daemon $$ ready; wait`
		p := startPID1ForeignProc(t, helperSpec{Role: Role{Name: "web", Processes: []Process{
			{Name: "app", Shell: `(setsid sh -c '` + daemon + `' &); echo app ready; exec sleep 100`, Essential: true, StopTimeout: long}}}})
		p.out.WaitFor(t, "app ready", testtool.Patience)
		var m []string
		testtool.Eventually(t, "the daemon ready", func() bool {
			m = regexp.MustCompile(`daemon (\d+) ready`).FindStringSubmatch(p.out.String())
			return m != nil
		}, p.out.String)
		p.signal(syscall.SIGTERM)
		code := p.wait()
		out := p.out.String()
		if code != 0 || strings.Contains(out, "SIGKILL") {
			t.Fatalf("exit code %d, want 0 without SIGKILL; output:\n%s", code, out)
		}
		// The pids are those of entry's namespace (the daemon's own $$).
		for _, s := range []string{"entry: 1 leftover process(es) (pids [" + m[1] + "]): sending SIGTERM\n", "app | daemon " + m[1] + " got TERM", "entry: 1 more leftover process(es) (pids ["} {
			if !strings.Contains(out, s) {
				t.Errorf("missing %q in:\n%s", s, out)
			}
		}
	})
}
