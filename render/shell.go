package render

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// This file holds `cmd` and %x(cmd): a template runs a command as Ruby
// does, through /bin/sh -c, and gets what it printed. Templates are the
// image's own code, as trusted as its hooks; the bounds below keep a
// hanging or chatty command from hanging start-up or filling memory.

// DefaultCommandTimeout bounds a command a template runs, unless
// Options.CommandTimeout says otherwise. On timeout the command's whole
// process group is killed and the render fails.
const DefaultCommandTimeout = 10 * time.Second

// maxCommandOutput caps what one command may print to its standard
// output; a variable only so that tests can reach it cheaply.
var maxCommandOutput = 1 << 20

// parseCommand parses `cmd` or %x(cmd) (any delimiter Ruby allows, the
// bracket pairs nesting), with Ruby's escapes and #{...}: the cursor is
// at the opening delimiter, start at the ` or %.
func (p *parser) parseCommand(start int, open byte) *expr {
	close := map[byte]byte{'(': ')', '[': ']', '{': '}', '<': '>'}[open]
	if close == 0 {
		if open == 0 || isIdentChar(open) || open == ' ' || open == '\t' || open == '\n' || open == '\r' || open >= 0x80 {
			p.fail(start, "unterminated %%x: write %%x(command)")
		}
		close = open
	}
	cmd := p.interpolated(start, open, close)
	x := p.node(opFunc, start, cmd)
	x.fn = fShell
	return x
}

// shell runs command line as Ruby's backticks do and returns its standard
// output, every byte of it (the trailing newline included). Its standard
// error goes to entry's; a non-zero exit status is not an error, as in
// Ruby. A command that cannot start fails as Ruby does (Errno::ENOENT).
func (st *state) shell(x *expr, line value) (value, error) {
	if line.k != kStr {
		return value{}, st.typeError(x, line, "String")
	}
	if strings.IndexByte(line.s, 0) >= 0 {
		return value{}, st.errorf(x.pos, "%s: string contains null byte (Ruby raises ArgumentError here)", x.src)
	}
	environ := st.opts.Environ
	if environ == nil {
		environ = os.Environ()
	}
	if name, direct := directCommand(line.s); direct && !findCommand(name, environ) {
		// Without shell syntax Ruby runs the program itself, and one
		// that does not exist raises; through sh it would be sh's
		// "not found" and an empty output.
		return value{}, st.errorf(x.pos, "%s: No such file or directory - %s (Ruby raises Errno::ENOENT here; is the program installed in the image, and on PATH?)", x.src, name)
	}
	timeout := st.opts.CommandTimeout
	if timeout <= 0 {
		timeout = DefaultCommandTimeout
	}
	out, err := commandRunner(line.s, environ, timeout, maxCommandOutput)
	switch {
	case errors.Is(err, errCommandTimeout):
		return value{}, st.errorf(x.pos, "%s: still running after %v: killed it and its process group (a template's command must finish quickly; pass slow values in environment variables)", x.src, timeout)
	case errors.Is(err, errCommandOutput):
		return value{}, st.errorf(x.pos, "%s: printed more than %d MiB: killed it and its process group (a template's command may print at most %d MiB)", x.src, maxCommandOutput>>20, maxCommandOutput>>20)
	case err != nil:
		return value{}, st.errorf(x.pos, "%s: %v", x.src, err)
	}
	s := string(out)
	st.remember(s, origin{file: x.src})
	return st.made(x, strValue(s))
}

// commandRunner runs the commands of templates: the fuzz tests, which
// render arbitrary templates, replace it so that they run nothing.
var commandRunner = runCommand

var (
	errCommandTimeout = errors.New("command timed out")
	errCommandOutput  = errors.New("command output too large")
)

