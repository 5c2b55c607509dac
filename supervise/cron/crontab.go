package cron

import (
	"bufio"
	"bytes"
	"fmt"
	"github.com/entryhq/entry/internal/readcap"
	"regexp"
	"strings"
	"time"
	_ "time/tzdata"
	"unicode" // zones work in images without /usr/share/zoneinfo
)

// A Crontab is a parsed crontab file.
type Crontab struct {
	Path string
	Jobs []*Job
}

// A Job is one scheduled command of a crontab.
type Job struct {
	// Name labels the job's output ("cron:NAME"): from the comment line
	// directly above it, else "line<N>".
	Name string
	Line int
	// Schedule is the schedule as written: "0 3 * * *", "@daily",
	// "@every 90s", "@reboot".
	Schedule string
	Command  string
	// Env holds the crontab's KEY=VALUE lines above the job, in order.
	Env []string
	// Shell runs Command with -c; "" means /bin/sh. The crontab's SHELL=
	// line sets it, as in Vixie cron.
	Shell string
	// Overlap lets a run start while the previous one is still going.
	Overlap bool
	// Timeout, when set, stops a run that lasts longer.
	Timeout time.Duration
	// Reboot marks an @reboot job: it runs once when the scheduler starts.
	Reboot bool

	expr  *Expr         // for time expressions
	every time.Duration // for @every
	loc   *time.Location
}

// Location returns the time zone the job's schedule follows.
func (j *Job) Location() *time.Location { return j.loc }

// Next returns the job's first run time strictly after t, or the zero Time
// when it has none (@reboot, or an expression that never matches again).
func (j *Job) Next(t time.Time) time.Time {
	next, _ := j.NextWithNote(t)
	return next
}

// NextWithNote is Next plus a note, for logs, when a DST change moved the
// run or made its wall-clock time occur twice (see Expr.Next).
func (j *Job) NextWithNote(t time.Time) (time.Time, string) {
	switch {
	case j.Reboot:
		return time.Time{}, ""
	case j.every > 0:
		return t.Add(j.every).In(j.loc), ""
	}
	return j.expr.next(t)
}

// A ParseError is a bad line of a crontab.
type ParseError struct {
	File string
	Line int // 0 when the problem is not on a line (TZ in the environment)
	Msg  string
}

func (e *ParseError) Error() string {
	if e.Line == 0 {
		return fmt.Sprintf("%s: %s", e.File, e.Msg)
	}
	return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
}

// ReadFile reads and parses the crontab at path. tz is the TZ of the
// environment the jobs run in ("" means the system's local zone); CRON_TZ=
// and TZ= lines in the crontab override it for the jobs below them.
func ReadFile(path, tz string) (*Crontab, error) {
	data, err := readcap.ReadFile(path, "crontab", readcap.Crontab)
	if err != nil {
		return nil, fmt.Errorf("crontab: %w", err)
	}
	return Parse(path, data, tz)
}

var (
	envLine  = regexp.MustCompile(`^([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$`)
	nameWord = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)
)

// optionsPrefix starts a comment line that sets per-job options:
//
//	# entry: overlap=allow timeout=30m name=db-cleanup
const optionsPrefix = "entry:"

