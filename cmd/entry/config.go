package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/entryhq/entry/config"
	"github.com/entryhq/entry/internal/redact"
	"github.com/entryhq/entry/supervise"
)

const configUsage = `Usage: entry config check [flags] [role=NAME | NAME] [-- CMD ARGS...]

Validates entry.yml and prints the effective start-up plan: the env files
that will be loaded, each start-up step's actions in the order they run,
and the role's processes or the command that follows. Nothing is run,
written or fetched. Exit status 2 when the config is invalid or start-up
would fail on what can be seen here (a template that does not parse, two
templates writing one file, a program that is not installed); every
problem is listed, one a line.

Example:
  entry config check --config docker/entry.yml role=job
`

// runConfig is `entry config check`.
func runConfig(args []string) int {
	if len(args) == 0 || (args[0] != "check" && !strings.HasPrefix(args[0], "-")) {
		if len(args) > 0 {
			return fail(exitUsage, "config: unknown subcommand %q (the only one is check; see 'entry config --help')", args[0])
		}
		return fail(exitUsage, "config: missing subcommand (run 'entry config check')")
	}
	if args[0] == "check" {
		args = args[1:]
	}
	fs, sf := newStartFlags()
	fs.FlagSet.Init("entry config", 0)
	fs.usage = configUsage
	fs.MarkHidden("symlink")
	if code := fs.parseOrExit(args); code >= 0 {
		return code
	}
	sf.check = true
	plan, err := planStart(fs, sf)
	if err != nil {
		return failAll(exitUsage, err)
	}
	printPlan(os.Stdout, plan)
	if tgt := plan.target.role; tgt != nil {
		for i, p := range plan.role.Processes {
			if w := supervise.SidekiqWarning(p); w != "" {
				fmt.Fprintf(os.Stderr, "entry: warning: %s:%d: roles.%s.%s: %s\n", plan.cfg.Path, tgt.Processes[i].Line, tgt.Name, p.Name, w)
			}
		}
	}
	return exitOK
}

// printPlan writes the start-up plan, numbered in the order it runs.
func printPlan(w io.Writer, plan *startPlan) {
	cfg, tgt, steps := plan.cfg, plan.target, plan.pipeline.Plan(plan.env)
	if cfg.Path != "" {
		fmt.Fprintf(w, "config %s: valid\n", cfg.Path)
	} else {
		fmt.Fprintln(w, "config: none found; using defaults")
	}
	n := 0
	// A URL's password (a ready: check, a hook's command) is masked.
	line := func(format string, args ...any) {
		n++
		fmt.Fprintf(w, "%2d. %s\n", n, redact.Text(fmt.Sprintf(format, args...)))
	}
	for _, f := range plan.envAbsent {
		fmt.Fprintf(w, "    env: skip %s (absent, required: false)\n", f)
	}
	for _, f := range plan.envFiles {
		line("env: load %s (the real environment wins)", f)
	}
	for _, s := range steps {
		line("%s", s)
	}
	if tgt.role == nil {
		line("exec %s (supervised as a one-process role when entry is PID 1)", shellJoin(tgt.command))
		return
	}
	line("start role %s:", tgt.role.Name)
	for _, p := range tgt.role.Processes {
		fmt.Fprintf(w, "      %s: %s\n", p.Name, redact.Text(describeProcess(p)))
	}
}

func describeProcess(p config.Process) string {
	what := p.Command.String()
	if p.Crontab != "" {
		what = "cron scheduler for " + p.Crontab
	}
	var opts []string
	if p.StopSignal != "" {
		opts = append(opts, "stop_signal "+p.StopSignal)
	}
	if p.StopTimeout > 0 {
		opts = append(opts, "stop_timeout "+p.StopTimeout.String())
	}
	if p.Essential != nil && !*p.Essential {
		opts = append(opts, "not essential")
	}
	if p.Restart != "" {
		opts = append(opts, "restart "+p.Restart)
	}
	if len(p.After) > 0 {
		opts = append(opts, "after "+strings.Join(p.After, ", "))
	}
	if !p.Ready.IsZero() {
		opts = append(opts, "ready "+p.Ready.String())
	}
	if p.ReadyTimeout > 0 {
		opts = append(opts, "ready_timeout "+p.ReadyTimeout.String())
	}
	if len(opts) == 0 {
		return what
	}
	return what + " (" + strings.Join(opts, "; ") + ")"
}
