package main

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/entryhq/entry/config"
	"github.com/entryhq/entry/internal/signame"
	"github.com/entryhq/entry/prehook"
	"github.com/entryhq/entry/supervise"
	"github.com/entryhq/entry/supervise/cron"
)

const cronUsage = `Usage: entry cron check [flags] FILE
       entry cron run [flags] FILE

check validates a crontab and prints each job's next run times; a bad line
exits 2 with FILE:LINE and what is wrong. run runs the crontab alone, in
the foreground, outside any role (for debugging): entry supervises the
jobs as it does in a role, and stops them on TERM or INT.

The format (5, 6 or 7 time fields, @daily, @every 90s, @reboot, KEY=VALUE
lines, CRON_TZ=, "# entry:" job options) is described in docs/cron.md.

Examples:
  entry cron check config/crontab
  entry cron check --from 2026-03-08T00:00:00-05:00 --count 3 config/crontab
  entry cron run config/crontab
`

// runCron is `entry cron check|run FILE`.
func runCron(args []string) int {
	if len(args) == 0 {
		return missingVerb("cron")
	}
	if args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Print(cronUsage)
		return exitOK
	}
	switch args[0] {
	case "check":
		return runCronCheck(args[1:])
	case "run":
		return runCronRun(args[1:])
	}
	return fail(exitUsage, "cron: unknown command %q (want check or run; see 'entry cron --help')", args[0])
}

// cronFileArg returns the one FILE argument, or an exit code.
func cronFileArg(fs *flagSet, verb string) (string, int) {
	if fs.NArg() != 1 {
		return "", fail(exitUsage, "cron %s: want one crontab FILE, got %d arguments (see 'entry cron --help')", verb, fs.NArg())
	}
	return fs.Arg(0), -1
}

// maxCheckCount caps check's --count: far more run times than anyone reads,
// and a report that stays small and quick (a billion would never finish).
const maxCheckCount = 1000

func runCronCheck(args []string) int {
	fs := newFlagSet("cron check", cronUsage)
	count := fs.Int("count", 5, "how many next run times to print per job (1 to 1000)")
	from := fs.String("from", "", "compute the run times after this time (RFC 3339, e.g. 2026-03-08T00:00:00-05:00) instead of now")
	if code := fs.parseOrExit(args); code >= 0 {
		return code
	}
	path, code := cronFileArg(fs, "check")
	if code >= 0 {
		return code
	}
	if *count < 1 || *count > maxCheckCount {
		return fail(exitUsage, "cron check: --count %d: want 1 to %d run times per job", *count, maxCheckCount)
	}
	start := time.Now()
	if *from != "" {
		t, err := time.Parse(time.RFC3339, *from)
		if err != nil {
			return fail(exitUsage, "cron check: --from %q: not an RFC 3339 time (write it like 2026-03-08T00:00:00-05:00)", *from)
		}
		start = t
	}
	tab, err := cron.ReadFile(path, os.Getenv("TZ"))
	if err != nil {
		return fail(exitUsage, "cron check: %v", err)
	}
	for _, w := range tab.Warnings {
		prehook.StderrLogger("cron check: warning: %s", w)
	}
	fmt.Print(describeCrontab(tab, start, *count))
	return exitOK
}

