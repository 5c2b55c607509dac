package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"github.com/entryhq/entry/internal/readcap"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/entryhq/entry/prehook"
)

// EntryKit compatibility (docs/entrykit.md). Invoked as prehook, codep,
// switch or render, entry accepts EntryKit's argument syntax
//
//	TOOL [-e|-E] [-f FILE] [name=]"task"... [-- NEXT...]
//
// so that an image's ENTRYPOINT keeps working unchanged, without EntryKit's
// defects: tasks keep their order, two tasks with the same first word stay
// two tasks, exit codes are passed out, tasks run through /bin/sh -c, and
// children are supervised.

var entryKitTools = []string{"prehook", "codep", "switch", "render"}

// isEntryKitTool reports whether entry was invoked under an EntryKit
// tool's name.
func isEntryKitTool(name string) bool {
	for _, t := range entryKitTools {
		if t == name {
			return true
		}
	}
	return false
}

// An entryKitTask is one task of an EntryKit argument list: [name=]"command".
type entryKitTask struct {
	Name  string // given as name=, or the first word's base name
	Shell string
	// Named reports whether the name was given (name=task, TOOL_NAME=task)
	// rather than derived from the command.
	Named bool
}

// An entryKitCall is one tool's parsed arguments.
type entryKitCall struct {
	tool  string
	tasks []entryKitTask
	next  []string // after --: the next tool or the final command
	args  []string // the tool's own arguments, for switch
}

// runEntryKit runs an EntryKit chain starting with tool.
func runEntryKit(tool string, args []string) int {
	return runEntryKitChain(tool, args, prehook.OSEnv(), subscribeSignals())
}

// runEntryKitChain runs one tool, then what follows its --: another tool
// (handled here rather than exec'd, so the symlinks need not exist) or the
// final command.
func runEntryKitChain(tool string, args []string, env *prehook.Env, signals chan os.Signal) int {
	call, err := parseEntryKit(tool, args, env)
	if err != nil {
		return fail(exitUsage, "%s: %v (see docs/entrykit.md)", tool, err)
	}
	if why := call.doesNothing(); why != "" {
		fmt.Fprint(os.Stderr, entryKitUsage[tool])
		return fail(exitUsage, "%s: %s", tool, why)
	}
	switch tool {
	case "prehook":
		if code := runEntryKitPrehook(call, env, signals); code != exitOK {
			return code
		}
	case "render":
		files := make([]string, len(call.tasks))
		for i, t := range call.tasks {
			files[i] = t.Shell
		}
		if err := renderEntryKit(files, env); err != nil {
			return fail(exitFailure, "render: %v", err)
		}
	case "switch":
		if task, ok := call.switchTask(); ok {
			return runFinal([]string{"/bin/sh", "-c", task.Shell}, env, signals)
		}
	case "codep":
		tasks := call.tasks
		if len(call.next) > 0 {
			// EntryKit exec'd NEXT once the first task ended; entry runs
			// it beside the tasks, co-dependent like them.
			next := expandArgs(call.next, env)
			tasks = append(tasks, entryKitTask{Name: filepath.Base(next[0]), Shell: shellJoin(next)})
		}
		if len(tasks) == 0 {
			return fail(exitUsage, "codep: no tasks (give tasks as arguments or CODEP_* variables)")
		}
		subscribeAllSignals(signals)
		return runCodep(tasks, env, roleOptions{}, signals)
	}
	if len(call.next) == 0 {
		return exitOK
	}
	if next := filepath.Base(call.next[0]); isEntryKitTool(next) {
		return runEntryKitChain(next, call.next[1:], env, signals)
	}
	return runFinal(expandArgs(call.next, env), env, signals)
}

// entryKitUsage is printed, as EntryKit did, for a call that would do
// nothing.
var entryKitUsage = map[string]string{
	"prehook": "Usage: prehook [-e|-E] [-f FILE] [name=]\"task\"... [-- NEXT...]\n  runs each task in order, then NEXT (see docs/entrykit.md)\n",
	"switch":  "Usage: switch [-e|-E] [-f FILE] name=\"task\"... -- DEFAULT... [NAME]\n  runs the task named by the last argument, else DEFAULT (see docs/entrykit.md)\n",
	"render":  "Usage: render [-e|-E] [-f FILE] FILE... [-- NEXT...]\n  renders each FILE from FILE.tmpl, then runs NEXT (see docs/entrykit.md)\n",
}

