package main

import (
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The README's first command runs examples/demo: its output must read as a
// success to a newcomer — exit code 0, the role stopped cleanly, and no line
// that looks like an error.
func TestDemo(t *testing.T) {
	for _, role := range []string{"role=web", "role=job"} {
		t.Run(role, func(t *testing.T) {
			dir := t.TempDir()
			if out, err := exec.Command("cp", "-a", "../../examples/demo/.", dir).CombinedOutput(); err != nil {
				t.Fatalf("copying examples/demo: %v\n%s", err, out)
			}
			r := startEntry(t, dir, nil, false, role)
			if role == "role=job" {
				// The job role runs until stopped: stop it as Ctrl-C would,
				// just after a cron run ended (the next is 2 s away; one
				// stopped mid-run is reported, rightly, as killed).
				r.waitFor("worker | server: hello, request 2", 60*time.Second)
				r.waitFor("exited with code 0", 60*time.Second)
				r.signal(syscall.SIGINT)
			}
			code := r.wait(90 * time.Second)
			out := r.stdout.String() + r.stderr.String()
			name := strings.TrimPrefix(role, "role=")
			if code != 0 || !strings.Contains(out, "entry: role "+name+" stopped, exit code 0") {
				t.Fatalf("demo %s: exit %d\n%s", role, code, out)
			}
			for _, bad := range []string{"Terminated", "killed", "error", "SIGKILL", "exit code 1", "exited with 1"} {
				if strings.Contains(out, bad) {
					t.Errorf("demo %s prints %q, which reads as a failure:\n%s", role, bad, out)
				}
			}
		})
	}
}
