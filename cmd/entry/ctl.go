package main

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/entryhq/entry/config"
	"github.com/entryhq/entry/supervise"
)

const ctlUsage = `Usage: entry ctl [flags] status
       entry ctl [flags] start|stop|restart NAME
       entry ctl [flags] signal NAME SIGNAL

Controls the processes of the role a running entry supervises, through its
control socket (run it inside the container: docker exec, ECS Exec).

  status           each process: state, pid, uptime, restarts, last exit
  start NAME       start a stopped, exited or failed process now
  stop NAME        stop signal, CONT, SIGKILL after stop_timeout; waits
  restart NAME     stop as above, then start; waits
  signal NAME SIG  send SIG to the process's group (TSTP, USR1, HUP, ...)

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
	fs.DurationVar(&timeout, "timeout", 10*time.Minute, "how long to wait for an answer (stop and restart wait for the process)")
	if code := fs.parseOrExit(args); code >= 0 {
		return code
	}
	if err := positiveTimeout(timeout); err != nil {
		return fail(exitUsage, "ctl: %v", err)
	}
	rest := fs.Args()
	if len(rest) == 0 {
		return fail(exitUsage, "ctl: missing command (status, start, stop, restart or signal; see 'entry ctl --help')")
	}
	req := supervise.Request{Cmd: rest[0]}
	want := map[string]int{"status": 1, "start": 2, "stop": 2, "restart": 2, "signal": 3}[req.Cmd]
	switch {
	case want == 0:
		return fail(exitUsage, "ctl: unknown command %q (status, start, stop, restart or signal)", req.Cmd)
	case len(rest) != want:
		return fail(exitUsage, "ctl %s: want %d argument(s) after it, got %d (see 'entry ctl --help')", req.Cmd, want-1, len(rest)-1)
	}
	if want > 1 {
		req.Name = rest[1]
	}
	if want > 2 {
		req.Signal = rest[2]
	}
	path, hint, err := clientSocket(fs, socket, configPath)
	if err != nil {
		return fail(exitUsage, "ctl: %v", err)
	}
	resp, err := callSupervisor(path, hint, req, timeout)
	if err != nil {
		return fail(exitFailure, "ctl: %v", err)
	}
	if resp.Error != "" {
		return fail(exitFailure, "ctl %s: %s", req.Cmd, resp.Error)
	}
	if req.Cmd == "status" {
		supervise.WriteStatus(os.Stdout, resp.Processes)
	} else {
		fmt.Println(resp.Message)
	}
	return exitOK
}
