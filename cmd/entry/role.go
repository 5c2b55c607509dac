package main

// OWNED BY THE SUPERVISE WORK (issue 3): replace this stub.

import (
	"os"

	"github.com/entryhq/entry/config"
	"github.com/entryhq/entry/prehook"
)

// roleOptions are the start command's settings that shape supervision.
type roleOptions struct {
	LogFormat string // prefix, raw or json
}

// startRole supervises role's processes with env until they stop, and
// returns entry's exit code. signals delivers every signal entry receives
// (subscribed with signal.Notify before start-up began).
func startRole(cfg *config.File, role *config.Role, env *prehook.Env, opts roleOptions, signals <-chan os.Signal) int {
	return fail(exitFailure, "supervise: not built yet")
}

// superviseCommand runs argv as a one-process role (the tini model), used
// when entry is PID 1 and was given a command.
func superviseCommand(argv []string, env *prehook.Env, opts roleOptions, signals <-chan os.Signal) int {
	return fail(exitFailure, "supervise: not built yet")
}

// runCodep runs EntryKit codep tasks: all at once, and when one exits the
// others are stopped; entry exits with the first one's code.
func runCodep(tasks []entryKitTask, env *prehook.Env, opts roleOptions, signals <-chan os.Signal) int {
	return fail(exitFailure, "codep: not built yet")
}