// describeCrontab is check's report: each job with its next run times.
func describeCrontab(tab *cron.Crontab, from time.Time, count int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %d job(s), valid\n", tab.Path, len(tab.Jobs))
	for _, j := range tab.Jobs {
		var opts []string
		if j.Overlap {
			opts = append(opts, "overlap=allow")
		}
		if j.Timeout > 0 {
			opts = append(opts, "timeout="+j.Timeout.String())
		}
		fmt.Fprintf(&b, "\n%s (line %d): %s", j.Name, j.Line, j.Schedule)
		if !j.Reboot && !strings.HasPrefix(j.Schedule, "@every") {
			fmt.Fprintf(&b, " in %s", j.Location())
		}
		if len(opts) > 0 {
			fmt.Fprintf(&b, " [%s]", strings.Join(opts, " "))
		}
		fmt.Fprintf(&b, "\n  command: %s\n", j.Command)
		if j.Reboot {
			b.WriteString("  runs once when entry starts\n")
			continue
		}
		t := from
		for i := range count {
			next, note := j.NextWithNote(t)
			if next.IsZero() {
				if i == 0 {
					b.WriteString("  never runs again\n")
				}
				break
			}
			label := "  next:    "
			if i > 0 {
				label = "           "
			}
			fmt.Fprintf(&b, "%s%s", label, next.Format("2006-01-02 15:04:05 -0700 MST"))
			if note != "" {
				fmt.Fprintf(&b, "  (%s)", note)
			}
			b.WriteString("\n")
			t = next
		}
	}
	return b.String()
}

func runCronRun(args []string) int {
	fs := newFlagSet("cron run", cronUsage)
	stopTimeout := fs.Duration("stop-timeout", supervise.DefaultStopTimeout, "on TERM or INT, how long running jobs get after their stop signal before SIGKILL")
	stopSignal := fs.String("stop-signal", "TERM", "the signal running jobs get on stop and on timeout")
	logFormat := fs.String("log-format", "prefix", "how job output is written: prefix, raw or json")
	if code := fs.parseOrExit(args); code >= 0 {
		return code
	}
	if *stopTimeout <= 0 {
		// 0 would otherwise mean the default, silently.
		return fail(exitUsage, "cron run: --stop-timeout %s: give a positive duration, like 25s (the default)", *stopTimeout)
	}
	path, code := cronFileArg(fs, "run")
	if code >= 0 {
		return code
	}
	// Subscribe before anything starts, so that a TERM during start-up is
	// not lost.
	signals := make(chan os.Signal, 64)
	signal.Notify(signals)
	p := config.Process{Name: "cron", Crontab: path, StopTimeout: *stopTimeout, StopSignal: *stopSignal}
	sp, err := supervisedProcess(p)
	if err != nil {
		return fail(exitUsage, "cron run: %v", err)
	}
	format, err := supervise.ParseLogFormat(*logFormat)
	if err != nil {
		return fail(exitUsage, "cron run: --log-format: %v", err)
	}
	s, err := supervise.New(supervise.Role{Name: "cron", Env: os.Environ(), LogFormat: format, Processes: []supervise.Process{sp}})
	if err != nil {
		return fail(exitUsage, "cron run: %v", err)
	}
	return s.Run(signals)
}

// newCronService is the built-in cron scheduler for a role process with
// crontab: set; role.go calls it. The crontab is read now, so that a bad
// line stops the start with FILE:LINE before any process runs.
func newCronService(p config.Process) (supervise.Service, error) {
	tz, ok := p.Env["TZ"]
	if !ok {
		tz = os.Getenv("TZ")
	}
	tab, err := cron.ReadFile(p.Crontab, tz)
	if err != nil {
		var perr *cron.ParseError
		if errors.As(err, &perr) {
			return nil, err
		}
		return nil, fmt.Errorf("crontab: %w (crontab: names a file relative to the working directory)", errors.Unwrap(err))
	}
	for _, w := range tab.Warnings {
		entryEvent(supervise.Fields{Event: "note"}, "cron: warning: %s", w)
	}
	svc := &cron.Service{Crontab: tab, StopTimeout: p.StopTimeout}
	if svc.StopTimeout == 0 {
		svc.StopTimeout = supervise.DefaultStopTimeout
	}
	if p.StopSignal != "" {
		sig, err := signame.Parse(p.StopSignal)
		if err != nil {
			return nil, fmt.Errorf("stop_signal: %v", err)
		}
		svc.StopSignal = sig
	}
	return svc, nil
}
