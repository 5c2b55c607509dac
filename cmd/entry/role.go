package main

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"

	"github.com/entryhq/entry/config"
	"github.com/entryhq/entry/internal/signame"
	"github.com/entryhq/entry/prehook"
	"github.com/entryhq/entry/supervise"
)

// roleOptions are the start command's settings that shape supervision.
type roleOptions struct {
	LogFormat string // prefix, raw or json
}

// prepareRole turns role into the supervisor's form and validates it —
// signals, restart policies, after: cycles, crontabs — so that a bad role
// fails before the start-up pipeline runs anything.
func prepareRole(cfg *config.File, role *config.Role, opts roleOptions) (supervise.Role, error) {
	format, err := supervise.ParseLogFormat(opts.LogFormat)
	if err != nil {
		return supervise.Role{}, err
	}
	r := supervise.Role{Name: role.Name, LogFormat: format}
	for _, p := range role.Processes {
		sp, err := supervisedProcess(p)
		if err != nil {
			return r, fmt.Errorf("%s:%d: roles.%s.%s: %v", cfg.Path, p.Line, role.Name, p.Name, err)
		}
		r.Processes = append(r.Processes, sp)
	}
	if _, err := supervise.New(r); err != nil {
		return r, fmt.Errorf("%s:%d: roles.%s: %v", cfg.Path, role.Line, role.Name, err)
	}
	return r, nil
}

// runRole supervises a prepared role with the environment the start-up
// pipeline built, until it stops, and returns entry's exit code. signals
// delivers every signal entry receives (subscribed with signal.Notify
// before start-up began).
func runRole(r supervise.Role, env *prehook.Env, signals <-chan os.Signal) int {
	r.Env = env.List()
	s, err := supervise.New(r)
	if err != nil { // prepareRole validated the same role
		return fail(exitUsage, "start: roles.%s: %v", r.Name, err)
	}
	return s.Run(signals)
}

// supervisedProcess turns a config process into the supervisor's form,
// filling in entry's defaults (essential: true).
func supervisedProcess(p config.Process) (supervise.Process, error) {
	sp := supervise.Process{
		Name:          p.Name,
		Shell:         p.Command.Shell,
		Argv:          p.Command.Argv,
		Dir:           p.Dir,
		StopTimeout:   p.StopTimeout,
		Essential:     p.Essential == nil || *p.Essential,
		MaxRestarts:   p.MaxRestarts,
		RestartWindow: p.RestartWindow,
		After:         p.After,
		ReadyTimeout:  p.ReadyTimeout,
	}
	if p.Crontab != "" {
		svc, err := newCronService(p)
		if err != nil {
			return sp, err
		}
		sp.Service = svc
	}
	keys := make([]string, 0, len(p.Env))
	for k := range p.Env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		sp.Env = append(sp.Env, k+"="+p.Env[k])
	}
	var err error
	if p.StopSignal != "" {
		if sp.StopSignal, err = signame.Parse(p.StopSignal); err != nil {
			return sp, fmt.Errorf("stop_signal: %v", err)
		}
	}
	for from, to := range p.Signals {
		f, err := signame.Parse(from)
		if err != nil {
			return sp, fmt.Errorf("signals: %v", err)
		}
		t, err := config.ParseForwarded(to)
		if err != nil {
			return sp, fmt.Errorf("signals: %v", err)
		}
		if sp.Signals == nil {
			sp.Signals = map[syscall.Signal]syscall.Signal{}
		}
		sp.Signals[f] = t
	}
	if sp.Restart, err = supervise.ParseRestart(p.Restart); err != nil {
		return sp, err
	}
	if !p.Ready.IsZero() {
		if sp.Ready, err = supervise.ParseReady(p.Ready.Shell, p.Ready.Argv); err != nil {
			return sp, err
		}
	}
	return sp, nil
}

// superviseCommand runs argv as a one-process role (the tini model), used
// when entry is PID 1 and was given a command: the command keeps entry's
// stdin, stdout, stderr and terminal, gets the very signals entry gets,
// and its own exit status becomes entry's.
func superviseCommand(argv []string, env *prehook.Env, opts roleOptions, signals <-chan os.Signal) int {
	format, err := supervise.ParseLogFormat(opts.LogFormat)
	if err != nil {
		return fail(exitUsage, "start: %v", err)
	}
	r := supervise.Role{
		Env:           env.List(),
		LogFormat:     format,
		ChildExitCode: true,
		Quiet:         true,
		Processes: []supervise.Process{{
			Name:             filepath.Base(argv[0]),
			Argv:             argv,
			Essential:        true,
			StopWithReceived: true,
			Stdio:            true,
		}},
	}
	s, err := supervise.New(r)
	if err != nil {
		return fail(exitUsage, "start: %v", err)
	}
	return s.Run(signals)
}

// runCodep runs EntryKit codep tasks: all at once, and when one exits the
// others are stopped; entry exits with the first one's code.
func runCodep(tasks []entryKitTask, env *prehook.Env, opts roleOptions, signals <-chan os.Signal) int {
	format, err := supervise.ParseLogFormat(opts.LogFormat)
	if err != nil {
		return fail(exitUsage, "codep: %v", err)
	}
	r := supervise.Role{Name: "codep", Env: env.List(), LogFormat: format}
	for i, name := range codepNames(tasks) {
		r.Processes = append(r.Processes, supervise.Process{Name: name, Shell: tasks[i].Shell, Essential: true})
	}
	s, err := supervise.New(r)
	if err != nil {
		return fail(exitUsage, "codep: %v", err)
	}
	return s.Run(signals)
}

// codepNames names each task: its own name, else its command's first word;
// a repeated name gets a number, so that two tasks never collapse into one
// (EntryKit's map did that).
func codepNames(tasks []entryKitTask) []string {
	names := make([]string, len(tasks))
	seen := map[string]int{}
	for i, t := range tasks {
		name := t.Name
		if name == "" {
			if f := strings.Fields(t.Shell); len(f) > 0 {
				name = filepath.Base(f[0])
			} else {
				name = "task"
			}
		}
		seen[name]++
		if n := seen[name]; n > 1 {
			name += "." + strconv.Itoa(n)
		}
		names[i] = name
	}
	return names
}
