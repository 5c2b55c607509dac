package prehook

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/entryhq/entry/internal/signame"
)

// A Hook is a user command run at start-up through /bin/sh -c, so shell
// syntax works.
type Hook struct {
	// Name labels the hook in logs; "" means its position ("hook 2").
	Name    string
	Command string
	// Timeout bounds the hook's run; 0 means no limit. On timeout the
	// hook's process group gets SIGTERM, then SIGKILL after KillGrace.
	Timeout time.Duration
}

// KillGrace is how long a hook that timed out or was interrupted has
// between SIGTERM and SIGKILL.
const KillGrace = 5 * time.Second

// Hooks is the pipeline step that runs the user's hook commands in order,
// each in its own process group with the pipeline's environment, its output
// passed through.
type Hooks struct {
	List           []Hook
	Stdout, Stderr io.Writer // nil means os.Stdout, os.Stderr
	// Output, when set, gives each hook's stdout and stderr instead of
	// Stdout and Stderr (json logs label each line with the hook, see
	// Hook.LogName). A writer that is an io.Closer is closed once the hook
	// has exited, to write an unterminated last line.
	Output func(name string) (stdout, stderr io.Writer)
	// Report, when set, is told of each hook's start and success (a
	// failure is the step's error, a *HookError); Run then writes no log
	// line of its own.
	Report func(HookReport)
	// KillGrace overrides the package's KillGrace (for tests).
	KillGrace time.Duration
}

// A HookError is a hook that did not succeed. Code is the hook's exit code
// (128+N for a signal), which EntryKit's prehook passes out.
type HookError struct {
	Index   int // 1-based
	Hook    Hook
	Code    int
	Problem string // "exited 3", "timed out after 1m0s", ...
	// Took is how long the hook ran; 0 when it was refused before running.
	Took time.Duration
}

// A HookReport tells of a hook that has started (Done false) or succeeded.
type HookReport struct {
	Index   int // 1-based
	Hook    Hook
	Done    bool
	Took    time.Duration // when Done
	Message string        // the log line: the hook's label, "... done in 1.2s"
}

// LogName names hook number i (1-based) in logs: its name, else "hook N".
func (h Hook) LogName(i int) string {
	if h.Name != "" {
		return h.Name
	}
	return fmt.Sprintf("hook %d", i)
}

func (e *HookError) Error() string {
	return fmt.Sprintf("%s %s", e.Hook.label(e.Index), e.Problem)
}

func (h Hook) label(i int) string {
	if h.Name != "" {
		return fmt.Sprintf("hook %q (%s)", h.Name, strconv.Quote(h.Command))
	}
	return fmt.Sprintf("hook %d %s", i, strconv.Quote(h.Command))
}

// Name implements Step.
func (h *Hooks) Name() string { return "hooks" }

// Plan implements Step.
func (h *Hooks) Plan(*Env) []string {
	lines := make([]string, len(h.List))
	for i, hook := range h.List {
		lines[i] = "run " + hook.label(i+1)
		if hook.Timeout > 0 {
			lines[i] += fmt.Sprintf(" (timeout %s)", hook.Timeout)
		}
	}
	return lines
}

// Run implements Step: it runs the hooks in order and stops at the first
// that fails.
func (h *Hooks) Run(ctx context.Context, env *Env, log Logger) error {
	for i, hook := range h.List {
		if h.Report != nil {
			h.Report(HookReport{Index: i + 1, Hook: hook, Message: hook.label(i + 1)})
		} else {
			log("%s", hook.label(i+1))
		}
		began := time.Now()
		if err := h.run(ctx, i+1, hook, env); err != nil {
			var he *HookError
			if errors.As(err, &he) {
				he.Took = time.Since(began)
			}
			return err
		}
		if h.Report != nil {
			took := time.Since(began)
			h.Report(HookReport{Index: i + 1, Hook: hook, Done: true, Took: took,
				Message: fmt.Sprintf("%s done in %s", hook.label(i+1), took.Round(time.Millisecond))})
		}
	}
	return nil
}

