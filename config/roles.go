package config

import (
	"fmt"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/entryhq/entry/internal/signame"
	"go.yaml.in/yaml/v3"
)

// Roles are the named sets of processes, in the order the file lists them.
//
//	roles:
//	  web:
//	    puma: bundle exec puma -C config/puma.rb
//	  job:
//	    sidekiq: {command: bundle exec sidekiq, stop_timeout: 25s}
//	    cron: {crontab: config/crontab}
type Roles []Role

// A Role is one named set of processes started together.
type Role struct {
	Name      string
	Line      int
	Processes []Process
}

// A Process is one supervised process of a role: a command, or the built-in
// cron scheduler when Crontab is set. Zero values mean the supervisor's
// defaults (see docs/supervise.md).
type Process struct {
	Name string `yaml:"-"`
	Line int    `yaml:"-"`

	Command Command `yaml:"command"`
	// Crontab makes this process entry's built-in cron scheduler running the
	// jobs of that file.
	Crontab string `yaml:"crontab"`

	Dir string            `yaml:"dir"`
	Env map[string]string `yaml:"env"`

	StopSignal  string        `yaml:"stop_signal"`
	StopTimeout time.Duration `yaml:"stop_timeout"`
	// Signals rewrites forwarded signals for this process: {HUP: USR1};
	// none drops one ({HUP: none}), and TSTP, TTIN and TTOU reach the
	// process only when named here ({TSTP: TSTP}).
	Signals map[string]string `yaml:"signals"`

	Essential     *bool         `yaml:"essential"`
	Restart       string        `yaml:"restart"`
	MaxRestarts   int           `yaml:"max_restarts"`
	RestartWindow time.Duration `yaml:"restart_window"`
	After         []string      `yaml:"after"`
	// Ready tells that the process serves: tcp://HOST:PORT,
	// http://HOST:PORT/PATH or a command (for after: and entry health).
	Ready Command `yaml:"ready"`
	// ReadyTimeout is how long after each start Ready may take to pass
	// (default 60s); then the processes after it fail, which stops the
	// role when they are essential.
	ReadyTimeout time.Duration `yaml:"ready_timeout"`
}

// A Command is a shell command line (run through /bin/sh -c) or an argument
// list (run directly).
type Command struct {
	Shell string
	Argv  []string
}

// IsZero reports whether no command was given.
func (c Command) IsZero() bool { return c.Shell == "" && len(c.Argv) == 0 }

// String returns the command as a user wrote it, for logs and plans.
func (c Command) String() string {
	if c.Shell != "" {
		return c.Shell
	}
	return strings.Join(c.Argv, " ")
}

// UnmarshalYAML accepts a string or a list of strings.
func (c *Command) UnmarshalYAML(n *yaml.Node) error {
	switch n.Kind {
	case yaml.ScalarNode:
		c.Shell = n.Value
		return nil
	case yaml.SequenceNode:
		for _, item := range n.Content {
			if item.Kind != yaml.ScalarNode {
				return &Error{Line: item.Line, Msg: "command: each argument must be a string"}
			}
			c.Argv = append(c.Argv, item.Value)
		}
		return nil
	}
	return &Error{Line: n.Line, Msg: "command: want a string or a list of strings"}
}

// UnmarshalYAML reads the roles mapping, keeping file order.
func (r *Roles) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.MappingNode {
		return kindError(n, "roles", "a mapping of role names to processes")
	}
	if err := checkDuplicateKeys(n, "roles"); err != nil {
		return err
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		key, val := n.Content[i], n.Content[i+1]
		if err := checkName(key, "role"); err != nil {
			return err
		}
		role := Role{Name: key.Value, Line: key.Line}
		where := "roles." + key.Value
		if val.Kind == yaml.AliasNode {
			val = val.Alias
		}
		if !isNull(val) {
			if val.Kind != yaml.MappingNode {
				return kindError(val, where, "a mapping of process names to commands")
			}
			if err := checkDuplicateKeys(val, where); err != nil {
				return err
			}
			for j := 0; j+1 < len(val.Content); j += 2 {
				pk, pv := val.Content[j], val.Content[j+1]
				if err := checkName(pk, where+": process"); err != nil {
					return err
				}
				if pk.Value == ReservedProcessName {
					return &Error{Line: pk.Line, Msg: fmt.Sprintf("%s: process name %q is reserved: entry ctl restart all (stop all, start all) means every process of the role; rename it", where, pk.Value)}
				}
				p := Process{Name: pk.Value, Line: pk.Line}
				if err := p.decode(pv, where+"."+pk.Value); err != nil {
					return err
				}
				role.Processes = append(role.Processes, p)
			}
		}
		*r = append(*r, role)
	}
	return nil
}

// ReservedProcessName is the name entry ctl gives every process of the
// role (entry ctl restart all), so no process may have it.
const ReservedProcessName = "all"

// MaxNameLen is the longest role or process name.
const MaxNameLen = 63

// checkName refuses a role or process name outside letters, digits, _, .
// and - (starting with a letter or digit), or longer than MaxNameLen: a
// name is written into every log line, and a newline or an escape in it
// would forge or garble lines ("a\nentry: role web stopped").
func checkName(key *yaml.Node, what string) error {
	name := key.Value
	ok := name != "" && len(name) <= MaxNameLen && isNameStart(name[0])
	for i := 1; ok && i < len(name); i++ {
		ok = isNameStart(name[i]) || name[i] == '_' || name[i] == '.' || name[i] == '-'
	}
	if ok {
		return nil
	}
	shown := name
	if len(shown) > 40 {
		shown = shown[:40] + "..."
	}
	return &Error{Line: key.Line, Msg: fmt.Sprintf("%s name %q: want 1 to %d letters, digits, _, . or -, starting with a letter or digit", what, shown, MaxNameLen)}
}

