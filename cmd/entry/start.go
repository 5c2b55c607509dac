package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"github.com/entryhq/entry/config"
	"github.com/entryhq/entry/internal/selfenv"
	"github.com/entryhq/entry/internal/signame"
	"github.com/entryhq/entry/prehook"
	"github.com/entryhq/entry/secrets"
	"github.com/entryhq/entry/supervise"
	"github.com/entryhq/entry/supervise/cron"
)

const startUsage = `Usage: entry [flags] [role=NAME | NAME] [-- CMD ARGS...]

Loads .env files, runs the start-up pipeline (secrets, render, assets,
hooks; see docs/config.md), then starts a role's processes under entry's
supervision, or execs a command.

  entry                 start the default role (default_role, else "web")
  entry role=job        start the job role
  entry job             the same, when "job" is a configured role
  entry bash            run the pipeline, then exec bash
  entry -- rake db:migrate
                        run the pipeline, then exec the command

A command replaces entry (exec) so that it keeps PID 1's place; when entry
itself is PID 1 it supervises the command instead, so that zombies are
still reaped and signals forwarded (the tini model).

The role is taken from, in order: role=NAME or NAME, --role, ENTRY_ROLE,
ROLE, default_role.

entry --version (or -v) prints the version, as 'entry version' does.

Example (Dockerfile):
  ENTRYPOINT ["entry"]
  CMD ["role=web"]
`

// startFlags are the start command's settings.
type startFlags struct {
	configPath string
	role       string
	envFiles   []string
	logFormat  string
	symlinkDir string
	check      bool // entry config check: find every problem start-up would meet
	ctlSocket  string
	metrics    string
}

func newStartFlags() (*flagSet, *startFlags) {
	sf := &startFlags{}
	fs := newFlagSet("", startUsage)
	fs.SetInterspersed(false) // `entry bash -c x`: -c belongs to bash
	fs.addConfigFlag(&sf.configPath)
	fs.StringVar(&sf.role, "role", "", "role to start when none is named in the arguments")
	fs.StringSliceVar(&sf.envFiles, "env-file", nil, "env file to load (repeatable; replaces env_files; the real environment wins)")
	fs.StringVar(&sf.logFormat, "log-format", "", "how process output is written: prefix, raw or json (default prefix)")
	fs.StringVar(&sf.symlinkDir, "symlink", "", "create EntryKit symlinks (prehook, codep, switch, render) in DIR and exit")
	fs.addControlSocketFlag(&sf.ctlSocket)
	fs.StringVar(&sf.metrics, "metrics", "", "serve Prometheus metrics on HOST:PORT (e.g. 127.0.0.1:9394); overrides metrics: in entry.yml; none serves none")
	return fs, sf
}

// A target is what the start command runs after the pipeline: a role or a
// command.
type target struct {
	role    *config.Role
	command []string
}

// A startPlan is everything the start command decides before it runs
// anything; `entry config check` prints it.
type startPlan struct {
	cfg       *config.File
	env       *prehook.Env // the environment being built for the processes
	envFiles  []string     // the env files loaded
	envAbsent []string     // the optional env files that do not exist
	target    target
	role      supervise.Role // target.role in the supervisor's form
	pipeline  *prehook.Pipeline
}

