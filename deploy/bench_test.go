package deploy

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/entryhq/entry/deploy/ecsfake"
)

// Scale of the benchmarks: one step of the fake (a Tick) stands for 15 s
// of ECS, and entry polls as it does by default, every 5 s backing off to
// 15 s (PollInterval 10 ms, PollMax 30 ms for a 30 ms Tick). A rollout
// takes 3 Ticks (45 s), the migration task 3 Ticks.
const (
	benchTick = 30 * time.Millisecond
	benchPoll = benchTick / 3
)

func benchEnv(b *testing.B) *env {
	e := newEnv(b)
	e.fake.SetTick(benchTick)
	e.d.Out = io.Discard
	e.d.PollInterval, e.d.PollMax = benchPoll, 3*benchPoll
	return e
}

// BenchmarkDeployTwoServicesWithMigration reports the ECS API calls of a
// successful two-service deploy with a migration, counted by the fake:
// calls/deploy in total and per operation (the last run's).
func BenchmarkDeployTwoServicesWithMigration(b *testing.B) {
	var calls map[string]int
	for b.Loop() {
		b.StopTimer()
		e := benchEnv(b)
		b.StartTimer()
		if err := e.d.Deploy(context.Background(), spec()); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		calls = e.fake.Calls()
		b.StartTimer()
	}
	total := 0
	for op, n := range calls {
		total += n
		b.ReportMetric(float64(n), op+"/deploy")
	}
	b.ReportMetric(float64(total), "calls/deploy")
}

// BenchmarkFailedToExit reports the time from the fake's first answer
// showing a FAILED rollout to Deploy's return (with --no-rollback, so that
// giving up is the exit), in ms and in first-poll intervals, and the calls
// made in between: 0 calls means entry acts in the poll that saw FAILED.
func BenchmarkFailedToExit(b *testing.B) {
	var after int
	var took time.Duration
	for b.Loop() {
		b.StopTimer()
		e := benchEnv(b)
		e.fake.Rollout(cluster, "web", ecsfake.Rollout{Outcome: ecsfake.CircuitBreaker, Steps: 2})
		s := spec()
		s.NoRollback = true
		b.StartTimer()
		err := e.d.Deploy(context.Background(), s)
		end := time.Now()
		b.StopTimer()
		if err == nil {
			b.Fatal("deploy succeeded")
		}
		calls, ok := e.fake.CallsAfterFailed()
		at, _ := e.fake.FirstFailedAt()
		if !ok {
			b.Fatal("no FAILED reported")
		}
		after, took = len(calls), end.Sub(at)
		b.StartTimer()
	}
	b.ReportMetric(float64(after), "calls-after-FAILED")
	b.ReportMetric(float64(took.Microseconds())/1000, "ms-FAILED-to-exit")
	b.ReportMetric(float64(took)/float64(benchPoll), "polls-FAILED-to-exit")
}