func isNameStart(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// decode accepts the three forms of a process: a shell string, an argv
// list, or a mapping of process keys.
func (p *Process) decode(n *yaml.Node, where string) error {
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	switch n.Kind {
	case yaml.ScalarNode:
		if n.Tag != "!!str" {
			return &Error{Line: n.Line, Msg: fmt.Sprintf("%s: want a command (a string or a list of strings) or a mapping, got %s (quote it if %s is the command)", where, n.Value, n.Value)}
		}
		return p.Command.UnmarshalYAML(n)
	case yaml.SequenceNode:
		return p.Command.UnmarshalYAML(n)
	case yaml.MappingNode:
		type plain Process // no methods: decoded field by field
		name, line := p.Name, p.Line
		if err := decodeStruct(n, reflectValue((*plain)(p)), where); err != nil {
			return err
		}
		p.Name, p.Line = name, line
		return nil
	}
	return kindError(n, where, "a command or a mapping")
}

// ParseForwarded parses the value side of signals:, where none (0) means
// the signal is not forwarded to the process.
func ParseForwarded(s string) (syscall.Signal, error) {
	if strings.EqualFold(strings.TrimSpace(s), "none") {
		return 0, nil
	}
	return signame.Parse(s)
}

// Get returns the role called name, or nil.
func (r Roles) Get(name string) *Role {
	for i := range r {
		if r[i].Name == name {
			return &r[i]
		}
	}
	return nil
}

// Names lists the role names in file order.
func (r Roles) Names() []string {
	names := make([]string, len(r))
	for i, role := range r {
		names[i] = role.Name
	}
	return names
}

func (r Roles) namesList() string {
	if len(r) == 0 {
		return "no roles are configured"
	}
	return strings.Join(r.Names(), ", ")
}

func (r Roles) validate() []error {
	var errs []error
	for _, role := range r {
		if len(role.Processes) == 0 {
			errs = append(errs, &Error{Line: role.Line, Msg: fmt.Sprintf("role %q has no processes; give it at least one, e.g. %s: {app: \"bundle exec puma\"}", role.Name, role.Name)})
			continue
		}
		names := map[string]bool{}
		for _, p := range role.Processes {
			names[p.Name] = true
		}
		for _, p := range role.Processes {
			if err := p.validate(role.Name, names); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errs
}

// jobControl are the signals that pause or resume a process: as a
// stop_signal the process would never stop.
var jobControl = map[syscall.Signal]bool{
	syscall.SIGSTOP: true, syscall.SIGTSTP: true, syscall.SIGTTIN: true, syscall.SIGTTOU: true, syscall.SIGCONT: true,
}

// neverForwarded are the signals entry's supervisor does not pass on (see
// docs/supervise.md), so a signals: rewrite of one would never apply.
var neverForwarded = map[syscall.Signal]string{
	syscall.SIGCHLD: "entry reaps children with it",
	syscall.SIGURG:  "the Go runtime uses it",
	syscall.SIGPIPE: "it reports entry's own writes to a closed output",
	syscall.SIGKILL: "no process can catch it",
	syscall.SIGSTOP: "no process can catch it",
}

func (p *Process) validate(role string, siblings map[string]bool) error {
	where := "roles." + role + "." + p.Name
	bad := func(format string, args ...any) error {
		return &Error{Line: p.Line, Msg: where + ": " + fmt.Sprintf(format, args...)}
	}
	switch {
	case p.Command.IsZero() && p.Crontab == "":
		return bad("no command; give a command, or crontab: FILE for the cron scheduler")
	case !p.Command.IsZero() && p.Crontab != "":
		return bad("give either command or crontab, not both")
	}
	if p.StopSignal != "" {
		sig, err := signame.Parse(p.StopSignal)
		if err != nil {
			return bad("stop_signal: %v", err)
		}
		if jobControl[sig] {
			return bad("stop_signal: %s pauses or resumes a process and never stops it; use TERM (the default), INT, QUIT or USR1", p.StopSignal)
		}
	}
	from := make([]string, 0, len(p.Signals))
	for k := range p.Signals {
		from = append(from, k)
	}
	sort.Strings(from)
	for _, k := range from {
		sig, err := signame.Parse(k)
		if err != nil {
			return bad("signals: %v", err)
		}
		if why, ok := neverForwarded[sig]; ok {
			return bad("signals: %s is never forwarded (%s), so it cannot be rewritten", k, why)
		}
		if _, err := ParseForwarded(p.Signals[k]); err != nil {
			return bad("signals: %v", err)
		}
	}
	switch p.Restart {
	case "", "always", "on-failure", "never":
	default:
		return bad("restart: %q: want always, on-failure or never", p.Restart)
	}
	if p.MaxRestarts < 0 {
		return bad("max_restarts must not be negative")
	}
	keys := make([]string, 0, len(p.Env))
	for k := range p.Env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if k == "" || strings.ContainsAny(k, "=\x00") {
			return bad("env: %q is not a variable name (no = or NUL, not empty; write NAME: value)", k)
		}
		if strings.IndexByte(p.Env[k], 0) >= 0 {
			return bad("env: %s holds a NUL byte, which no environment variable can", k)
		}
	}
	if p.ReadyTimeout > 0 && p.Ready.IsZero() {
		return bad("ready_timeout %s without ready: there is no check to wait for; add ready: (tcp://HOST:PORT, http://HOST:PORT/PATH or a command), or remove ready_timeout", p.ReadyTimeout)
	}
	for _, dep := range p.After {
		if !siblings[dep] || dep == p.Name {
			return bad("after: %q is not another process of role %s", dep, role)
		}
	}
	return nil
}