func (h *Hooks) run(ctx context.Context, index int, hook Hook, env *Env) error {
	cmd := exec.Command("/bin/sh", "-c", hook.Command)
	cmd.Env = env.List()
	cmd.Stdin = os.Stdin
	cmd.Stdout, cmd.Stderr = orStd(h.Stdout, os.Stdout), orStd(h.Stderr, os.Stderr)
	var relays *outputRelay
	if h.Output != nil {
		stdout, stderr := h.Output(hook.LogName(index))
		var err error
		relays, err = relayOutput(cmd, stdout, stderr)
		if err != nil {
			return &HookError{Index: index, Hook: hook, Code: 126, Problem: fmt.Sprintf("could not start /bin/sh: %v", err)}
		}
		defer relays.wait(outputGrace)
	}
	// Its own process group, so that a timeout or a stop reaches the
	// commands the shell started too.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	fail := func(code int, problem string) error {
		return &HookError{Index: index, Hook: hook, Code: code, Problem: problem}
	}
	err := cmd.Start()
	if relays != nil {
		for _, f := range relays.closeAfterStart {
			f.Close() // only the shell holds the write ends now
		}
	}
	if err != nil {
		return fail(126, fmt.Sprintf("could not start /bin/sh: %v", err))
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()

	var timeout <-chan time.Time
	if hook.Timeout > 0 {
		t := time.NewTimer(hook.Timeout)
		defer t.Stop()
		timeout = t.C
	}
	select {
	case err := <-done:
		return hookResult(err, fail)
	case <-timeout:
		h.stop(cmd.Process.Pid, done)
		return fail(124, fmt.Sprintf("timed out after %s; its process group was stopped (raise the hook's timeout if it needs longer)", hook.Timeout))
	case <-ctx.Done():
		h.stop(cmd.Process.Pid, done)
		return fail(130, fmt.Sprintf("interrupted: %v", context.Cause(ctx)))
	}
}

// stop sends the hook's group SIGTERM, then SIGKILL after the grace period,
// and waits for the shell to be reaped.
func (h *Hooks) stop(pgid int, done <-chan error) {
	grace := h.KillGrace
	if grace == 0 {
		grace = KillGrace
	}
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(grace):
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		<-done
	}
	_ = syscall.Kill(-pgid, syscall.SIGKILL) // anything the shell left behind
}

func hookResult(err error, fail func(int, string) error) error {
	if err == nil {
		return nil
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return fail(1, err.Error())
	}
	ws := ee.Sys().(syscall.WaitStatus)
	switch {
	case ws.Signaled():
		return fail(128+int(ws.Signal()), fmt.Sprintf("was killed by %s", signame.String(ws.Signal())))
	case ws.ExitStatus() == 127:
		return fail(127, "exited 127 (command not found: check the command and PATH)")
	case ws.ExitStatus() == 126:
		return fail(126, "exited 126 (command not executable: check its mode)")
	}
	return fail(ws.ExitStatus(), fmt.Sprintf("exited %d", ws.ExitStatus()))
}

// outputGrace is how long a hook's output may still be read once its shell
// has exited. A daemon the hook started may hold the pipe open for good: its
// later lines are still relayed, but start-up goes on.
const outputGrace = 500 * time.Millisecond

// An outputRelay is the goroutines copying a hook's output pipes to Output's
// writers.
type outputRelay struct {
	done            chan struct{}
	closeAfterStart []*os.File // the write ends, entry's copies closed once the shell has them
}

// wait waits up to grace for both pipes to reach their end.
func (r *outputRelay) wait(grace time.Duration) {
	for _, f := range r.closeAfterStart {
		f.Close() // a no-op when already closed after the start
	}
	t := time.NewTimer(grace)
	defer t.Stop()
	for range 2 {
		select {
		case <-r.done:
		case <-t.C:
			return
		}
	}
}

