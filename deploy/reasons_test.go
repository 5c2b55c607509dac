package deploy

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/entryhq/entry/deploy/ecsfake"
)

// Issue 20 §4: say what ECS said.

// A migration killed for memory: ECS's container reason is shown.
func TestMigrationKilledForMemorySaysSo(t *testing.T) {
	e := newEnv(t)
	e.fake.SetTaskOutcome(ecsfake.TaskOutcome{ExitCodes: map[string]int32{"app": 137},
		ContainerReasons: map[string]string{"app": "OutOfMemoryError: Container killed due to memory usage"}})
	failure(t, e.d.Deploy(context.Background(), spec()),
		"migrate: container app of task ", " exited 137 (OutOfMemoryError: Container killed due to memory usage; Essential container in task exited)")
}

// deploy run on Spot: the task's stop code and reason are shown beside the
// exit code.
func TestRunInterruptedBySpotSaysSo(t *testing.T) {
	e := newEnv(t)
	e.fake.SetTaskOutcome(ecsfake.TaskOutcome{ExitCodes: map[string]int32{"app": 143},
		StopCode: types.TaskStopCodeSpotInterruption, StoppedReason: "Your Spot Task was interrupted."})
	code, err := e.d.Run(context.Background(), RunSpec{Cluster: cluster, Service: "web", Command: []string{"bin/rails", "runner", "X"}, Timeout: 5 * time.Second})
	if err != nil || code != 143 {
		t.Fatalf("Run = %d, %v", code, err)
	}
	e.wantOutput(t, " exited 143 (SpotInterruption: Your Spot Task was interrupted.)")
}

// A rollout the circuit breaker failed: why its tasks stopped, grouped
// with counts, in the output and the summary.
func TestFailedRolloutSaysWhyItsTasksStopped(t *testing.T) {
	e := newEnv(t)
	e.fake.Rollout(cluster, "web", ecsfake.Rollout{Outcome: ecsfake.CircuitBreaker, Steps: 3, TaskFailure: &ecsfake.TaskOutcome{
		StopCode: types.TaskStopCodeTaskFailedToStart, FailToStart: true,
		Reason: "CannotPullContainerError: pull image manifest has been retried 5 time(s): repo/app:new: not found"}})
	s := spec()
	s.Services, s.Migrate = []string{"web"}, nil
	err := e.d.Deploy(context.Background(), s)
	failure(t, err, "web: rollout of web:2 FAILED: ECS deployment circuit breaker: tasks failed to start. (the circuit breaker rolls back to web:1); web: 4 tasks of web:2 stopped: 4× TaskFailedToStart: CannotPullContainerError: pull image manifest has been retried 5 time(s): repo/app:new: not found; restored web web:1")
	e.wantOutput(t, "web: 4 stopped tasks of web:2 (deployment ecs-svc/", "  4× TaskFailedToStart: CannotPullContainerError")
}

func TestFailedRolloutGroupsDifferentReasons(t *testing.T) {
	e := newEnv(t)
	e.fake.Rollout(cluster, "job", ecsfake.Rollout{Outcome: ecsfake.CircuitBreaker, TaskFailure: &ecsfake.TaskOutcome{
		ExitCodes: map[string]int32{"app": 137}, ContainerReasons: map[string]string{"app": "OutOfMemoryError: Container killed due to memory usage"}}})
	s := spec()
	s.Services, s.Migrate = []string{"job"}, nil
	failure(t, e.d.Deploy(context.Background(), s), "tasks of job:2 failed to start or stay healthy",
		" tasks of job:2 stopped: ", "× Essential container in task exited (container app exited 137: OutOfMemoryError: Container killed due to memory usage); restored job job:1")
}

// A rollout failed by a CloudWatch alarm is named as such, with the alarm.
func TestAlarmRollbackNamesTheAlarm(t *testing.T) {
	e := newEnv(t)
	e.fake.AddService(ecsfake.ServiceSpec{Cluster: cluster, Name: "api", TaskDefinition: "web:1", DesiredCount: 2,
		LaunchType: types.LaunchTypeFargate, NetworkConfiguration: netConf, Alarms: []string{"api-5xx", "api-latency"}, AlarmRollback: true})
	e.fake.Rollout(cluster, "api", ecsfake.Rollout{Outcome: ecsfake.Alarm, Bake: 2, AlarmName: "api-latency"})
	s := spec()
	s.Services, s.Migrate = []string{"api"}, nil
	err := e.d.Deploy(context.Background(), s)
	failure(t, err, "api: rollout of web:2 FAILED: CloudWatch alarm api-latency went into ALARM (ECS deployment ecs-svc/", "failed: alarm detected.) (ECS (the alarms' rollback) rolls back to web:1)", "restored api web:1")
	if strings.Contains(err.Error(), "circuit breaker") {
		t.Errorf("an alarm rollback called the circuit breaker's: %v", err)
	}
	if n := e.fake.Calls()["UpdateService"]; n != 1 {
		t.Errorf("%d UpdateService calls, want 1: ECS rolls back itself", n)
	}
	e.wantRevision(t, "api", 1)
}
