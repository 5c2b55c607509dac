package prehook

import (
	"context"
	"fmt"
	"os"
	"strings"
)

// Order is the fixed order of the start-up steps, documented in
// docs/config.md: secrets come before render so that templates can use
// decrypted values, and user hooks come last so they see every file.
var Order = []string{"secrets", "render", "assets", "hooks"}

// A Pipeline runs the start-up steps in Order.
type Pipeline struct {
	Steps []Step
	Log   Logger
	// StepLog, when set, gives each step its own Logger instead of Log, so
	// that its lines can be labelled with the step's name (json logs).
	StepLog func(step string) Logger
}

// NewPipeline orders steps by Order, dropping nil ones. A step whose name is
// not in Order is a programming error.
func NewPipeline(log Logger, steps ...Step) *Pipeline {
	p := &Pipeline{Log: log}
	for _, name := range Order {
		for _, s := range steps {
			if s != nil && s.Name() == name {
				p.Steps = append(p.Steps, s)
			}
		}
	}
	for _, s := range steps {
		if s != nil && !contains(Order, s.Name()) {
			panic("prehook: step " + s.Name() + " is not in Order")
		}
	}
	return p
}

// Run runs every step in order and stops at the first failure, returning
// its error unchanged (steps name themselves in their errors).
func (p *Pipeline) Run(ctx context.Context, env *Env) error {
	for _, s := range p.Steps {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("start-up interrupted before %s: %v", s.Name(), context.Cause(ctx))
		}
		log := p.Log
		if p.StepLog != nil {
			log = p.StepLog(s.Name())
		}
		if err := s.Run(ctx, env, log); err != nil {
			return err
		}
	}
	return nil
}

// Plan returns what Run would do, one line per action, each prefixed with
// its step's name.
func (p *Pipeline) Plan(env *Env) []string {
	var lines []string
	for _, s := range p.Steps {
		for _, l := range s.Plan(env) {
			lines = append(lines, s.Name()+": "+l)
		}
	}
	return lines
}

// StderrLogger writes "entry: ..." lines to stderr.
func StderrLogger(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "entry: "+strings.TrimSuffix(format, "\n")+"\n", args...)
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
