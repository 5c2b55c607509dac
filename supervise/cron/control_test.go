package cron

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/entryhq/entry/internal/testtool"
	"github.com/entryhq/entry/supervise"
)

// startCtlService is startService keeping the Service, for entry ctl's
// requests.
func startCtlService(t *testing.T, text string, sp *fakeSpawner) (*Service, *fakeClock) {
	t.Helper()
	tab, err := Parse("crontab", []byte(text), "UTC")
	if err != nil {
		t.Fatal(err)
	}
	clock := &fakeClock{now: time.Date(2026, 1, 30, 10, 0, 0, 500e6, time.UTC)}
	svc := &Service{Crontab: tab, Clock: clock, StopTimeout: 10 * time.Second}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- svc.Run(ctx, sp) }()
	sp.waitLog(t, "next run")
	t.Cleanup(func() {
		cancel()
		select {
		case <-errc:
		case <-time.After(testtool.Patience):
			t.Errorf("Run did not return within %s of cancel", testtool.Patience)
		}
	})
	return svc, clock
}

// entry ctl run starts a job now, under the job's lock (a run going makes
// it refuse, and a due run skip), and records its outcome as the job's
// last; entry ctl status lists each job's next due time and last outcome
// (issue 23 §3).
func TestServiceRunJobAndJobs(t *testing.T) {
	sp := newFakeSpawner()
	svc, clock := startCtlService(t, "X=1\n# slow\n0 * * * * * sleep 10\n# quick\n@reboot true\n", sp)
	ctx := context.Background()
	if j := svc.Jobs(ctx); len(j) != 2 || j[0].Name != "slow" || j[0].Schedule != "0 * * * * *" || j[0].Next == nil || !j[0].Next.Equal(at(10, 1, 0)) || j[0].Last != nil || j[1].Next != nil {
		t.Fatalf("jobs: %+v", j)
	}
	sp.next(t).end(supervise.ExitStatus{}) // @reboot
	sp.waitLog(t, "quick: pid 1001 exited with code 0")

	started := make(chan int, 1)
	ended := make(chan supervise.JobOutcome, 1)
	err := svc.RunJob(ctx, "slow", false, func(pid int, err error) {
		if err != nil {
			t.Errorf("started: %v", err)
		}
		started <- pid
	}, func(o supervise.JobOutcome) { ended <- o })
	if err != nil {
		t.Fatal(err)
	}
	run := sp.next(t)
	if pid := <-started; pid != run.pid {
		t.Errorf("started pid %d, want %d", pid, run.pid)
	}
	if c := sp.commands[len(sp.commands)-1]; c.Name != "cron:slow" || c.Shell != "sleep 10" || strings.Join(c.Env, " ") != "X=1" {
		t.Errorf("command %+v, want the job's own", c)
	}
	sp.waitLog(t, "slow: started pid 1002 (due 2026-01-30 10:00:00.500 UTC; entry ctl run)")
	if j := svc.Jobs(ctx)[0]; len(j.Running) != 1 || j.Running[0].Pid != run.pid || !j.Running[0].ByHand {
		t.Errorf("while running: %+v", j)
	}
	err = svc.RunJob(ctx, "slow", false, nil, nil)
	if want := `slow is already running: a run (pid 1002, started 2026-01-30 10:00:00.500 UTC); wait for it to end, or give --overlap to run it beside (the job's "# entry: overlap=allow" allows it always)`; err == nil || err.Error() != want {
		t.Errorf("second run: %v\nwant %s", err, want)
	}
	// The run by hand holds the job's lock: the scheduled run is skipped.
	clock.Advance(time.Minute)
	sp.waitLog(t, "slow: skipped the run due 2026-01-30 10:01:00 UTC")
	if j := svc.Jobs(ctx)[0]; j.Last == nil || j.Last.Outcome != "skipped" || j.Last.Detail != "the previous run (pid 1002, started 2026-01-30 10:00:00.500 UTC) was still going" || !j.Last.Due.Equal(at(10, 1, 0)) {
		t.Errorf("after the skip: %+v", j.Last)
	}
	run.end(supervise.ExitStatus{Code: 3})
	o := <-ended
	if o.Outcome != "failed" || o.ExitCode == nil || *o.ExitCode != 3 || o.Detail != "exited with 3" || !o.ByHand || o.DurationMS == nil {
		t.Errorf("outcome %+v", o)
	}
	if j := svc.Jobs(ctx)[0]; j.Last == nil || j.Last.Outcome != "failed" || len(j.Running) != 0 || !j.Next.Equal(at(10, 2, 0)) {
		t.Errorf("after the run: %+v", j)
	}
	if err := svc.RunJob(ctx, "nope", false, nil, nil); err == nil || err.Error() != "no job \"nope\" in crontab (jobs: slow, quick)" {
		t.Errorf("unknown job: %v", err)
	}
}