// Parse parses crontab data; name is used in errors. See ReadFile for tz.
func Parse(name string, data []byte, tz string) (*Crontab, error) {
	p := parser{tab: &Crontab{Path: name}, names: map[string]int{}}
	bad := func(line int, format string, args ...any) error {
		return &ParseError{File: name, Line: line, Msg: fmt.Sprintf(format, args...)}
	}
	defaultLoc, err := loadZone(tz)
	if err != nil {
		return nil, bad(0, "TZ=%s in the environment: %v", tz, err)
	}
	p.loc = defaultLoc

	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	n := 0
	for sc.Scan() {
		n++
		if err := p.line(n, strings.TrimSpace(sc.Text())); err != nil {
			return nil, bad(n, "%s", err)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, bad(n+1, "%v", err)
	}
	if p.optsLine != 0 {
		return nil, bad(p.optsLine, "%q is not followed by a job line (put it directly above the job it is for)", optionsPrefix)
	}
	return p.tab, nil
}

// parser holds the state carried from line to line.
type parser struct {
	tab   *Crontab
	env   []string
	shell string
	loc   *time.Location
	// cronTZ is set once a CRON_TZ= line was seen: a later TZ= line then
	// only changes the jobs' environment.
	cronTZ bool
	names  map[string]int // job name -> line

	// The comment block directly above the current line.
	comment  string // last plain comment line
	opts     []string
	optsLine int
}

func (p *parser) line(n int, text string) error {
	switch {
	case text == "":
		if p.optsLine != 0 {
			return fmt.Errorf("a blank line separates %q on line %d from the job below (put it directly above the job it is for)", optionsPrefix, p.optsLine)
		}
		p.comment = ""
		return nil
	case strings.HasPrefix(text, "#"):
		body := strings.TrimSpace(strings.TrimPrefix(text, "#"))
		if rest, ok := strings.CutPrefix(body, optionsPrefix); ok {
			p.opts = append(p.opts, strings.Fields(rest)...)
			if p.optsLine == 0 {
				p.optsLine = n
			}
			return nil
		}
		p.comment = body
		return nil
	}
	if m := envLine.FindStringSubmatch(text); m != nil {
		if p.optsLine != 0 {
			return fmt.Errorf("%q on line %d must be directly above a job line, not above %s=", optionsPrefix, p.optsLine, m[1])
		}
		p.comment = ""
		return p.setEnv(m[1], unquote(strings.TrimSpace(m[2])))
	}
	err := p.job(n, text)
	p.comment, p.opts, p.optsLine = "", nil, 0
	return err
}

// unquote strips one pair of matching quotes, as Vixie cron does.
func unquote(v string) string {
	if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
		return v[1 : len(v)-1]
	}
	return v
}

func (p *parser) setEnv(key, value string) error {
	switch key {
	case "CRON_TZ":
		loc, err := loadZone(value)
		if err != nil {
			return fmt.Errorf("CRON_TZ=%s: %v", value, err)
		}
		p.loc, p.cronTZ = loc, true
	case "TZ":
		loc, err := loadZone(value)
		if err != nil {
			return fmt.Errorf("TZ=%s: %v", value, err)
		}
		if !p.cronTZ {
			p.loc = loc
		}
	case "SHELL":
		p.shell = value
	}
	p.env = append(p.env, key+"="+value)
	return nil
}

// loadZone loads a tz database zone; "" means the system's local zone. A
// leading colon (TZ=:Asia/Tokyo, POSIX style) is ignored.
func loadZone(name string) (*time.Location, error) {
	name = strings.TrimPrefix(name, ":")
	if name == "" {
		return time.Local, nil
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("unknown time zone %q (use a tz database name such as Asia/Tokyo, Europe/London or UTC)", name)
	}
	return loc, nil
}

var macros = map[string]string{
	"@yearly":   "0 0 1 1 *",
	"@annually": "0 0 1 1 *",
	"@monthly":  "0 0 1 * *",
	"@weekly":   "0 0 * * 0",
	"@daily":    "0 0 * * *",
	"@midnight": "0 0 * * *",
	"@hourly":   "0 * * * *",
}

// job parses a job line.
func (p *parser) job(n int, text string) error {
	j := &Job{
		Line:  n,
		Env:   append([]string(nil), p.env...),
		Shell: p.shell,
		loc:   p.loc,
	}
	fields := strings.Fields(text)
	var rest []string
	if strings.HasPrefix(fields[0], "@") {
		macro := strings.ToLower(fields[0])
		switch {
		case macro == "@reboot":
			j.Reboot, j.Schedule, rest = true, "@reboot", fields[1:]
		case macro == "@every":
			if len(fields) < 2 {
				return fmt.Errorf("@every needs an interval, e.g. @every 90s")
			}
			d, err := time.ParseDuration(fields[1])
			if err != nil {
				return fmt.Errorf("@every %s: not a duration (write it like 90s, 15m or 1h30m)", fields[1])
			}
			if d < time.Second {
				return fmt.Errorf("@every %s: the interval must be at least 1s", fields[1])
			}
			j.every, j.Schedule, rest = d, "@every "+fields[1], fields[2:]
		case macros[macro] != "":
			e, err := ParseExpr(macros[macro], p.loc)
			if err != nil {
				return err // cannot happen: the macros are valid
			}
			j.expr, j.Schedule, rest = e, macro, fields[1:]
		default:
			return fmt.Errorf("unknown schedule %s (use @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly, @reboot or @every DURATION)", fields[0])
		}
	} else {
		e, count, err := parseSchedule(fields, p.loc)
		if err != nil {
			return err
		}
		j.expr, j.Schedule, rest = e, e.String(), fields[count:]
	}
	if len(rest) == 0 {
		return fmt.Errorf("no command after the schedule %q", j.Schedule)
	}
	if rest[0] == "root" && len(rest) > 1 {
		return fmt.Errorf("%q looks like the user column of a system crontab (/etc/crontab, /etc/cron.d); remove it: jobs run as entry's user", rest[0])
	}
	j.Command = commandAfter(text, len(fields)-len(rest))
	if err := p.applyOptions(j); err != nil {
		return err
	}
	if j.Name == "" {
		j.Name = nameFromComment(p.comment)
	}
	if j.Name == "" {
		j.Name = fmt.Sprintf("line%d", n)
	}
	if prev, ok := p.names[j.Name]; ok {
		return fmt.Errorf("job name %q is already used by the job on line %d (names label the output; give each job its own)", j.Name, prev)
	}
	p.names[j.Name] = n
	p.tab.Jobs = append(p.tab.Jobs, j)
	return nil
}

