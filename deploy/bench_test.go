package deploy

import (
	"context"
	"io"
	"testing"

	"github.com/entryhq/entry/deploy/ecsfake"
)

// BenchmarkDeployTwoServicesWithMigration reports the ECS API calls of a
// successful two-service deploy with a migration, counted by the fake:
// calls/deploy in total and per operation. Each deployment of the fake
// takes 3 polls and the migration task 3 DescribeTasks.
func BenchmarkDeployTwoServicesWithMigration(b *testing.B) {
	var calls map[string]int
	for b.Loop() {
		b.StopTimer()
		e := newEnv(b)
		e.d.Out = io.Discard
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

// BenchmarkFailedToExit reports how many ECS calls entry makes between
// the poll in which ECS first reports a FAILED rollout and giving up
// (with --no-rollback, so that giving up is the exit): 0 means it acts in
// the poll that saw FAILED, so the latency is at most one poll interval.
func BenchmarkFailedToExit(b *testing.B) {
	after := 0
	for b.Loop() {
		b.StopTimer()
		e := newEnv(b)
		e.d.Out = io.Discard
		e.fake.Rollout(cluster, "web", ecsfake.Rollout{Outcome: ecsfake.CircuitBreaker, Steps: 2})
		s := spec()
		s.NoRollback = true
		b.StartTimer()
		if err := e.d.Deploy(context.Background(), s); err == nil {
			b.Fatal("deploy succeeded")
		}
		b.StopTimer()
		calls, ok := e.fake.CallsAfterFailed()
		if !ok {
			b.Fatal("no FAILED reported")
		}
		after = len(calls)
		b.StartTimer()
	}
	b.ReportMetric(float64(after), "calls-after-FAILED")
}
