package deploy

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/entryhq/entry/deploy/ecsfake"
	"github.com/entryhq/entry/internal/testtool"
)

// Issue 20 §3: a migration task that never left PROVISIONING/PENDING (no
// capacity) by --timeout is stopped, with a reason naming entry and the
// deploy; it must not run the migration later, after the deploy was given
// up. A running one is left running.
func TestMigrationThatNeverStartedIsStopped(t *testing.T) {
	e := newEnv(t)
	e.fake.SetTaskOutcome(ecsfake.TaskOutcome{NeverStarts: true})
	s := spec()
	s.Timeout = 300 * time.Millisecond
	failure(t, e.d.Deploy(context.Background(), s), "migrate: task ", " did not start within 300ms (still PENDING: no capacity to place it?); entry stopped it (StopTask) so that it cannot run after this deploy was given up; no service was changed")
	e.wantOutput(t, "did not start within 300ms (still PENDING); stopped it so that it cannot run later")
	if n := e.fake.Calls()["StopTask"]; n != 1 {
		t.Errorf("%d StopTask calls, want 1", n)
	}
	testtool.Eventually(t, "the migration task STOPPED by entry", func() bool {
		tasks := e.fake.Tasks()
		return len(tasks) == 1 && aws.ToString(tasks[0].LastStatus) == "STOPPED"
	})
	task := e.fake.Tasks()[0]
	if task.StopCode != types.TaskStopCodeUserInitiated || aws.ToString(task.StoppedReason) != "entry deploy migrate of web:2: stopped before it started (did not start within 300ms); the deploy was abandoned" {
		t.Errorf("stopped with %s %q", task.StopCode, aws.ToString(task.StoppedReason))
	}
	if n := e.fake.Calls()["UpdateService"]; n != 0 {
		t.Errorf("services updated")
	}
	if got := e.fake.Revisions("web"); !slices.Equal(got, []int32{1}) {
		t.Errorf("web ACTIVE revisions %v, want the unused web:2 deregistered", got)
	}
}

func TestMigrationRunningAtTheTimeoutIsLeftRunning(t *testing.T) {
	e := newEnv(t)
	e.fake.SetTaskOutcome(ecsfake.TaskOutcome{Steps: 1000})
	s := spec()
	s.Timeout = 300 * time.Millisecond
	failure(t, e.d.Deploy(context.Background(), s), "did not stop within 300ms; it is left running so that a migration is never cut in half")
	if n := e.fake.Calls()["StopTask"]; n != 0 {
		t.Errorf("%d StopTask calls: a running migration was stopped", n)
	}
	if strings.Contains(e.out.String(), "stopped it") {
		t.Errorf("output:\n%s", e.out)
	}
}

// A cancelled CI job stops a migration that has not started, too.
func TestMigrationNotStartedWhenInterruptedIsStopped(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	e.fake.SetTaskOutcome(ecsfake.TaskOutcome{NeverStarts: true})
	e.fake.OnCall("DescribeTasks", 3, cancel)
	failure(t, e.d.Deploy(ctx, spec()), "had not started when the deploy was interrupted", "entry stopped it (StopTask)", "no service was changed")
	if n := e.fake.Calls()["StopTask"]; n != 1 {
		t.Errorf("%d StopTask calls, want 1", n)
	}
}