// relayOutput gives cmd pipes of its own (real files, so that exec.Cmd's
// Wait never waits for a daemon that inherited them) and copies them to
// stdout and stderr until their last writer closes them.
func relayOutput(cmd *exec.Cmd, stdout, stderr io.Writer) (*outputRelay, error) {
	r := &outputRelay{done: make(chan struct{}, 2)}
	var ends []*os.File
	for _, w := range []io.Writer{stdout, stderr} {
		pr, pw, err := os.Pipe()
		if err != nil {
			for _, f := range ends {
				f.Close()
			}
			return nil, err
		}
		ends = append(ends, pw)
		go func() {
			io.Copy(w, pr)
			pr.Close()
			if c, ok := w.(io.Closer); ok {
				c.Close() // writes an unterminated last line
			}
			r.done <- struct{}{}
		}()
	}
	cmd.Stdout, cmd.Stderr = ends[0], ends[1]
	r.closeAfterStart = ends
	return r, nil
}

func orStd(w, std io.Writer) io.Writer {
	if w == nil {
		return std
	}
	return w
}

// Check finds hooks whose program does not exist, before anything runs: a
// hook's first word (after VAR=value assignments) must be a shell builtin
// or keyword, or a program found in env's PATH (or at its path, when it has
// a slash). Words with quotes or expansions are left to the shell.
func (h *Hooks) Check(env *Env) error {
	for i, hook := range h.List {
		prog := hookProgram(hook.Command)
		if prog == "" || shellWords[prog] {
			continue
		}
		if _, err := LookPath(prog, env.Get("PATH")); err != nil {
			return &HookError{Index: i + 1, Hook: hook, Code: 127,
				Problem: fmt.Sprintf("cannot run: %v (install it in the image, or fix the command)", err)}
		}
	}
	return nil
}

// CommandProgram returns the program a shell command line runs when entry
// can tell without a shell (no quotes, expansions or redirections, not a
// shell builtin), else "".
func CommandProgram(command string) string {
	if prog := hookProgram(command); !shellWords[prog] {
		return prog
	}
	return ""
}

// hookProgram returns the program a simple shell command runs, or "" when
// the shell must decide (quotes, expansions, redirections, subshells).
func hookProgram(command string) string {
	for _, word := range strings.Fields(command) {
		if strings.ContainsAny(word, "'\"`$\\*?[]{}()<>|&;~") {
			if word == "[" || word == "[[" {
				return word
			}
			return ""
		}
		if k, _, ok := strings.Cut(word, "="); ok && isName(k) {
			continue // VAR=value before the program
		}
		return word
	}
	return ""
}

func isName(s string) bool {
	for i, c := range s {
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return s != ""
}

// shellWords are /bin/sh's builtins and keywords: not programs on PATH.
var shellWords = map[string]bool{}

func init() {
	for _, w := range strings.Fields(`! . : [ [[ alias bg break cd command continue echo eval exec exit export
		false fc fg getopts hash jobs kill local printf pwd read readonly return set shift source test
		times trap true type ulimit umask unalias unset wait if then else elif fi do done case esac
		while until for in function`) {
		shellWords[w] = true
	}
}

// ErrNotFound is LookPath's error for a program that is not there.
var ErrNotFound = errors.New("command not found")

// LookPath finds file in the directories of pathEnv (the PATH of the
// environment being built, not entry's own), or at file itself when it has
// a slash. Its errors read like the shell's: "foo: command not found"
// (wrapping ErrNotFound), "./x: not executable".
func LookPath(file, pathEnv string) (string, error) {
	if strings.Contains(file, "/") {
		if err := executable(file); err != nil {
			return "", err
		}
		return file, nil
	}
	for _, dir := range filepath.SplitList(pathEnv) {
		if dir == "" {
			dir = "."
		}
		p := filepath.Join(dir, file)
		if executable(p) == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s: %w", file, ErrNotFound)
}

func executable(path string) error {
	st, err := os.Stat(path)
	switch {
	case err != nil:
		return fmt.Errorf("%s: %w", path, ErrNotFound)
	case st.IsDir():
		return fmt.Errorf("%s: is a directory", path)
	case st.Mode()&0o111 == 0:
		return fmt.Errorf("%s: not executable", path)
	}
	return nil
}