// planStart reads the config and env files and decides what to run. Every
// error it returns is the user's to fix (exit 2), and nothing has run yet.
// Past the config file itself it goes on after a problem, so that the error
// lists them all (errors.Join). With sf.check (entry config check) it also
// finds what start-up would only find later: a template that does not
// parse, a role's program or the command that is not installed.
func planStart(fs *flagSet, sf *startFlags) (*startPlan, error) {
	cfg, err := loadConfig(fs, sf.configPath)
	if err != nil {
		return nil, err
	}
	var problems []error
	add := func(err error) {
		if err != nil {
			problems = append(problems, err)
		}
	}
	if sf.logFormat == "" {
		sf.logFormat = cfg.LogFormat
	}
	if _, err := supervise.ParseLogFormat(sf.logFormat); err != nil {
		add(fmt.Errorf("--log-format: %v", err))
		sf.logFormat = ""
	}
	p := &startPlan{cfg: cfg, env: prehook.OSEnv()}
	envFiles := envFilesToLoad(cfg, fs, sf)
	p.envFiles, err = prehook.LoadEnvFiles(p.env, envFiles)
	add(err)
	for _, f := range envFiles {
		if f.Optional && !slices.Contains(p.envFiles, f.Path) {
			p.envAbsent = append(p.envAbsent, f.Path)
		}
	}
	p.target, err = chooseTarget(cfg, fs, sf, p.env)
	add(err)
	if !sf.check && p.target.role != nil {
		setStartLog(sf.logFormat, p.target.role.Name) // for the warnings of preparing the role
	}
	metrics, err := metricsAddress(fs, sf.metrics, cfg)
	add(err)
	if p.target.role != nil {
		p.role, err = prepareRole(cfg, p.target.role, roleOptions{LogFormat: sf.logFormat})
		add(err)
		p.role.ControlSocket = controlSocket(fs, sf.ctlSocket, cfg)
		p.role.Metrics = metrics
		add(checkControlSocket(fs, p.role.ControlSocket, cfg))
		// Templates and hooks can depend on the role, as its processes can.
		p.env.Set("ENTRY_ROLE", p.target.role.Name)
		if sf.check {
			problems = append(problems, checkRolePrograms(cfg, p.target.role, p.env)...)
		}
	} else if len(p.target.command) > 0 && sf.check {
		if _, err := prehook.LookPath(p.target.command[0], p.env.Get("PATH")); err != nil {
			add(fmt.Errorf("-- %s: cannot run: %v (install it in the image, or fix the command; PATH=%s)", shellJoin(p.target.command), err, p.env.Get("PATH")))
		}
	}
	var stepProblems []error
	p.pipeline, stepProblems = buildPipeline(cfg, p.env, sf.check)
	problems = append(problems, stepProblems...)
	if len(problems) > 0 {
		return p, errors.Join(problems...)
	}
	return p, nil
}

// checkRolePrograms finds the processes of role whose program is not
// installed: argv[0], or a simple shell command's first word.
func checkRolePrograms(cfg *config.File, role *config.Role, env *prehook.Env) []error {
	var errs []error
	for _, p := range role.Processes {
		if p.Crontab != "" {
			errs = append(errs, checkCrontabPrograms(p.Crontab, env)...)
			continue
		}
		prog := p.Command.String()
		if len(p.Command.Argv) > 0 {
			prog = p.Command.Argv[0]
		} else if prog = prehook.CommandProgram(p.Command.Shell); prog == "" {
			continue // the cron scheduler, or a command only the shell can read
		}
		if p.Dir != "" && strings.Contains(prog, "/") && !filepath.IsAbs(prog) {
			prog = filepath.Join(p.Dir, prog)
		}
		path := env.Get("PATH")
		if v, ok := p.Env["PATH"]; ok {
			path = v
		}
		if _, err := prehook.LookPath(prog, path); err != nil {
			errs = append(errs, fmt.Errorf("%s:%d: roles.%s.%s: cannot run: %v (install it in the image, or fix the command)", cfg.Path, p.Line, role.Name, p.Name, err))
		}
	}
	return errs
}

// checkCrontabPrograms finds the jobs of a crontab whose program is not
// installed, as checkRolePrograms does for processes: a job that cannot run
// would otherwise fail only at its first scheduled time, maybe days after
// the deploy. A crontab that does not parse is reported where roles are
// prepared.
func checkCrontabPrograms(path string, env *prehook.Env) []error {
	tab, err := cron.ReadFile(path, env.Get("TZ"))
	if err != nil {
		return nil
	}
	var errs []error
	for _, j := range tab.Jobs {
		prog := prehook.CommandProgram(j.Command)
		if prog == "" {
			continue // only a shell can tell
		}
		pathVar := env.Get("PATH")
		for _, kv := range j.Env {
			if v, ok := strings.CutPrefix(kv, "PATH="); ok {
				pathVar = v
			}
		}
		if _, err := prehook.LookPath(prog, pathVar); err != nil {
			errs = append(errs, fmt.Errorf("%s:%d: cron job %q: cannot run: %v (install it in the image, or fix the command)", path, j.Line, j.Name, err))
		}
	}
	return errs
}

// envFilesToLoad is --env-file if given (every file required), else
// env_files; nil means the default .env, if present, and an empty list
// (env_files: []) loads none.
func envFilesToLoad(cfg *config.File, fs *flagSet, sf *startFlags) []prehook.EnvFile {
	if fs.isSet("env-file") {
		files := []prehook.EnvFile{}
		for _, path := range sf.envFiles {
			files = append(files, prehook.EnvFile{Path: path})
		}
		return files
	}
	if cfg.EnvFiles == nil {
		return nil
	}
	files := make([]prehook.EnvFile, 0, len(cfg.EnvFiles))
	for _, f := range cfg.EnvFiles {
		files = append(files, prehook.EnvFile{Path: f.Path, Optional: !f.Required})
	}
	return files
}

