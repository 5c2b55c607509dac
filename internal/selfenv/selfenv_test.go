package selfenv

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// The test re-runs its own binary as a child with a secret in its
// environment; the child erases it and prints its /proc/self/environ.
func TestErase(t *testing.T) {
	if os.Getenv("SELFENV_CHILD") == "1" {
		if err := Erase("SELFENV_SECRET", "SELFENV_ABSENT"); err != nil {
			t.Fatal(err)
		}
		environ, _ := os.ReadFile("/proc/self/environ")
		os.Stdout.Write(environ)
		if os.Getenv("SELFENV_SECRET") != "hunter2-value" {
			t.Fatal("the process's own copy changed")
		}
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestErase$")
	cmd.Env = append(os.Environ(), "SELFENV_CHILD=1", "SELFENV_KEEP=visible", "SELFENV_SECRET=hunter2-value", "SELFENV_AFTER=also visible")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	if strings.Contains(string(out), "hunter2") {
		t.Errorf("the secret is still in /proc/self/environ:\n%q", out)
	}
	if strings.Contains(string(out), "SELFENV_SECRET") {
		t.Errorf("the name is still in /proc/self/environ:\n%q", out)
	}
	if !strings.Contains(string(out), "\x00SELFENV_KEEP=visible\x00") || !strings.Contains(string(out), "\x00SELFENV_AFTER=also visible\x00") {
		t.Errorf("other variables changed:\n%q", out)
	}
}
