package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/entryhq/entry/internal/testtool"
)

func TestStartExecsCommandAfterEnvFiles(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		".env":      "FROM_FILE=dotenv\nREAL=from-file\n",
		"other.env": "FROM_FILE=other\n",
		"entry.yml": "hooks:\n  - echo hook ran\n",
		"script.sh": "",
	})
	// The real environment wins over .env; the command is exec'd with the result.
	r := runEntry(t, dir, []string{"REAL=real"}, "--", "sh", "-c", `echo "$FROM_FILE $REAL"`)
	if r.code != 0 || r.stdout != "hook ran\ndotenv real\n" {
		t.Fatalf("got %+v", r)
	}
	if !strings.Contains(r.stderr, `entry: hook 1 "echo hook ran"`) {
		t.Errorf("no hook log line: %q", r.stderr)
	}
	// A bare command that is not a role is a command too; ENTRY_ENV_FILE
	// chooses the env file, and --env-file beats it.
	r = runEntry(t, dir, []string{"ENTRY_ENV_FILE=other.env"}, "sh", "-c", `echo "$FROM_FILE"`)
	if r.code != 0 || !strings.HasSuffix(r.stdout, "other\n") {
		t.Errorf("ENTRY_ENV_FILE: %+v", r)
	}
	r = runEntry(t, dir, []string{"ENTRY_ENV_FILE=other.env"}, "--env-file", ".env", "--", "sh", "-c", `echo "$FROM_FILE"`)
	if r.code != 0 || !strings.HasSuffix(r.stdout, "dotenv\n") {
		t.Errorf("--env-file over ENTRY_ENV_FILE: %+v", r)
	}
}

// An env file marked required: false is loaded when present and skipped
// when absent; config check says which.
func TestStartOptionalEnvFiles(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		".env":      "A=dotenv\nB=dotenv\n",
		".env.web":  "B=web\n",
		"entry.yml": "env_files:\n  - {path: .env.local, required: false}\n  - {path: .env.web, required: false}\n  - .env\n",
	})
	r := runEntry(t, dir, nil, "--", "sh", "-c", `echo "$A $B"`)
	if r.code != 0 || r.stdout != "dotenv web\n" {
		t.Fatalf("got %+v", r)
	}
	r = runEntry(t, dir, nil, "config", "check", "--", "true")
	want := "    env: skip .env.local (absent, required: false)\n" +
		" 1. env: load .env.web (the real environment wins)\n" +
		" 2. env: load .env (the real environment wins)\n" +
		" 3. exec 'true'"
	if r.code != 0 || !strings.Contains(r.stdout, want) {
		t.Errorf("config check:\n%s\nwant it to contain\n%s", r.stdout, want)
	}
}

// The command keeps entry's PID: it is exec'd, not run as a child.
func TestStartExecReplacesEntry(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(entryBin, "--", "sh", "-c", "echo $$")
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout = &out
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(out.String()); got != strconv.Itoa(cmd.Process.Pid) {
		t.Errorf("command ran as pid %s, entry was %d", got, cmd.Process.Pid)
	}
}

