package supervise

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/entryhq/entry/internal/testtool"
)

// The test binary doubles as a PID-1 helper: run with SUPERVISE_TEST_HELPER
// set to a JSON helperSpec, it supervises that role as the process it is
// (PID 1 under unshare) and afterwards checks that nothing else is left in
// its PID namespace.
const helperEnv = "SUPERVISE_TEST_HELPER"

type helperSpec struct {
	Role Role
	// TermBeforeStart sends entry a TERM before the supervisor exists.
	TermBeforeStart bool
	// NoFile, when set, is the helper's descriptor limit (soft and hard).
	NoFile uint64
}

func TestMain(m *testing.M) {
	if spec := os.Getenv(helperEnv); spec != "" {
		os.Exit(helperMain(spec))
	}
	os.Exit(m.Run())
}

func helperMain(spec string) int {
	signals := make(chan os.Signal, 64)
	signal.Notify(signals)
	var h helperSpec
	if err := json.Unmarshal([]byte(spec), &h); err != nil {
		fmt.Fprintln(os.Stderr, "helper:", err)
		return 98
	}
	if h.NoFile > 0 {
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &syscall.Rlimit{Cur: h.NoFile, Max: h.NoFile}); err != nil {
			fmt.Fprintln(os.Stderr, "helper:", err)
			return 98
		}
	}
	var run <-chan os.Signal = signals
	if h.TermBeforeStart {
		// Wait until the TERM has been delivered, then hand it to Run as
		// if it had been waiting there before Run began.
		syscall.Kill(os.Getpid(), syscall.SIGTERM)
		deadline := time.After(testtool.Patience)
		for got := false; !got; {
			select {
			case sig := <-signals:
				got = sig == syscall.SIGTERM
			case <-deadline:
				fmt.Fprintln(os.Stderr, "helper: own SIGTERM not delivered")
				return 98
			}
		}
		pending := make(chan os.Signal, 64)
		pending <- syscall.SIGTERM
		go func() {
			for sig := range signals {
				pending <- sig
			}
		}()
		run = pending
	}
	s, err := New(h.Role)
	if err != nil {
		fmt.Fprintln(os.Stderr, "helper:", err)
		return 98
	}
	code := s.Run(run)
	if own, _, _ := procNamespace(); os.Getpid() == 1 && own {
		if left := otherProcesses(); len(left) > 0 {
			fmt.Fprintf(os.Stderr, "LEFTOVER: %s\n", strings.Join(left, "; "))
			return 99
		}
	}
	return code
}

// otherProcesses describes every process in /proc but this one, zombies
// included.
func otherProcesses() []string {
	var out []string
	paths, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		pid, ppid, state, ok := parseStat(data)
		if !ok || pid == os.Getpid() {
			continue
		}
		out = append(out, fmt.Sprintf("pid %d ppid %d state %c %s", pid, ppid, state, bytes.TrimSpace(data)))
	}
	return out
}

// A pid1 is the helper running as PID 1 of a new PID namespace.
type pid1 struct {
	t       *testing.T
	cmd     *exec.Cmd
	out     testtool.SyncBuffer // stdout and stderr together, in order
	started time.Time
	pid     int // the helper's pid as seen from the test
}

func startPID1(t *testing.T, spec helperSpec) *pid1 {
	t.Helper()
	return startPID1Program(t, spec, os.Args[0], "-test.run=^$")
}

// startPID1Program is startPID1 for another program reading the spec.
func startPID1Program(t *testing.T, spec helperSpec, argv ...string) *pid1 {
	t.Helper()
	data, err := json.Marshal(spec)
	if err != nil {
		t.Fatal(err)
	}
	p := &pid1{t: t}
	p.cmd = exec.Command(argv[0], argv[1:]...)
	p.cmd.Env = append(os.Environ(), helperEnv+"="+string(data))
	p.cmd.Stdout, p.cmd.Stderr = &p.out, &p.out
	// unshare does not forward signals: they go to the helper itself.
	p.pid = testtool.StartContained(t, p.cmd, true)
	p.started = time.Now()
	return p
}

func (p *pid1) signal(sig syscall.Signal) {
	p.t.Helper()
	if err := syscall.Kill(p.pid, sig); err != nil {
		p.t.Fatalf("signalling PID 1: %v", err)
	}
}

// wait waits for the helper to exit (at most testtool.Patience) and returns
// its exit code.
func (p *pid1) wait() int {
	p.t.Helper()
	testtool.WaitCmd(p.t, p.cmd, testtool.Patience, func() string { return "PID 1's output:\n" + p.out.String() })
	out := p.out.String()
	if strings.Contains(out, "LEFTOVER") {
		p.t.Fatalf("processes were left behind:\n%s", out)
	}
	return p.cmd.ProcessState.ExitCode()
}

// zombiesOf lists the zombie children of pid, seen from the test.
func zombiesOf(pid int) []int {
	var z []int
	paths, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, path := range paths {
		data, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		if cpid, ppid, state, ok := parseStat(data); ok && ppid == pid && state == 'Z' {
			z = append(z, cpid)
		}
	}
	return z
}

// checkNoChildren fails the test when the test process itself has any
// child left, zombie or not (after an in-process supervisor ran).
func checkNoChildren(t *testing.T) {
	t.Helper()
	if kids, err := children(); err != nil || len(kids) > 0 {
		t.Errorf("leftover children: %v %v", kids, err)
	}
	if z := zombiesOf(os.Getpid()); len(z) > 0 {
		t.Errorf("zombie children: %v", z)
	}
}

// runRole runs role in the test process (not PID 1: as child subreaper)
// and returns the exit code and the output (stdout and stderr together).
func runRole(t *testing.T, role Role, signals <-chan os.Signal) (int, string) {
	t.Helper()
	var out testtool.SyncBuffer
	role.Stdout, role.Stderr = &out, &out
	s, err := New(role)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan int, 1)
	go func() { done <- s.Run(signals) }()
	select {
	case code := <-done:
		checkNoChildren(t)
		return code, out.String()
	case <-time.After(testtool.Patience):
		t.Fatalf("role still running after %s; output:\n%s", testtool.Patience, out.String())
	}
	return 0, ""
}
