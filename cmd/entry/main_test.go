package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/entryhq/entry/internal/testtool"
)

// entryBin is the entry binary built once for the tests that run it as a
// whole process.
var entryBin string

func TestMain(m *testing.M) {
	// Linked as docker or aws, the test binary is a CI recipe's stand-in.
	if code, ok := shimMain(); ok {
		os.Exit(code)
	}
	dir, err := os.MkdirTemp("", "entry-test-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	entryBin = filepath.Join(dir, "entry")
	build := exec.Command("go", "build", "-o", entryBin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building entry: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// result is what a run of the entry binary printed and returned.
type result struct {
	stdout, stderr string
	code           int
}

// runEntry runs the built binary in dir with args and env (added to a
// minimal environment), and waits for it.
func runEntry(t *testing.T, dir string, env []string, args ...string) result {
	t.Helper()
	return runBinary(t, entryBin, dir, env, args...)
}

// runBinary is runEntry for another path to the binary, such as an EntryKit
// symlink, through which entry sees another name as argv[0]. The run is
// contained (testtool.StartContained: nothing it starts outlives the test)
// and bounded by testtool.Patience.
func runBinary(t *testing.T, bin, dir string, env []string, args ...string) result {
	t.Helper()
	return runWithInput(t, bin, dir, env, "", args...)
}

// runWithInput is runBinary with stdin reading input.
func runWithInput(t *testing.T, bin, dir string, env []string, input string, args ...string) result {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	if input != "" {
		cmd.Stdin = strings.NewReader(input)
	}
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}, env...)
	var stdout, stderr testtool.SyncBuffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	testtool.StartContained(t, cmd, false)
	err := testtool.WaitCmd(t, cmd, testtool.Patience, func() string {
		return "stdout:\n" + stdout.String() + "\nstderr:\n" + stderr.String()
	})
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("running %s %v: %v", bin, args, err)
	}
	return result{stdout.String(), stderr.String(), code}
}

// writeFiles creates files (path -> content) under dir.
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