// parseSchedule reads the time fields at the start of a job line. A line
// has 5, 6 (seconds first) or 7 (seconds first, year last) time fields,
// then the command; the longest reading that parses wins, as in
// supercronic. When none parses, the error of the reading that got
// furthest is reported, preferring the 5-field one.
func parseSchedule(fields []string, loc *time.Location) (*Expr, int, error) {
	if len(fields) < 5 {
		return nil, 0, fmt.Errorf("%d fields; a job line needs 5 time fields (minute hour day-of-month month day-of-week) and then a command", len(fields))
	}
	var bestErr error
	best := -1
	for _, count := range []int{7, 6, 5} {
		if len(fields) < count {
			continue
		}
		e, got, err := parseFields(fields[:count], loc)
		if err == nil {
			if len(fields) == count {
				if count == 5 {
					return nil, 0, fmt.Errorf("no command after the schedule %q", e.String())
				}
				continue // the last field may be the command: try fewer fields
			}
			return e, count, nil
		}
		if got >= best {
			best, bestErr = got, err
		}
	}
	return nil, 0, bestErr
}

// commandAfter returns text after its first skip fields (separated as
// strings.Fields separates them), with the command's own spacing kept.
func commandAfter(text string, skip int) string {
	s := text
	for range skip {
		s = strings.TrimLeftFunc(s, unicode.IsSpace)
		i := strings.IndexFunc(s, unicode.IsSpace)
		if i < 0 {
			return ""
		}
		s = s[i:]
	}
	return strings.TrimSpace(s)
}

// nameFromComment takes a job name from the comment directly above the
// job: a comment that is one word ("# db-cleanup"), or starts with a word
// and a colon ("# db-cleanup: prune old sessions").
func nameFromComment(c string) string {
	if c == "" {
		return ""
	}
	word, _, _ := strings.Cut(c, " ")
	if w, ok := strings.CutSuffix(word, ":"); ok {
		word = w
	} else if word != c {
		return ""
	}
	if nameWord.MatchString(word) {
		return word
	}
	return ""
}

// applyOptions applies the "# entry:" comment lines above the job.
func (p *parser) applyOptions(j *Job) error {
	for _, opt := range p.opts {
		key, value, ok := strings.Cut(opt, "=")
		if !ok || value == "" {
			return fmt.Errorf("%s %q: want KEY=VALUE (overlap=allow, timeout=30m, name=NAME)", optionsPrefix, opt)
		}
		switch key {
		case "overlap":
			switch value {
			case "allow":
				j.Overlap = true
			case "skip":
				j.Overlap = false
			default:
				return fmt.Errorf("%s overlap=%s: want overlap=allow or overlap=skip", optionsPrefix, value)
			}
		case "timeout":
			d, err := time.ParseDuration(value)
			if err != nil || d <= 0 {
				return fmt.Errorf("%s timeout=%s: want a positive duration such as 30s, 10m or 2h", optionsPrefix, value)
			}
			j.Timeout = d
		case "name":
			if !nameWord.MatchString(value) {
				return fmt.Errorf("%s name=%s: a name is letters, digits, '.', '_' and '-'", optionsPrefix, value)
			}
			j.Name = value
		default:
			return fmt.Errorf("%s unknown option %q (known: overlap, timeout, name)", optionsPrefix, key)
		}
	}
	return nil
}