// runStart is entry with no subcommand: the ENTRYPOINT.
func runStart(args []string) int {
	// Subscribe before anything else: a stop signal that arrives before a
	// child exists must not be lost.
	signals := subscribeSignals()

	fs, sf := newStartFlags()
	fs.Usage = printMainHelp
	if code := fs.parseOrExit(args); code >= 0 {
		return code
	}
	if sf.symlinkDir != "" {
		return createSymlinks(sf.symlinkDir)
	}
	// The flag or ENTRY_LOG_FORMAT decides the lines written before
	// entry.yml is read (its own errors among them); log_format then
	// decides the rest.
	setStartLog(sf.logFormat, "")
	plan, err := planStart(fs, sf)
	if plan != nil {
		role := ""
		if plan.target.role != nil {
			role = plan.target.role.Name
		}
		setStartLog(sf.logFormat, role)
	}
	if err != nil {
		return failAll(exitUsage, err)
	}
	labelHookOutput(plan.pipeline)
	if plan.target.role != nil {
		subscribeAllSignals(signals) // before the pipeline: its hooks may start daemons
	}
	// Before the pipeline: a template (File.read("/proc/self/environ")) or
	// a hook (/proc/1/environ) must not find the key there. The secrets
	// step reads it from plan.env, a copy.
	eraseKeyVars()
	if code, _ := runPipeline(plan.pipeline, plan.env, signals); code != exitOK {
		return code
	}
	switch {
	case plan.target.role != nil:
		return runRole(plan.role, plan.env, signals)
	case os.Getpid() == 1:
		return superviseCommand(plan.target.command, plan.env, roleOptions{LogFormat: sf.logFormat}, signals)
	}
	resetSignals()
	return execCommand(plan.target.command, plan.env)
}

// loadConfig reads the config file; the default path may be absent, a path
// given by flag or environment may not.
func loadConfig(fs *flagSet, path string) (*config.File, error) {
	return config.Load(path, !fs.isSet("config"))
}

// chooseTarget decides between a role and a command from the arguments
// left after the flags.
func chooseTarget(cfg *config.File, fs *flagSet, sf *startFlags, env *prehook.Env) (target, error) {
	args := fs.Args()
	if fs.ArgsLenAtDash() == 0 {
		if len(args) == 0 {
			return target{}, errors.New("nothing after --: give a command to run, e.g. entry -- bash")
		}
		return target{command: args}, nil
	}
	if len(args) > 0 {
		if name, ok := strings.CutPrefix(args[0], "role="); ok {
			if len(args) > 1 {
				return target{}, fmt.Errorf("role=%s takes no further arguments, got %q (use entry -- CMD to run a command)", name, strings.Join(args[1:], " "))
			}
			return roleTarget(cfg, name, "role="+name)
		}
		if role := cfg.Roles.Get(args[0]); role != nil {
			if len(args) > 1 {
				return target{}, fmt.Errorf("%s is a role of %s, but more words follow (%s): entry starts one role, named alone (entry %s), and runs a command after -- (entry -- %s)", args[0], cfg.Name(), strings.Join(args[1:], " "), args[0], strings.Join(args, " "))
			}
			return target{role: role}, nil
		}
		return target{command: args}, nil
	}
	if sf.role != "" {
		return roleTarget(cfg, sf.role, "--role")
	}
	for _, v := range []string{"ENTRY_ROLE", "ROLE"} {
		if name := env.Get(v); name != "" {
			return roleTarget(cfg, name, v)
		}
	}
	if name := cfg.DefaultRoleName(); name != "" {
		return roleTarget(cfg, name, "default role")
	}
	return target{}, fmt.Errorf("nothing to run: %s configures no roles and no command was given (add roles to entry.yml, see docs/config.md, or run entry -- CMD)", cfg.Name())
}

func roleTarget(cfg *config.File, name, from string) (target, error) {
	role := cfg.Roles.Get(name)
	if role == nil {
		return target{}, fmt.Errorf("%s: role %q is not configured in %s (roles: %s)", from, name, cfg.Name(), rolesList(cfg))
	}
	return target{role: role}, nil
}

func rolesList(cfg *config.File) string {
	if len(cfg.Roles) == 0 {
		return "none"
	}
	return strings.Join(cfg.Roles.Names(), ", ")
}

// A checkedStep finds, without running, problems its Run would fail on
// (entry config check).
type checkedStep interface {
	Check(env *prehook.Env) []error
}

