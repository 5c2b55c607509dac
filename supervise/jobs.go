package supervise

import (
	"context"
	"time"
)

// A JobService is a Service with named jobs that `entry ctl status` lists
// and `entry ctl run` runs now: the built-in cron scheduler.
type JobService interface {
	Service
	// Jobs describes each job, in the crontab's order; it is answered
	// even while the service is not running (no next run, no runs).
	Jobs(ctx context.Context) []JobStatus
	// JobNames lists the jobs' names, in order, at once.
	JobNames() []string
	// RunJob starts a run of job name now, as its schedule would: same
	// environment, lock and labelled output, and its outcome recorded as
	// the job's last. A run while one is going is refused unless the job
	// allows overlapping runs, or overlap is set. started is called once
	// the run's process has started (or could not be), ended once it has
	// ended; neither is called when RunJob returns an error.
	RunJob(ctx context.Context, name string, overlap bool, started func(pid int, err error), ended func(JobOutcome)) error
}

// JobStatus is one job in `entry ctl status`; its JSON field names are
// those of `entry ctl status --json`, kept stable.
type JobStatus struct {
	// Process is the role's process that schedules the job ("cron").
	Process string `json:"process"`
	// Name is the job's name; its output is labelled "cron:NAME".
	Name     string `json:"job"`
	Schedule string `json:"schedule"`
	// Next is the next due time; nil when the scheduler is not running or
	// the job never runs again (@reboot).
	Next    *time.Time `json:"next,omitempty"`
	Running []JobRun   `json:"running,omitempty"`
	// Last is how the last run ended, or that it was skipped; nil when
	// there was none since entry started.
	Last *JobOutcome `json:"last,omitempty"`
}

// A JobRun is a run that is going.
type JobRun struct {
	Pid       int       `json:"pid"`
	StartedAt time.Time `json:"started_at"`
	ByHand    bool      `json:"by_hand,omitempty"` // entry ctl run
}

// A JobOutcome is how a run ended, or that a due run was skipped.
type JobOutcome struct {
	// Outcome is ok, failed (a non-zero exit), killed (by a signal),
	// timed_out (stopped past the job's timeout), stopped (by entry's
	// stop), not_started or skipped: the words of the cron_* events.
	Outcome string `json:"outcome"`
	// ExitCode is the run's exit code (128+N for signal N); nil for a
	// skipped run or one that could not start.
	ExitCode *int `json:"exit_code,omitempty"`
	// Detail says what happened: "exited with 0", "killed by SIGKILL",
	// "cannot start: ...", "the previous run (pid 12) was still going".
	Detail string `json:"detail"`
	// At is when the run ended, or was skipped.
	At  time.Time  `json:"at"`
	Due *time.Time `json:"due,omitempty"`
	// DurationMS is how long the run lasted.
	DurationMS *int64 `json:"duration_ms,omitempty"`
	ByHand     bool   `json:"by_hand,omitempty"` // entry ctl run
}