// doesNothing says why a call would do nothing at all, or "": prehook or
// render with neither a task nor NEXT, switch with no matching task and no
// NEXT to fall back on. (codep has its own message.)
func (c entryKitCall) doesNothing() string {
	switch c.tool {
	case "prehook", "render":
		if len(c.tasks) == 0 && len(c.next) == 0 {
			return "nothing to do: give tasks, or -- and a command"
		}
	case "switch":
		if _, ok := c.switchTask(); !ok && len(c.next) == 0 {
			if len(c.tasks) == 0 {
				return "nothing to do: give name=task arguments and -- DEFAULT COMMAND"
			}
			return "no task matches and there is no -- DEFAULT COMMAND to run instead"
		}
	}
	return ""
}

// runFinal starts the chain's last command: supervised when entry is PID 1,
// exec'd otherwise.
func runFinal(argv []string, env *prehook.Env, signals chan os.Signal) int {
	if os.Getpid() == 1 {
		return superviseCommand(argv, env, roleOptions{}, signals)
	}
	resetSignals()
	return execCommand(argv, env)
}

func runEntryKitPrehook(call entryKitCall, env *prehook.Env, signals chan os.Signal) int {
	hooks := &prehook.Hooks{}
	for _, t := range call.tasks {
		hook := prehook.Hook{Command: t.Shell}
		if t.Named {
			hook.Name = t.Name
		}
		hooks.List = append(hooks.List, hook)
	}
	code, err := runPipeline(prehook.NewPipeline(prehook.StderrLogger, hooks), env, signals)
	// A failed task's own exit code is passed out (EntryKit always exited 1).
	var hookErr *prehook.HookError
	if errors.As(err, &hookErr) && hookErr.Code != 0 {
		return hookErr.Code
	}
	return code
}

// switchTask returns the task named by the last argument, as EntryKit's
// switch did: `docker run img shell` appends "shell" after the default
// command.
func (c entryKitCall) switchTask() (entryKitTask, bool) {
	if len(c.args) == 0 {
		return entryKitTask{}, false
	}
	last := c.args[len(c.args)-1]
	for _, t := range c.tasks {
		if t.Name == last {
			return t, true
		}
	}
	return entryKitTask{}, false
}

// parseEntryKit parses TOOL [-e|-E] [-f FILE] [name=]task... [-- NEXT...].
// Tasks come from the arguments; from TOOL_NAME variables (EK_TOOL_NAME
// with -E) when -e/-E is given or no argument task is; and from -f FILE
// (lines TOOL_NAME=task). Variable and file tasks are sorted by name.
func parseEntryKit(tool string, args []string, env *prehook.Env) (entryKitCall, error) {
	call := entryKitCall{tool: tool, args: args}
	var useEnv, namespaced bool
	var file string
	var argTasks []string
	for i := 0; i < len(args); i++ {
		arg := args[i]
		switch {
		case arg == "--":
			call.next = args[i+1:]
			i = len(args)
		case arg == "-e":
			useEnv = true
		case arg == "-E":
			useEnv, namespaced = true, true
		case arg == "-p":
			// EntryKit accepted -p and ignored it; so does entry.
		case arg == "-f":
			if i+1 >= len(args) {
				return call, errors.New("-f needs a file name")
			}
			i++
			file = args[i]
		case strings.HasPrefix(arg, "-") && arg != "-":
			return call, fmt.Errorf("unknown option %s (EntryKit options are -e, -E, -f FILE)", arg)
		default:
			argTasks = append(argTasks, arg)
		}
	}
	var extra []entryKitTask
	if file != "" {
		fileTasks, err := entryKitFileTasks(tool, file)
		if err != nil {
			return call, err
		}
		extra = append(extra, fileTasks...)
	}
	if useEnv || len(argTasks) == 0 {
		extra = append(extra, entryKitEnvTasks(tool, env, namespaced)...)
	}
	sort.SliceStable(extra, func(i, j int) bool { return extra[i].Name < extra[j].Name })
	call.tasks = extra
	for _, a := range argTasks {
		t, err := parseEntryKitTask(a)
		if err != nil {
			return call, err
		}
		call.tasks = append(call.tasks, t)
	}
	return call, nil
}

// parseEntryKitTask reads [name=]task. Only a word without spaces counts as
// a name, so `sh -c 'a=b'` stays one command; an unnamed task is named after
// its first word, as in EntryKit, but two such tasks stay two.
func parseEntryKitTask(arg string) (entryKitTask, error) {
	if strings.TrimSpace(arg) == "" {
		return entryKitTask{}, errors.New("empty task")
	}
	if name, task, ok := strings.Cut(arg, "="); ok && name != "" && !strings.ContainsAny(name, " \t") {
		if strings.TrimSpace(task) == "" {
			return entryKitTask{}, fmt.Errorf("task %q has a name but no command", arg)
		}
		return entryKitTask{Name: name, Shell: task, Named: true}, nil
	}
	base := filepath.Base(strings.Fields(arg)[0])
	name, _, _ := strings.Cut(base, ".")
	if name == "" { // ".hidden" or ".."
		name = base
	}
	return entryKitTask{Name: name, Shell: arg}, nil
}

