package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/entryhq/entry/prehook"
	"github.com/entryhq/entry/supervise"
)

// startLog writes entry's own lines in json log format (log_format: json,
// --log-format, ENTRY_LOG_FORMAT): start-up events, hooks' output, the last
// error. nil means the plain "entry: " lines. runStart sets it as soon as
// the format is known: from the flag or variable at once, from entry.yml
// once it has been read.
var startLog *supervise.EntryLog

// setStartLog switches entry's own lines to format, for role.
func setStartLog(format, role string) {
	f, err := supervise.ParseLogFormat(format)
	if err != nil || f != supervise.LogJSON {
		startLog = nil
		return
	}
	startLog = supervise.NewEntryLog(f, role, os.Stdout, os.Stderr)
}

// entryEvent writes one of entry's own lines: an event with fields in json
// format, "entry: message" otherwise.
func entryEvent(f supervise.Fields, format string, args ...any) {
	format = strings.TrimSuffix(format, "\n")
	if startLog == nil {
		fmt.Fprintf(os.Stderr, "entry: "+format+"\n", args...)
		return
	}
	startLog.Event(f, format, args...)
}

// stepLogger labels a start-up step's lines with its name: event "render",
// "secrets", "assets".
func stepLogger(step string) prehook.Logger {
	return func(format string, args ...any) {
		entryEvent(supervise.Fields{Event: step, Step: step}, format, args...)
	}
}

// reportHook writes a hook's start (hook_started) and success (hook_ok).
func reportHook(r prehook.HookReport) {
	f := supervise.Fields{Event: "hook_started", Step: "hooks", Hook: r.Hook.LogName(r.Index)}
	if r.Done {
		f.Event, f.Duration, f.Exit = "hook_ok", r.Took, &supervise.ExitStatus{}
	}
	entryEvent(f, "%s", r.Message)
}

// labelHookOutput labels hooks' output lines with the hook's name ("process":
// "hook:migrate") in json format; otherwise their output passes through as
// it is, a terminal included.
func labelHookOutput(p *prehook.Pipeline) {
	if startLog == nil {
		return
	}
	log := startLog
	for _, s := range p.Steps {
		if h, ok := s.(*prehook.Hooks); ok {
			h.Output = func(name string) (stdout, stderr io.Writer) {
				o, e := log.Output("hook:" + name)
				return o, e
			}
		}
	}
}

// failStartup prints why start-up failed and returns code: a hook's
// failure as hook_failed (with the hook's exit code), anything else as
// error lines.
func failStartup(code int, err error) int {
	var he *prehook.HookError
	if errors.As(err, &he) && startLog != nil {
		startLog.Event(supervise.Fields{Event: "hook_failed", Step: "hooks", Hook: he.Hook.LogName(he.Index),
			Exit: &supervise.ExitStatus{Code: he.Code}, Duration: he.Took}, "%s", err.Error())
		return code
	}
	return failAll(code, err)
}

// writeError writes one error line of entry's, before it exits with code.
func writeError(code int, line string) {
	entryEvent(supervise.Fields{Event: "error", Exit: &supervise.ExitStatus{Code: code}}, "%s", line)
}
