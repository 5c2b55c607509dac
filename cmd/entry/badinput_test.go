package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"
)

// runEntryDeadline is runEntry that kills entry after d: a test of a read
// that must not block cannot hang.
func runEntryDeadline(t *testing.T, dir string, d time.Duration, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	cmd := exec.CommandContext(ctx, entryBin, args...)
	cmd.Dir = dir
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("entry %v still running after %s", args, d)
	}
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("running entry %v: %v", args, err)
	}
	return result{stdout.String(), stderr.String(), code}
}

// listDir returns the names in dir, sorted.
func listDir(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	return names
}

// Every file entry is given is refused at once when it is a device or a
// FIFO, by name, with the exit code of its command; nothing is written.
func TestFilesThatAreNotRegular(t *testing.T) {
	dir := t.TempDir()
	if err := syscall.Mkfifo(filepath.Join(dir, "fifo"), 0o600); err != nil {
		t.Fatal(err)
	}
	const dev = ": is a character device, not a regular file; give the path of "
	const fifo = "fifo: is a FIFO, not a regular file; give the path of "
	tests := []struct {
		yml  string // entry.yml, if any
		args []string
		code int
		want string // stderr
	}{
		{"", []string{"--config", "/dev/zero", "config", "check"}, 2, "entry: config: /dev/zero" + dev + "a config file\n"},
		{"", []string{"--config", "fifo", "--", "true"}, 2, "entry: config: " + fifo + "a config file\n"},
		{"", []string{"--env-file", "/dev/zero", "--", "true"}, 2, "entry: env file /dev/zero" + dev + "an env file\n"},
		{"", []string{"--env-file", "fifo", "--", "true"}, 2, "entry: env file " + fifo + "an env file\n"},
		{"env_files: [fifo]\n", []string{"config", "check", "--", "true"}, 2, "entry: env file " + fifo + "an env file\n"},
		{"", []string{"render", "/dev/zero", "out"}, 1, "entry: render: /dev/zero" + dev + "a template\n"},
		{"", []string{"render", "fifo"}, 1, "entry: render: " + fifo + "a template\n"},
		{"", []string{"cron", "check", "/dev/zero"}, 2, "entry: cron check: crontab: /dev/zero" + dev + "a crontab\n"},
		{"", []string{"cron", "check", "fifo"}, 2, "entry: cron check: crontab: " + fifo + "a crontab\n"},
		{"roles:\n  job:\n    cron: {crontab: /dev/zero}\n", []string{"config", "check"}, 2,
			"entry: entry.yml:3: roles.job.cron: crontab: /dev/zero" + dev + "a crontab (crontab: names a file relative to the working directory)\n"},
		{"roles:\n  job:\n    cron: {crontab: fifo}\n", []string{"role=job"}, 2,
			"entry: entry.yml:3: roles.job.cron: crontab: " + fifo + "a crontab (crontab: names a file relative to the working directory)\n"},
		{"render:\n  templates:\n    - {src: fifo, dst: out}\n", []string{"config", "check", "--", "true"}, 2, "entry: render: " + fifo + "a template\n"},
		{"", []string{"deploy", "--cluster", "c", "--service", "s", "--image-definitions", "/dev/zero"}, 2, "entry: deploy: --image-definitions: /dev/zero" + dev + "an imagedefinitions file\n"},
		{"", []string{"deploy", "--cluster", "c", "--service", "s", "--task-definition", "fifo"}, 2, "entry: deploy: --task-definition: " + fifo + "a task definition\n"},
		{"", []string{"secrets", "decrypt", "fifo"}, 1, "entry: secrets: " + fifo + "a vault\n"},
		// Start-up's hint names where start looks for the key: it has no --key-file.
		{"secrets:\n  vaults:\n    - {src: /dev/zero, dst: out}\n", []string{"--", "true"}, 1,
			"entry: secrets: key: no age key: set ENTRY_AGE_KEY, ENTRY_AGE_KEY_FILE or ENTRY_AGE_KEY_SSM in the container's environment, or secrets.key_file or secrets.key_ssm in entry.yml\n"},
	}
	for _, tt := range tests {
		os.Remove(filepath.Join(dir, "entry.yml"))
		if tt.yml != "" {
			writeFiles(t, dir, map[string]string{"entry.yml": tt.yml})
		}
		before := listDir(t, dir)
		r := runEntryDeadline(t, dir, 20*time.Second, tt.args...)
		if r.code != tt.code || r.stderr != tt.want {
			t.Errorf("%v:\n got exit %d, %q\nwant exit %d, %q", tt.args, r.code, r.stderr, tt.code, tt.want)
		}
		if after := listDir(t, dir); strings.Join(after, " ") != strings.Join(before, " ") {
			t.Errorf("%v: files changed: %v -> %v", tt.args, before, after)
		}
	}
}

// A file over its cap is refused with its size and the cap.
func TestFilesOverTheirCap(t *testing.T) {
	dir := t.TempDir()
	big := strings.Repeat("# padding\n", (1<<20)/10+1)
	writeFiles(t, dir, map[string]string{"big.yml": big, "big.env": big})
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--config", "big.yml", "--", "true"}, "entry: config: big.yml: 1048580 B is larger than the 1048576 B cap for a config file\n"},
		{[]string{"--env-file", "big.env", "--", "true"}, "entry: env file big.env: 1048580 B is larger than the 1048576 B cap for an env file\n"},
	} {
		r := runEntryDeadline(t, dir, 20*time.Second, tt.args...)
		if r.code != 2 || r.stderr != tt.want {
			t.Errorf("%v:\n got exit %d, %q\nwant exit 2, %q", tt.args, r.code, r.stderr, tt.want)
		}
	}
}