func TestStartFailures(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		args  []string
		code  int
		msg   string
	}{
		{"hook fails", map[string]string{"entry.yml": "hooks:\n  - echo one\n  - sh -c 'exit 3'\n  - touch after-hook\n"},
			[]string{"--", "touch", "ran"}, 1, `entry: hook 2 "sh -c 'exit 3'" exited 3`},
		{"hook not found", map[string]string{"entry.yml": "hooks:\n  - touch hooked\n  - RAILS_ENV=x no-such-program-xyz --flag\n"},
			[]string{"--", "touch", "ran"}, 2, `entry: entry.yml:3: hook 2 "RAILS_ENV=x no-such-program-xyz --flag" cannot run: no-such-program-xyz: command not found (install it in the image, or fix the command)`},
		{"hook not executable", map[string]string{"entry.yml": "hooks: [./setup.sh]\n", "setup.sh": "echo hi\n"},
			[]string{"--", "touch", "ran"}, 2, `entry: entry.yml:1: hook 1 "./setup.sh" cannot run: ./setup.sh: not executable (install it in the image, or fix the command)`},
		{"hook found at run time only", map[string]string{"entry.yml": "hooks: ['sh -c \"no-such-program-xyz\"']\n"},
			[]string{"--", "touch", "ran"}, 1, `entry: hook 1 "sh -c \"no-such-program-xyz\"" exited 127 (command not found: check the command and PATH)`},
		{"bad config", map[string]string{"entry.yml": "hooks: [touch hooked]\nrolez: {}\n"},
			[]string{"--", "touch", "ran"}, 2, `entry: entry.yml:2: unknown key "rolez" in top level (did you mean "roles"?)`},
		{"missing explicit config", nil,
			[]string{"--config", "nope.yml", "--", "touch", "ran"}, 2, `entry: config: open nope.yml: no such file or directory`},
		{"unknown role", map[string]string{"entry.yml": "hooks: [touch hooked]\nroles: {web: {app: touch ran}}\n"},
			[]string{"role=nope"}, 2, `entry: role=nope: role "nope" is not configured in entry.yml (roles: web)`},
		{"unknown role from env", map[string]string{"entry.yml": "roles: {web: {app: touch ran}}\n", ".env": "ROLE=jobs\n"},
			nil, 2, `entry: ROLE: role "jobs" is not configured in entry.yml (roles: web)`},
		{"nothing to run", map[string]string{"entry.yml": "hooks: [touch hooked]\n"},
			nil, 2, `entry: nothing to run: entry.yml configures no roles and no command was given (add roles to entry.yml, see docs/config.md, or run entry -- CMD)`},
		{"nothing after dash", nil, []string{"--"}, 2, `entry: nothing after --: give a command to run, e.g. entry -- bash`},
		{"role with arguments", map[string]string{"entry.yml": "roles: {web: {app: touch ran}}\n"},
			[]string{"role=web", "extra"}, 2, `entry: role=web takes no further arguments, got "extra" (use entry -- CMD to run a command)`},
		{"unknown flag", nil, []string{"--bogus"}, 2, `entry: unknown flag: --bogus (see 'entry --help')`},
		{"bad log format", nil, []string{"--log-format", "xml", "--", "touch", "ran"}, 2, `entry: --log-format: log format "xml": want prefix, raw or json`},
		{"missing env file", map[string]string{"entry.yml": "env_files: [.env.production]\n"},
			[]string{"--", "touch", "ran"}, 2, `entry: env file .env.production: does not exist (create it, remove it from env_files / --env-file, or mark it {path: .env.production, required: false})`},
		{"command not found", nil, []string{"--", "no-such-program-xyz"}, 127, `entry: no-such-program-xyz: command not found (PATH=`},
		{"command not executable", map[string]string{"script": "echo hi\n"}, []string{"--", "./script"}, 126, `entry: ./script: not executable`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFiles(t, dir, tt.files)
			r := runEntry(t, dir, nil, tt.args...)
			if r.code != tt.code {
				t.Errorf("exit code %d, want %d (stderr %q)", r.code, tt.code, r.stderr)
			}
			lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
			if last := lines[len(lines)-1]; !strings.HasPrefix(last, tt.msg) {
				t.Errorf("last stderr line:\n got %s\nwant %s", last, tt.msg)
			}
			for _, f := range []string{"ran", "after-hook"} {
				if _, err := os.Stat(filepath.Join(dir, f)); err == nil {
					t.Errorf("%s exists: something ran after the failure", f)
				}
			}
			if tt.code == 2 {
				if _, err := os.Stat(filepath.Join(dir, "hooked")); err == nil {
					t.Error("a hook ran although the command line or config was invalid")
				}
			}
		})
	}
}

// TERM during a hook stops the hook's whole group and entry exits 143
// without starting anything.
func TestStartInterruptedDuringHook(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"entry.yml": "hooks:\n  - 'sleep 30 & echo $! > bg.pid; wait'\n"})
	cmd := exec.Command(entryBin, "--", "touch", "ran")
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	// Not in a PID namespace (bg.pid must be a pid the test can see): entry
	// in its own group, and the cleanup kills that group and the hook's
	// sleeper, should entry fail to.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pidFile := filepath.Join(dir, "bg.pid")
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		if data, err := os.ReadFile(pidFile); err == nil {
			if pid, err := strconv.Atoi(strings.TrimSpace(string(data))); err == nil && pid > 1 {
				syscall.Kill(-pid, syscall.SIGKILL) // the hook's group
				syscall.Kill(pid, syscall.SIGKILL)
			}
		}
		if cmd.ProcessState == nil {
			cmd.Wait()
		}
	})
	testtool.Eventually(t, "the hook writing bg.pid", func() bool {
		data, err := os.ReadFile(pidFile)
		return err == nil && strings.HasSuffix(string(data), "\n")
	})
	cmd.Process.Signal(syscall.SIGTERM)
	err := testtool.WaitCmd(t, cmd, testtool.Patience, func() string { return "after TERM; stderr: " + stderr.String() })
	ee, ok := err.(*exec.ExitError)
	if !ok || ee.ExitCode() != 143 {
		t.Fatalf("exit: %v (stderr %q)", err, stderr.String())
	}
	if !strings.Contains(stderr.String(), "entry: start-up interrupted by SIGTERM; nothing was started") {
		t.Errorf("stderr %q", stderr.String())
	}
	data, _ := os.ReadFile(pidFile)
	if pid, err := strconv.Atoi(strings.TrimSpace(string(data))); err != nil || !processGone(pid, testtool.Patience) {
		t.Errorf("the hook's background process %q survived", data)
	}
	if _, err := os.Stat(filepath.Join(dir, "ran")); err == nil {
		t.Error("the command ran after the interruption")
	}
}

