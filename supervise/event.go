package supervise

import (
	"strconv"
	"syscall"
	"time"

	"github.com/entryhq/entry/internal/signame"
)

// Fields are what one of entry's own events says, as data: in json log
// format they are written as fields of the line, beside the human message
// ("line"), so that a CloudWatch Logs metric filter or a log query can
// match on them. The event names are listed in docs/supervise.md (Events).
// A zero field is left out, except exit_code when Exit is set, and
// duration_ms when a run lasted under a millisecond.
type Fields struct {
	Event   string // "started", "exited", "restarting", "cron_failed", ...
	Process string // "" for entry itself (written as "entry")
	Pid     int
	// Exit is how the process (or a cron run, a hook) ended: exit_code, and
	// signal when a signal ended it.
	Exit *ExitStatus
	// Signal is a signal entry sent (stopping, killing), when Exit is nil.
	Signal syscall.Signal
	// Duration is how long the run lasted (duration_ms).
	Duration time.Duration
	// Restarts counts the process's restarts since entry started, as
	// `entry ctl status` does; for "restarting", this restart included.
	Restarts int
	// Delay is the wait before a restart (delay_ms).
	Delay time.Duration

	// Job, Due, Next and Outcome describe a cron run; Due and Next are
	// written in RFC 3339.
	Job     string
	Due     time.Time
	Next    time.Time
	Outcome string

	// Step and Hook name a start-up step and a hook.
	Step string
	Hook string
}

// EventFieldNames are the JSON names Fields may write, in the order they
// are written, after time, role, process and stream and before line.
var EventFieldNames = []string{"event", "pid", "exit_code", "signal", "duration_ms", "restarts", "delay_ms", "job", "due", "next", "outcome", "step", "hook"}

// appendJSON appends f's fields, each preceded by a comma.
func (f Fields) appendJSON(b []byte) []byte {
	str := func(name, v string) {
		if v != "" {
			b = append(b, `,"`...)
			b = append(b, name...)
			b = append(b, `":`...)
			b = appendJSONString(b, v)
		}
	}
	num := func(name string, v int64, always bool) {
		if v != 0 || always {
			b = append(b, `,"`...)
			b = append(b, name...)
			b = append(b, `":`...)
			b = strconv.AppendInt(b, v, 10)
		}
	}
	stamp := func(name string, t time.Time) {
		if !t.IsZero() {
			str(name, t.Format(time.RFC3339Nano))
		}
	}
	str("event", f.Event)
	num("pid", int64(f.Pid), false)
	sig := f.Signal
	if f.Exit != nil {
		num("exit_code", int64(f.Exit.Code), true)
		sig = f.Exit.Signal
	}
	if sig != 0 {
		str("signal", signame.String(sig))
	}
	if f.Duration > 0 {
		num("duration_ms", f.Duration.Milliseconds(), true)
	}
	num("restarts", int64(f.Restarts), false)
	num("delay_ms", f.Delay.Milliseconds(), false)
	str("job", f.Job)
	stamp("due", f.Due)
	stamp("next", f.Next)
	str("outcome", f.Outcome)
	str("step", f.Step)
	str("hook", f.Hook)
	return b
}
