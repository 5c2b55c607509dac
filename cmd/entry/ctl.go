package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/entryhq/entry/config"
	"github.com/entryhq/entry/supervise"
)

const ctlUsage = `Usage: entry ctl [flags] status [NAME...]
       entry ctl [flags] start|stop|restart NAME|all
       entry ctl [flags] signal NAME SIGNAL
       entry ctl [flags] run JOB

Controls the processes of the role a running entry supervises, through its
control socket (run it inside the container: docker exec, ECS Exec).

  status [NAME...] each process: state, readiness, pid, uptime, restarts,
                   last exit (--json: as JSON); exits 0 when every process
                   named runs, 3 when one is stopped, exited or failed, 4
                   when the supervisor cannot be asked (as supervisorctl)
  start NAME       start a stopped, exited or failed process now; waits
                   until its ready: check passes (--no-wait: not)
  stop NAME        stop signal, CONT, SIGKILL after stop_timeout; waits
  restart NAME     stop as above, then start; waits until ready, as start
  signal NAME SIG  send SIG to the process's group (TSTP, USR1, HUP, ...);
                   refused while the process is starting (not ready yet)
  run JOB          run a cron job now, as cron would (its environment, its
                   lock, its output labelled cron:JOB in the container's
                   log); waits for it and exits with its exit code
                   (--no-wait: not); refused while a run of it is going,
                   unless --overlap or the job's overlap=allow

status also lists the cron jobs: schedule, next due time, and the runs
going or the last outcome (ok, failed, skipped), with its time.

NAME all means every process: stop all stops those started after others
first; start all starts them in after: order, each once what it starts
after is ready.

start and restart fail (exit 1) when the ready: check has not passed
within the process's ready_timeout (60s), or the new run ends first; the
process is left running. --timeout must cover stop_timeout + ready_timeout.

A process stopped here stays stopped, and the role carries on even when it
is essential; entry ctl start brings it back. A TERM to the container still
stops the role.

Example:
  docker exec my-app entry ctl restart puma
`

// addControlSocketFlag registers --control-socket, shared by the start
// command, ctl and health.
func (fs *flagSet) addControlSocketFlag(path *string) {
	fs.StringVar(path, "control-socket", "", "control socket of entry ctl and entry health (default "+supervise.DefaultControlSocket+"; none: no socket)")
	fs.setEnv("control-socket", "ENTRY_CONTROL_SOCKET")
}

// checkControlSocket refuses, before anything runs, a socket path that no
// permission could make work; the place is the flag or entry.yml.
func checkControlSocket(fs *flagSet, path string, cfg *config.File) error {
	if path == "" || path == supervise.DefaultControlSocket {
		return nil
	}
	err := supervise.CheckControlSocket(path)
	if err == nil {
		return nil
	}
	if !fs.isSet("control-socket") && cfg != nil && cfg.Path != "" {
		return fmt.Errorf("%s: control_socket: %v", cfg.Path, err)
	}
	return fmt.Errorf("--control-socket (ENTRY_CONTROL_SOCKET): %v", err)
}

// positiveTimeout refuses a --timeout that would give up before asking.
func positiveTimeout(d time.Duration) error {
	if d <= 0 {
		return fmt.Errorf("--timeout %s: want a positive duration, such as 30s", d)
	}
	return nil
}

// controlSocket is the socket path: flag or environment, else
// control_socket in entry.yml, else the default; "" for none.
// A relative control_socket is relative to entry.yml's directory.
func controlSocket(fs *flagSet, flag string, cfg *config.File) string {
	path := flag
	if !fs.isSet("control-socket") && cfg != nil {
		path = cfg.ControlSocket
		if path != "" && path != "none" && !filepath.IsAbs(path) && cfg.Path != "" {
			path = filepath.Join(filepath.Dir(cfg.Path), path)
		}
	}
	switch path {
	case "":
		return supervise.DefaultControlSocket
	case "none":
		return ""
	}
	return path
}