func entryKitEnvTasks(tool string, env *prehook.Env, namespaced bool) []entryKitTask {
	prefix := tool + "_"
	if namespaced {
		prefix = "ek_" + prefix
	}
	var tasks []entryKitTask
	for _, k := range env.Keys() {
		if name, ok := strings.CutPrefix(strings.ToLower(k), prefix); ok && name != "" {
			tasks = append(tasks, entryKitTask{Name: name, Shell: env.Get(k), Named: true})
		}
	}
	return tasks
}

func entryKitFileTasks(tool, file string) ([]entryKitTask, error) {
	data, err := readcap.ReadFile(file, "task file", readcap.EnvFile)
	if err != nil {
		return nil, fmt.Errorf("-f %s: %v", file, unwrapPathErr(err))
	}
	var tasks []entryKitTask
	sc := bufio.NewScanner(bytes.NewReader(data))
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		k, v, ok := strings.Cut(text, "=")
		name, match := strings.CutPrefix(strings.ToLower(k), tool+"_")
		if !ok || !match || name == "" {
			return nil, fmt.Errorf("%s:%d: want %s_NAME=command", file, line, strings.ToUpper(tool))
		}
		tasks = append(tasks, entryKitTask{Name: name, Shell: v, Named: true})
	}
	return tasks, sc.Err()
}

// expandArgs expands $VAR, ${VAR}, ${VAR:-default} and ${VAR-default} in
// each argument, as EntryKit did before exec (exec-form ENTRYPOINTs have no
// shell to do it).
func expandArgs(args []string, env *prehook.Env) []string {
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = os.Expand(a, func(expr string) string {
			if name, def, ok := strings.Cut(expr, ":-"); ok {
				if v := env.Get(name); v != "" {
					return v
				}
				return def
			}
			if name, def, ok := strings.Cut(expr, "-"); ok {
				if v, set := env.Lookup(name); set {
					return v
				}
				return def
			}
			return env.Get(expr)
		})
	}
	return out
}

// shellJoin quotes argv for /bin/sh -c.
func shellJoin(argv []string) string {
	quoted := make([]string, len(argv))
	for i, a := range argv {
		quoted[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	return strings.Join(quoted, " ")
}

// createSymlinks makes DIR/prehook, codep, switch and render point at this
// binary, for EntryKit-style ENTRYPOINTs. It checks every link first and
// then makes all or none: a failure removes the links it made.
func createSymlinks(dir string) int {
	self, err := os.Executable()
	if err != nil {
		return fail(exitFailure, "--symlink: cannot find entry's own path: %v", err)
	}
	if st, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		return fail(exitUsage, "--symlink: directory %s does not exist (create it first: mkdir -p %s); nothing was created", dir, dir)
	} else if err != nil {
		return fail(exitUsage, "--symlink: %v; nothing was created", err)
	} else if !st.IsDir() {
		return fail(exitUsage, "--symlink: %s is not a directory; nothing was created", dir)
	}
	var todo, taken []string
	for _, tool := range entryKitTools {
		link := filepath.Join(dir, tool)
		if dest, err := os.Readlink(link); err == nil && dest == self {
			continue
		}
		if _, err := os.Lstat(link); err == nil {
			taken = append(taken, link)
			continue
		}
		todo = append(todo, link)
	}
	if len(taken) > 0 {
		return fail(exitUsage, "--symlink: %s already %s and %s not a link to entry (remove %s or choose another directory); nothing was created",
			strings.Join(taken, ", "), plural(len(taken), "exists", "exist"), plural(len(taken), "is", "are"), plural(len(taken), "it", "them"))
	}
	for i, link := range todo {
		if err := os.Symlink(self, link); err != nil {
			for _, made := range todo[:i] {
				os.Remove(made)
			}
			return fail(exitFailure, "--symlink: %v; nothing was created", err)
		}
	}
	for _, link := range todo {
		fmt.Printf("entry: symlink %s -> %s\n", link, self)
	}
	return exitOK
}

func unwrapPathErr(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	var re *readcap.Error
	if errors.As(err, &re) {
		return re.Err
	}
	return err
}