// buildPipeline wires the domain packages into the start-up steps. It
// returns every problem found; with check, also those of checkedSteps.
func buildPipeline(cfg *config.File, env *prehook.Env, check bool) (*prehook.Pipeline, []error) {
	var problems []error
	var steps []prehook.Step
	secrets, err := prehook.NewSecretsStep(cfg)
	if err != nil {
		problems = append(problems, err)
	} else {
		// A vault written over a file it must not replace is refused
		// before anything runs (exit 2), not only when the step runs.
		problems = append(problems, secrets.CheckDsts(env)...)
		steps = append(steps, secrets)
	}
	render, err := prehook.NewRenderStep(cfg)
	if err != nil {
		problems = append(problems, err)
	}
	assets, err := prehook.NewAssetsStep(cfg)
	if err != nil {
		problems = append(problems, err)
	}
	steps = append(steps, render, assets)
	if len(cfg.Hooks) > 0 {
		hooks := hooksStep(cfg.Hooks)
		// A hook whose program is missing is a config error: say so before
		// anything runs.
		var he *prehook.HookError
		if err := hooks.Check(env); errors.As(err, &he) {
			problems = append(problems, fmt.Errorf("%s:%d: %v", cfg.Path, cfg.Hooks[he.Index-1].Line, err))
		}
		steps = append(steps, hooks)
	}
	p := prehook.NewPipeline(prehook.StderrLogger, steps...)
	p.StepLog = stepLogger
	if check {
		for _, s := range p.Steps {
			if c, ok := s.(checkedStep); ok {
				problems = append(problems, c.Check(env)...)
			}
		}
	}
	return p, problems
}

func hooksStep(hooks []config.Hook) *prehook.Hooks {
	h := &prehook.Hooks{Report: reportHook}
	for _, c := range hooks {
		h.List = append(h.List, prehook.Hook{Name: c.Name, Command: c.Run, Timeout: c.Timeout})
	}
	return h
}

// runPipeline runs the start-up steps and prints the failure, if any. TERM,
// INT or QUIT during start-up interrupts it (a running hook is stopped) and
// entry exits 128+N. It returns the exit code and the step's error.
func runPipeline(p *prehook.Pipeline, env *prehook.Env, signals <-chan os.Signal) (int, error) {
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	done := make(chan struct{})
	stopped := make(chan syscall.Signal, 1)
	go func() {
		defer close(stopped)
		for {
			select {
			case <-done:
				return
			case sig := <-signals:
				if s, ok := sig.(syscall.Signal); ok && isStopSignal(s) {
					stopped <- s
					cancel(fmt.Errorf("received %v", sig))
					return
				}
			}
		}
	}()
	err := p.Run(ctx, env)
	close(done)
	sig, interrupted := <-stopped // waits for the goroutine to let go of signals
	switch {
	case interrupted:
		return fail(128+int(sig), "start-up interrupted by %s; nothing was started", signame.String(sig)), err
	case err != nil:
		return failStartup(exitFailure, err), err
	}
	return exitOK, nil
}

func isStopSignal(s syscall.Signal) bool {
	return s == syscall.SIGTERM || s == syscall.SIGINT || s == syscall.SIGQUIT
}

// execCommand replaces entry with argv, looked up in the pipeline's PATH.
func execCommand(argv []string, env *prehook.Env) int {
	path, err := prehook.LookPath(argv[0], env.Get("PATH"))
	if errors.Is(err, prehook.ErrNotFound) {
		return fail(127, "%v (PATH=%s)", err, env.Get("PATH"))
	}
	if err != nil {
		return fail(126, "%v", err)
	}
	err = syscall.Exec(path, argv, env.List())
	return fail(126, "exec %s: %v", argv[0], err)
}

// eraseKeyVars removes ENTRY_AGE_KEY and the other key variables from
// entry's original environment block. The secrets step already keeps them
// out of the processes' environment, but the kernel would go on showing the
// block in /proc/1/environ to every process of the same user (and to a
// template's File.read("/proc/self/environ")) for as long as entry runs.
func eraseKeyVars() {
	var set []string
	for _, k := range secrets.KeyEnvVars {
		if _, ok := os.LookupEnv(k); ok {
			set = append(set, k)
		}
	}
	if len(set) == 0 {
		return
	}
	if err := selfenv.Erase(set...); err != nil && slices.Contains(set, secrets.EnvKey) {
		stepLogger("secrets")("warning: ENTRY_AGE_KEY stays visible in /proc/%d/environ: %v (prefer ENTRY_AGE_KEY_FILE or ENTRY_AGE_KEY_SSM)", os.Getpid(), err)
	}
}