// `nohup entry -- CMD` ignores HUP, and a shell's background job
// (`entry -- CMD &`) ignores INT; entry catches INT during start-up, and
// CMD must still find both ignored after the exec. (QUIT and TERM are not
// kept: the Go runtime installs its own handlers for them at start.)
func TestExecKeepsIgnoredSignals(t *testing.T) {
	r := runBinary(t, "sh", t.TempDir(), nil, "-c", `trap "" INT HUP; exec "$0" -- grep SigIgn /proc/self/status`, entryBin)
	if r.code != 0 {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	hex, ok := strings.CutPrefix(strings.TrimSpace(r.stdout), "SigIgn:")
	mask, err := strconv.ParseUint(strings.TrimSpace(hex), 16, 64)
	if !ok || err != nil {
		t.Fatalf("stdout %q", r.stdout)
	}
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGHUP} {
		if mask&(1<<(sig-1)) == 0 {
			t.Errorf("%v is no longer ignored after the exec (SigIgn %s)", sig, strings.TrimSpace(hex))
		}
	}
}

func TestVersion(t *testing.T) {
	r := runEntry(t, t.TempDir(), nil, "version")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "entry ") || strings.Contains(r.stdout, "dev (commit unknown") || !strings.Contains(r.stdout, "linux/") {
		t.Errorf("version: %+v", r)
	}
}

// processGone waits up to d for pid to exit; a zombie counts as gone (its
// reaper is not ours).
func processGone(pid int, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for {
		stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if err != nil {
			return true
		}
		if _, rest, ok := strings.Cut(string(stat), ") "); ok && strings.HasPrefix(rest, "Z") {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A role that cannot run fails before the start-up pipeline runs anything.
func TestStartRoleValidatedBeforeHooks(t *testing.T) {
	tests := map[string]struct{ cfg, msg string }{
		"after cycle": {"roles:\n  web:\n    a: {command: x, after: [b]}\n    b: {command: x, after: [a]}\n",
			"entry: entry.yml:3: roles.web: after: processes wait for each other in a cycle: a -> b -> a"},
		"bad crontab": {"roles:\n  job:\n    cron: {crontab: crontab}\n",
			`entry: entry.yml:4: roles.job.cron: crontab:1: minute field "61": 61 is out of range 0-59`},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			writeFiles(t, dir, map[string]string{
				"entry.yml": "hooks: [touch hooked]\n" + tt.cfg,
				"crontab":   "61 * * * * echo never\n",
			})
			for _, args := range [][]string{nil, {"config", "check"}} {
				r := runEntry(t, dir, nil, args...)
				if r.code != 2 || !strings.HasPrefix(strings.TrimSpace(r.stderr), tt.msg) {
					t.Errorf("entry %v: exit %d, stderr %q; want 2, %q", args, r.code, r.stderr, tt.msg)
				}
			}
			if _, err := os.Stat(filepath.Join(dir, "hooked")); err == nil {
				t.Error("the hook ran although the role was invalid")
			}
		})
	}
}

// Templates and hooks see the role being started.
func TestStartSetsRoleForPipeline(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"entry.yml": "hooks: ['echo role=$ENTRY_ROLE > seen']\nroles:\n  web: {a: 'true'}\n  job: {a: 'true'}\n"})
	r := runEntry(t, dir, []string{"ENTRY_ROLE=web"}, "role=job")
	if r.code != 0 {
		t.Fatalf("%+v", r)
	}
	if data, _ := os.ReadFile(filepath.Join(dir, "seen")); string(data) != "role=job\n" {
		t.Errorf("the hook saw %q", data)
	}
}