// clientSocket is the socket path for ctl and health, found however the
// running supervisor was configured: --control-socket or
// ENTRY_CONTROL_SOCKET if given; else control_socket in the entry.yml named
// by --config or ENTRY_CONFIG (relative to that file); else the socket the
// running entry listens on (found through /proc); else control_socket in
// ./entry.yml (a broken one is passed over); else the default, or its
// fallback for a non-root user. hint says why discovery found nothing,
// when that may be why the socket cannot be reached.
func clientSocket(fs *flagSet, flag, configPath string) (path, hint string, err error) {
	off := fmt.Errorf("the control socket is off (control_socket: none)")
	if fs.isSet("control-socket") {
		if path = controlSocket(fs, flag, nil); path == "" {
			return "", "", off
		}
		return path, "", nil
	}
	if fs.isSet("config") {
		cfg, err := loadConfig(fs, configPath)
		if err != nil {
			return "", "", err
		}
		if cfg.ControlSocket != "" {
			if path = controlSocket(fs, flag, cfg); path == "" {
				return "", "", off
			}
			return path, "", nil
		}
	}
	found, err := supervise.FindControlSocket()
	if found != "" {
		return found, "", nil
	}
	if err != nil {
		hint = err.Error()
	}
	if !fs.isSet("config") {
		if cfg, err := loadConfig(fs, configPath); err == nil && cfg.ControlSocket != "" {
			if path = controlSocket(fs, flag, cfg); path == "" {
				return "", "", off
			}
			return path, hint, nil
		}
	}
	for _, p := range []string{supervise.DefaultControlSocket, supervise.FallbackControlSocket(os.Geteuid())} {
		if st, err := os.Lstat(p); err == nil && st.Mode()&os.ModeSocket != 0 {
			return p, hint, nil
		}
	}
	return supervise.DefaultControlSocket, hint, nil
}

// callSupervisor is supervise.Call, its error completed with hint.
func callSupervisor(path, hint string, req supervise.Request, timeout time.Duration) (*supervise.Response, error) {
	resp, err := supervise.Call(path, req, timeout)
	if err != nil && hint != "" {
		err = fmt.Errorf("%v; and %s", err, hint)
	}
	return resp, err
}

