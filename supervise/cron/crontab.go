package cron

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"github.com/entryhq/entry/internal/readcap"
	"regexp"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata"
	"unicode" // zones work in images without /usr/share/zoneinfo
)

// A Crontab is a parsed crontab file.
type Crontab struct {
	Path string
	Jobs []*Job
	// Warnings are problems that do not stop the crontab from running, as
	// "FILE:LINE: what is wrong" lines.
	Warnings []string
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
			var le *lineError
			if errors.As(err, &le) {
				return nil, bad(le.line, "%s", le.err)
			}
			return nil, bad(n, "%s", err)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, bad(n+1, "%v", err)
	}
	if p.optsLine != 0 {
		return nil, bad(p.optsLine, "%q is not followed by a job line (put it directly above the job it is for)", optionsPrefix)
	}
	for _, v := range p.trailingEnv {
		p.tab.Warnings = append(p.tab.Warnings, fmt.Sprintf("%s:%d: %s= applies to no job: a variable line sets the environment of the jobs below it only (supercronic applies it to the whole file); move it above the jobs it is for", name, v.line, v.key))
	}
	return p.tab, nil
}

// A lineError is an error about another line than the one being read,
// such as an "# entry:" option above the job.
type lineError struct {
	line int
	err  error
}

func (e *lineError) Error() string { return e.err.Error() }

// envLineAt is a KEY=VALUE line: its key and line number.
type envLineAt struct {
	key  string
	line int
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
	opts     []option
	optsLine int

	// trailingEnv are the variable lines below the last job so far, which
	// apply to no job unless one follows.
	trailingEnv []envLineAt
}

// An option is one KEY=VALUE of an "# entry:" line, with its line.
type option struct {
	text string
	line int
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
			for _, o := range strings.Fields(rest) {
				p.opts = append(p.opts, option{o, n})
			}
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
		value := strings.TrimSpace(m[2])
		if inlineComment.MatchString(value) && unquote(value) == value {
			return fmt.Errorf("%s=%s: a variable line takes no inline comment (the value would include it, as in cron): put the comment on a line of its own", m[1], value)
		}
		p.trailingEnv = append(p.trailingEnv, envLineAt{m[1], n})
		return p.setEnv(m[1], unquote(value))
	}
	err := p.job(n, text)
	p.comment, p.opts, p.optsLine, p.trailingEnv = "", nil, 0, nil
	return err
}

// inlineComment matches a value with a "#" after white space, which cron
// keeps in the value but which was almost certainly meant as a comment.
var inlineComment = regexp.MustCompile(`\s#`)

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
// then the command. The time fields are the words at the start of the line
// that look like time fields (timeFieldLike); the command starts at the
// first word that does not. So a bad value is blamed on its field rather
// than taken for the command, and a number after five fields (supercronic's
// year form, "0 0 1 1 * 2030 echo") is read as a field, never as the
// command.
func parseSchedule(fields []string, loc *time.Location) (*Expr, int, error) {
	if len(fields) < 5 {
		return nil, 0, fmt.Errorf("%d fields; a job line needs 5 time fields (minute hour day-of-month month day-of-week) and then a command", len(fields))
	}
	count := 0
	for count < len(fields) && count < 8 && timeFieldLike(fields[count]) {
		count++
	}
	switch {
	case count <= 5:
		// A word that does not look like a field within the first five is
		// a bad field, not the command: the 5-field reading blames it.
		e, _, err := parseFields(fields[:5], loc)
		if err != nil {
			return nil, 0, err
		}
		if len(fields) == 5 {
			return nil, 0, fmt.Errorf("no command after the schedule %q", e.String())
		}
		return e, 5, nil
	case count == 8:
		return nil, 0, fmt.Errorf("%q: more than 7 words that look like time fields before the command; %s", strings.Join(fields[:8], " "), fieldRule)
	}
	e, _, err := parseFields(fields[:count], loc)
	if err != nil {
		if count == 6 && yearLike(fields[5]) {
			if _, _, err5 := parseFields(fields[:5], loc); err5 == nil {
				// supercronic's "5 fields and a year".
				return nil, 0, fmt.Errorf("%v (entry reads 6 time fields as %s; for a year after 5 fields, as supercronic allows, write 7 fields with a second first: 0 %s)",
					err, fieldNames[6], strings.Join(fields[:6], " "))
			}
		}
		return nil, 0, fmt.Errorf("%v (a %d-field line is %s)", err, count, fieldNames[count])
	}
	if len(fields) == count {
		return nil, 0, fmt.Errorf("no command after the schedule %q", e.String())
	}
	return e, count, nil
}

const fieldRule = "a job line has 5 time fields (minute hour day-of-month month day-of-week), 6 (a second first) or 7 (a second first, a year last), then the command"

var fieldNames = map[int]string{
	6: "second minute hour day-of-month month day-of-week",
	7: "second minute hour day-of-month month day-of-week year",
}

// timeFieldLike reports whether w could be meant as a time field: *, ?,
// numbers, month and day names, L, W forms, joined by , - / and #. A
// command word such as "bundle", "bin/rake" or "7z" is not.
func timeFieldLike(w string) bool {
	for _, part := range strings.FieldsFunc(w, func(r rune) bool { return strings.ContainsRune(",-/#", r) }) {
		lower := strings.ToLower(part)
		if part == "*" || part == "?" || lower == "l" || lower == "lw" || monthNames[lower] != 0 {
			continue
		}
		if _, ok := dowNames[lower]; ok {
			continue
		}
		number := strings.TrimRight(lower, "lw") // 5L, 15W
		if number == "" || strings.Trim(number, "0123456789") != "" {
			return false
		}
	}
	return strings.Trim(w, ",-/#") != "" && !strings.ContainsAny(w[:1], ",-/#")
}

// yearLike reports whether w reads as a year field (2030, 2026-2030).
func yearLike(w string) bool {
	for _, part := range strings.FieldsFunc(w, func(r rune) bool { return strings.ContainsRune(",-/", r) }) {
		if n, err := strconv.Atoi(part); err == nil && n >= 1970 && n <= 2099 {
			return true
		}
	}
	return false
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
	for _, o := range p.opts {
		if err := applyOption(j, o.text); err != nil {
			return &lineError{o.line, err}
		}
	}
	return nil
}

// applyOption applies one KEY=VALUE of an "# entry:" line.
func applyOption(j *Job, opt string) error {
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
	return nil
}
