package prehook

import (
	"context"
)

// A Step is one stage of the start-up pipeline. The domain packages
// (secrets, render, assets) are wrapped as Steps in this package's
// *_step.go files; the pipeline runs them in order and knows nothing else
// of them.
type Step interface {
	// Name is the step's name in logs and errors: "render", "secrets", ...
	Name() string
	// Plan describes what Run would do, one line per action, without doing
	// it; `entry config check` prints it.
	Plan(env *Env) []string
	// Run does the step. It reads the environment being built for the
	// role's processes from env and may change it (secrets exports values
	// and removes its key). It logs through log, one event a line, never a
	// secret value. It must leave no half-written file when it fails.
	Run(ctx context.Context, env *Env, log Logger) error
}

// A Logger writes one of entry's own event lines on stderr, prefixed
// "entry: ".
type Logger func(format string, args ...any)
