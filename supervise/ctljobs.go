package supervise

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// jobsTimeout bounds how long a status request waits for a scheduler to
// list its jobs (it answers from its loop, which never blocks for long).
const jobsTimeout = 5 * time.Second

// jobServices are the role's processes that have jobs (cron schedulers).
func (s *Supervisor) jobServices() []*proc {
	var out []*proc
	for _, p := range s.procs {
		if _, ok := p.Service.(JobService); ok {
			out = append(out, p)
		}
	}
	return out
}

// answerStatus answers a status request: the processes, described in Run's
// goroutine, then the cron jobs, asked of the schedulers outside it.
func (s *Supervisor) answerStatus(r *ctlRequest) {
	resp := Response{Role: s.role.Name, Processes: s.status()}
	svcs := s.jobServices()
	if len(svcs) == 0 {
		r.reply <- resp
		return
	}
	go func() {
		ctx, cancel := context.WithTimeout(r.ctx, jobsTimeout)
		defer cancel()
		for _, p := range svcs {
			for _, j := range p.Service.(JobService).Jobs(ctx) {
				j.Process = p.Name
				resp.Jobs = append(resp.Jobs, j)
			}
		}
		r.reply <- resp
	}()
}

// runJob answers entry ctl run: it finds the job (JOB, cron:JOB, or
// PROCESS:JOB when two schedulers have a job of that name) and starts a run
// now; the answer comes when the run has ended, or at once for NoWait.
func (s *Supervisor) runJob(r *ctlRequest) {
	fail := func(format string, args ...any) { r.reply <- Response{Error: fmt.Sprintf(format, args...)} }
	svcs := s.jobServices()
	if len(svcs) == 0 {
		fail("role %s has no cron scheduler (a process with crontab:)", s.role.Name)
		return
	}
	name := strings.TrimPrefix(r.Name, "cron:")
	if owner, job, ok := strings.Cut(r.Name, ":"); ok && s.lookup(owner) != nil {
		if p := s.lookup(owner); p.Service != nil {
			if _, isJobs := p.Service.(JobService); isJobs {
				svcs, name = []*proc{p}, job
			}
		}
	}
	var found []*proc
	var known []string
	for _, p := range svcs {
		for _, job := range p.Service.(JobService).JobNames() {
			known = append(known, "cron:"+job)
			if job == name {
				found = append(found, p)
			}
		}
	}
	switch {
	case len(found) == 0:
		fail("no cron job %q in role %s (jobs: %s)", r.Name, s.role.Name, strings.Join(known, ", "))
		return
	case len(found) > 1:
		fail("cron job %q is in %s and %s: name it PROCESS:%s", name, found[0].Name, found[1].Name, name)
		return
	}
	p := found[0]
	if s.stopping {
		fail("role %s is stopping", s.role.Name)
		return
	}
	if p.state != stRunning || p.manualStop {
		fail("%s is not running (%s): entry ctl start %s first", p.Name, s.stateOf(p), p.Name)
		return
	}
	label := "cron:" + name
	svc := p.Service.(JobService)
	began := time.Now()
	go func() {
		reply := func(resp Response) {
			select {
			case r.reply <- resp:
			default: // answered already
			}
		}
		err := svc.RunJob(r.ctx, name, r.Overlap, func(pid int, err error) {
			switch {
			case err != nil:
				reply(Response{Error: fmt.Sprintf("%s: cannot start: %v", label, err)})
			case r.NoWait:
				reply(Response{Message: fmt.Sprintf("%s: started (pid %d); its output goes to the container's log, labelled %s", label, pid, label)})
			}
		}, func(o JobOutcome) {
			took := time.Since(began).Round(100 * time.Millisecond)
			resp := Response{ExitCode: o.ExitCode}
			if o.Outcome == "ok" {
				resp.Message = fmt.Sprintf("%s: %s after %s", label, o.Detail, took)
			} else {
				resp.Error = fmt.Sprintf("%s: %s after %s (its output is in the container's log, labelled %s)", label, o.Detail, took, label)
			}
			reply(resp)
		})
		if err != nil {
			reply(Response{Error: fmt.Sprintf("%s: %v", label, err)})
		}
	}()
}

// WriteJobs writes the cron jobs as a table: next due time and the last
// outcome (or the runs going).
func WriteJobs(w io.Writer, jobs []JobStatus) {
	if len(jobs) == 0 {
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "JOB\tSCHEDULE\tNEXT\tLAST")
	for _, j := range jobs {
		next := "-"
		if j.Next != nil {
			next = stampLocal(*j.Next)
		}
		fmt.Fprintf(tw, "cron:%s\t%s\t%s\t%s\n", j.Name, j.Schedule, next, describeJobLast(j))
	}
	tw.Flush()
}

// describeJobLast is the LAST column: the runs going, else the last
// outcome.
func describeJobLast(j JobStatus) string {
	if len(j.Running) > 0 {
		var runs []string
		for _, r := range j.Running {
			runs = append(runs, fmt.Sprintf("pid %d since %s", r.Pid, stampLocal(r.StartedAt)))
		}
		return "running (" + strings.Join(runs, ", ") + ")"
	}
	o := j.Last
	if o == nil {
		return "-"
	}
	out := fmt.Sprintf("%s at %s (%s", o.Outcome, stampLocal(o.At), o.Detail)
	if o.DurationMS != nil {
		out += fmt.Sprintf(", took %s", (time.Duration(*o.DurationMS) * time.Millisecond).Round(100*time.Millisecond))
	}
	if o.ByHand {
		out += ", entry ctl run"
	}
	return out + ")"
}

// stampLocal prints a time as cron's log lines do, to the second.
func stampLocal(t time.Time) string {
	return t.Format("2006-01-02 15:04:05 MST")
}