// runCommand runs /bin/sh -c line in its own process group and returns
// what it printed on its standard output, reading until every process
// holding the pipe has closed it, then waiting for sh, as Ruby does. On
// timeout, or when the output passes limit, the whole group is killed.
// Processes the command leaves behind with their output elsewhere keep
// running, as in Ruby.
//
// The group is only ever killed while sh is not yet reaped: its pid, which
// is the group's id, cannot have been reused by then.
func runCommand(line string, environ []string, timeout time.Duration, limit int) ([]byte, error) {
	cmd := exec.Command("/bin/sh", "-c", line)
	cmd.Args[0] = "sh" // as Ruby runs it: sh's messages say "sh: 1: ..."
	cmd.Env = environ
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	pgid := cmd.Process.Pid
	var (
		mu       sync.Mutex
		reaping  bool // sh has ended and is about to be reaped: kill no more
		timedOut bool
	)
	kill := func(timeout bool) {
		mu.Lock()
		defer mu.Unlock()
		if !reaping {
			timedOut = timedOut || timeout
			unix.Kill(-pgid, unix.SIGKILL)
		}
	}
	timer := time.AfterFunc(timeout, func() { kill(true) })
	var out bytes.Buffer
	_, readErr := io.Copy(&out, io.LimitReader(stdout, int64(limit)+1))
	tooMuch := out.Len() > limit
	if tooMuch {
		kill(false)
	}
	// Wait for sh to end without reaping it (WNOWAIT), then stop killing,
	// then reap it.
	var info unix.Siginfo
	for unix.Waitid(unix.P_PID, pgid, &info, unix.WEXITED|unix.WNOWAIT, nil) == unix.EINTR {
	}
	mu.Lock()
	reaping = true
	mu.Unlock()
	timer.Stop()
	waitErr := cmd.Wait()
	mu.Lock()
	defer mu.Unlock()
	switch {
	case timedOut:
		return nil, errCommandTimeout
	case tooMuch:
		return nil, errCommandOutput
	case readErr != nil:
		return nil, readErr
	}
	var exit *exec.ExitError
	if waitErr != nil && !errors.As(waitErr, &exit) {
		return nil, waitErr
	}
	return out.Bytes(), nil
}

// shellMeta are the characters that make Ruby run a command line through
// /bin/sh rather than as a program and its arguments (process.c).
const shellMeta = "*?{}[]<>()~&|\\$;'`\"\n#"

// shellWords are the sh reserved words and special built-ins that make
// Ruby use the shell even without shellMeta (process.c's posix_sh_cmds).
var shellWords = map[string]bool{
	"!": true, ".": true, ":": true, "break": true, "case": true, "continue": true, "do": true, "done": true,
	"elif": true, "else": true, "esac": true, "eval": true, "exec": true, "exit": true, "export": true,
	"fi": true, "for": true, "if": true, "in": true, "readonly": true, "return": true, "set": true,
	"shift": true, "then": true, "times": true, "trap": true, "unset": true, "until": true, "while": true,
}

// directCommand reports whether Ruby would run line as a program without
// the shell, and the program's name: no shell syntax, no VAR=value, not a
// shell word.
func directCommand(line string) (string, bool) {
	if strings.ContainsAny(line, shellMeta) {
		return "", false
	}
	fields := strings.FieldsFunc(line, func(r rune) bool { return r == ' ' || r == '\t' })
	if len(fields) == 0 {
		return "", true
	}
	name := fields[0]
	if strings.Contains(name, "=") || shellWords[name] {
		return "", false
	}
	return name, true
}

// defaultPath is where Ruby looks for a program when PATH is unset
// (dln_find.c).
const defaultPath = "/usr/local/bin:/usr/ucb:/usr/bin:/bin:."

// findCommand reports whether name is a program that could run: a path
// with a slash, or found in environ's PATH.
func findCommand(name string, environ []string) bool {
	if name == "" {
		return false
	}
	if strings.Contains(name, "/") {
		return isExecutable(name)
	}
	path := defaultPath
	for _, kv := range environ {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			path = v
		}
	}
	for _, dir := range filepath.SplitList(path) {
		if dir == "" {
			dir = "."
		}
		if isExecutable(filepath.Join(dir, name)) {
			return true
		}
	}
	return false
}

func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0
}