// runCtl is `entry ctl`.
func runCtl(args []string) int {
	fs := newFlagSet("ctl", ctlUsage)
	var socket, configPath string
	var timeout time.Duration
	fs.addConfigFlag(&configPath)
	fs.addControlSocketFlag(&socket)
	var noWait bool
	fs.DurationVar(&timeout, "timeout", 10*time.Minute, "how long to wait for an answer (stop and restart wait for the process; start and restart for its ready: check, up to its ready_timeout)")
	fs.BoolVar(&noWait, "no-wait", false, "start and restart answer once the process has started, without waiting for its ready: check; run once the job has started, without waiting for it to end")
	var jsonOut, overlap bool
	fs.BoolVar(&jsonOut, "json", false, "status: print JSON (stable field names) instead of a table")
	fs.BoolVar(&overlap, "overlap", false, "run: start the job even while a run of it is going (as its \"# entry: overlap=allow\" would)")
	if code := fs.parseOrExit(args); code >= 0 {
		return code
	}
	if err := positiveTimeout(timeout); err != nil {
		return fail(exitUsage, "ctl: %v", err)
	}
	rest := fs.Args()
	if len(rest) == 0 {
		return fail(exitUsage, "ctl: missing command (status, start, stop, restart, signal or run; see 'entry ctl --help')")
	}
	req := supervise.Request{Cmd: rest[0], NoWait: noWait}
	want := map[string]int{"status": 1, "start": 2, "stop": 2, "restart": 2, "signal": 3, "run": 2}[req.Cmd]
	switch {
	case want == 0:
		return fail(exitUsage, "ctl: unknown command %q (status, start, stop, restart, signal or run)", req.Cmd)
	case req.Cmd == "status":
		// status [NAME...]
	case len(rest) != want:
		return fail(exitUsage, "ctl %s: want %d argument(s) after it, got %d (see 'entry ctl --help')", req.Cmd, want-1, len(rest)-1)
	}
	if req.Cmd != "status" && want > 1 {
		req.Name = rest[1]
	}
	if want > 2 {
		req.Signal = rest[2]
	}
	if jsonOut && req.Cmd != "status" {
		return fail(exitUsage, "ctl %s: --json is for status", req.Cmd)
	}
	if overlap && req.Cmd != "run" {
		return fail(exitUsage, "ctl %s: --overlap is for run", req.Cmd)
	}
	req.Overlap = overlap
	path, hint, err := clientSocket(fs, socket, configPath)
	if err != nil {
		return fail(exitUsage, "ctl: %v", err)
	}
	resp, err := callSupervisor(path, hint, req, timeout)
	if err != nil {
		if req.Cmd == "status" {
			return fail(exitStatusUnknown, "ctl: %v", err)
		}
		return fail(exitFailure, "ctl: %v", err)
	}
	if req.Cmd == "status" {
		return printStatus(resp, rest[1:], jsonOut)
	}
	if resp.Message != "" {
		fmt.Println(resp.Message)
	}
	code := exitOK
	if resp.Error != "" {
		for _, line := range strings.Split(resp.Error, "\n") {
			fmt.Fprintf(os.Stderr, "entry: ctl %s: %s\n", req.Cmd, line)
		}
		code = exitFailure
	}
	if resp.ExitCode != nil {
		code = *resp.ExitCode // run: the job's own
	}
	return code
}

// Exit codes of entry ctl status, as supervisorctl status's (LSB's status
// codes): 3 when a process is not running, 4 when the supervisor cannot be
// asked or a name is unknown.
const (
	exitStatusNotRunning = 3
	exitStatusUnknown    = 4
)

// statusDoc is the output of entry ctl status --json.
type statusDoc struct {
	Role      string                    `json:"role"`
	Processes []supervise.ProcessStatus `json:"processes"`
	Cron      []supervise.JobStatus     `json:"cron"`
}

// printStatus prints the processes named (all when none), as a table or
// JSON, and returns status's exit code.
func printStatus(resp *supervise.Response, names []string, jsonOut bool) int {
	if resp.Error != "" {
		return fail(exitStatusUnknown, "ctl status: %s", resp.Error)
	}
	procs, jobs := resp.Processes, resp.Jobs
	if len(names) > 0 {
		procs, jobs = nil, nil
		for _, name := range names {
			i := slices.IndexFunc(resp.Processes, func(p supervise.ProcessStatus) bool { return p.Name == name })
			if i < 0 {
				known := make([]string, len(resp.Processes))
				for j, p := range resp.Processes {
					known[j] = p.Name
				}
				return fail(exitStatusUnknown, "ctl status: no process %q in role %s (processes: %s)", name, resp.Role, strings.Join(known, ", "))
			}
			procs = append(procs, resp.Processes[i])
		}
	}
	if jsonOut {
		doc := statusDoc{Role: resp.Role, Processes: procs, Cron: jobs}
		if doc.Processes == nil {
			doc.Processes = []supervise.ProcessStatus{}
		}
		if doc.Cron == nil {
			doc.Cron = []supervise.JobStatus{}
		}
		b, _ := json.MarshalIndent(doc, "", "  ")
		fmt.Println(string(b))
	} else {
		supervise.WriteStatus(os.Stdout, procs)
		if len(jobs) > 0 {
			fmt.Println()
			supervise.WriteJobs(os.Stdout, jobs)
		}
	}
	for _, p := range procs {
		if supervise.NotRunning(p.State) {
			return exitStatusNotRunning
		}
	}
	return exitOK
}
