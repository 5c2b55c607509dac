package deploy

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/entryhq/entry/deploy/ecsfake"
	"github.com/entryhq/entry/internal/testtool"
)

// Scenarios of issue 12: ECS as it is where it is unpleasant.

func (e *env) wantOutput(t *testing.T, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(e.out.String(), w) {
			t.Errorf("output lacks %q:\n%s", w, e.out)
		}
	}
}

// standardRetryer replaces the adaptive retryer, whose client-side rate
// limiter would make throttling tests wait seconds for its tokens.
func (e *env) standardRetryer(attempts int) {
	e.d.Client = ecs.New(ecs.Options{
		Region: ecsfake.Region, BaseEndpoint: aws.String(e.fake.URL),
		Credentials: credentials.NewStaticCredentialsProvider("AKIDTEST", "SECRETTEST", ""),
		Retryer: retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxAttempts, o.MaxBackoff = attempts, 5*time.Millisecond
			o.Backoff = retry.NewExponentialJitterBackoff(5 * time.Millisecond)
		}),
	})
}

// 1. A task RunTask just started may be MISSING for a while.
func TestMigrationTaskMissingAtFirst(t *testing.T) {
	e := newEnv(t)
	e.fake.MissingFor(200 * time.Millisecond)
	if err := e.d.Deploy(context.Background(), spec()); err != nil {
		t.Fatalf("Deploy: %v\n%s", err, e.out)
	}
	e.wantRevision(t, "web", 2)
	e.wantOutput(t, "is not visible yet (MISSING); ECS is eventually consistent, waiting up to 1m0s for it", "migrate: container app exited 0")
}

func TestMigrationTaskMissingBeyondTheGrace(t *testing.T) {
	e := newEnv(t)
	e.d.MissingGrace = 150 * time.Millisecond
	e.fake.MissingFor(time.Hour)
	err := e.d.Deploy(context.Background(), spec())
	failure(t, err, "migrate: DescribeTasks: task ", ": MISSING (", "after RunTask); no service was changed")
	if e.fake.Calls()["UpdateService"] != 0 {
		t.Error("services updated though the migration was never seen")
	}
	if got := e.fake.Revisions("web"); !slices.Equal(got, []int32{1}) {
		t.Errorf("web ACTIVE revisions %v, want the unused one deregistered", got)
	}
}

// 1. A service described just after UpdateService may not show the new
// deployment yet.
func TestLaggingServiceAfterUpdate(t *testing.T) {
	e := newEnv(t)
	e.fake.LagFor(150 * time.Millisecond)
	if err := e.d.Deploy(context.Background(), spec()); err != nil {
		t.Fatalf("Deploy: %v\n%s", err, e.out)
	}
	e.wantRevision(t, "web", 2)
	e.wantRevision(t, "job", 2)
}

func TestDeploymentNeverAppears(t *testing.T) {
	e := newEnv(t)
	e.d.LagGrace = 100 * time.Millisecond
	e.fake.LagFor(time.Hour)
	s := spec()
	s.Migrate = nil
	failure(t, e.d.Deploy(context.Background(), s), "the deployment of web:2 that UpdateService started did not appear in DescribeServices within 100ms")
}

// inFlight makes web (or job) be in the middle of a rollout of a new
// revision with repo/app:new, as a cancelled CI job leaves it.
func inFlight(e *env, service string, r ecsfake.Rollout) {
	def := webDef()
	if service == "job" {
		def = jobDef()
	}
	def.ContainerDefinitions[0].Image = aws.String("repo/app:new")
	arn := e.fake.Register(def)
	e.fake.StartRollout(cluster, service, arn, r)
}

// 2. A re-run during a rollout must wait for it, not report green.
func TestReRunAdoptsAnInFlightRollout(t *testing.T) {
	e := newEnv(t)
	inFlight(e, "web", ecsfake.Rollout{Outcome: ecsfake.Complete, Steps: 6})
	s := spec()
	s.Services = []string{"web"}
	if err := e.d.Deploy(context.Background(), s); err != nil {
		t.Fatalf("Deploy: %v\n%s", err, e.out)
	}
	e.wantRevision(t, "web", 2) // settled when Deploy returned
	if c := e.fake.Calls(); c["UpdateService"] != 0 || c["RegisterTaskDefinition"] != 0 || c["RunTask"] != 0 {
		t.Errorf("adopting made calls %v, want no UpdateService, RegisterTaskDefinition or RunTask", c)
	}
	e.wantOutput(t, "web: a rollout of web:2 is already in progress (replacing web:1); adopting it", "migrate: skipped", "deployed: web web:2")
	if strings.Contains(e.out.String(), "nothing to do") {
		t.Errorf("reported nothing to do for a rollout in flight:\n%s", e.out)
	}
}

func TestAdoptedRolloutThatFailsIsAFailure(t *testing.T) {
	e := newEnv(t)
	inFlight(e, "web", ecsfake.Rollout{Outcome: ecsfake.CircuitBreaker, Steps: 4})
	s := spec()
	s.Services = []string{"web"}
	failure(t, e.d.Deploy(context.Background(), s), "web: rollout of web:2 FAILED", "restored web web:1")
	e.wantRevision(t, "web", 1)
}

func TestAdoptedRolloutThatStallsIsRolledBackToTheActiveRevision(t *testing.T) {
	e := newEnv(t)
	inFlight(e, "job", ecsfake.Rollout{Outcome: ecsfake.Stall})
	s := spec()
	s.Services, s.Timeout = []string{"job"}, 300*time.Millisecond
	failure(t, e.d.Deploy(context.Background(), s), "not stable after 300ms", "restored job job:1")
	e.wantRevision(t, "job", 1)
	e.wantOutput(t, "job: rolling back to job:1")
}

// 3. Placement failures that ECS resolves by retrying are progress.
func TestPlacementEventsThatResolve(t *testing.T) {
	e := newEnv(t)
	e.fake.Rollout(cluster, "web", ecsfake.Rollout{Outcome: ecsfake.Complete, PlacementFailures: 4})
	if err := e.d.Deploy(context.Background(), spec()); err != nil {
		t.Fatalf("Deploy: %v\n%s", err, e.out)
	}
	e.wantRevision(t, "web", 2)
	e.wantOutput(t, "web: was unable to place a task")
}

// 4. Throttling or a dropped connection in the middle of the wait: the
// deployment goes on; so does entry.
func TestPollFailuresDuringTheWaitKeepPolling(t *testing.T) {
	for name, trouble := range map[string]func(f *ecsfake.Fake){
		"throttled": func(f *ecsfake.Fake) { f.ThrottleFor("DescribeServices", 300*time.Millisecond) },
		"dropped":   func(f *ecsfake.Fake) { f.DropFor("DescribeServices", 300*time.Millisecond) },
	} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t)
			e.standardRetryer(3)
			e.fake.Rollout(cluster, "web", ecsfake.Rollout{Outcome: ecsfake.Complete, Steps: 20})
			e.fake.OnCall("DescribeServices", 2, func() { trouble(e.fake) }) // the first poll
			s := spec()
			s.Migrate = nil
			if err := e.d.Deploy(context.Background(), s); err != nil {
				t.Fatalf("Deploy: %v\n%s", err, e.out)
			}
			e.wantRevision(t, "web", 2)
			e.wantOutput(t, "warning: web,job: DescribeServices: ", "; polling again")
			if n := e.fake.Calls()["UpdateService"]; n != 2 {
				t.Errorf("%d UpdateService calls, want 2 (no rollback)", n)
			}
		})
	}
}

func TestPollFailuresUntilTheTimeoutRollBack(t *testing.T) {
	e := newEnv(t)
	e.standardRetryer(3)
	e.fake.Rollout(cluster, "web", ecsfake.Rollout{Outcome: ecsfake.Stall})
	e.fake.OnCall("DescribeServices", 2, func() { e.fake.ThrottleFor("DescribeServices", time.Hour) })
	// The rollback (UpdateService calls 3 and 4) finds ECS answering again.
	e.fake.OnCall("UpdateService", 3, func() { e.fake.ThrottleFor("DescribeServices", 0) })
	s := spec()
	s.Migrate, s.Timeout = nil, 300*time.Millisecond
	failure(t, e.d.Deploy(context.Background(), s), "not stable after 300ms", "the last poll failed: web,job: DescribeServices: ThrottlingException", "restored web web:1, job job:1")
	e.wantRevision(t, "web", 1)
}

func TestMigrationPollsSurviveDroppedConnections(t *testing.T) {
	e := newEnv(t)
	e.standardRetryer(3)
	e.fake.OnCall("DescribeTasks", 1, func() { e.fake.DropFor("DescribeTasks", 200*time.Millisecond) })
	if err := e.d.Deploy(context.Background(), spec()); err != nil {
		t.Fatalf("Deploy: %v\n%s", err, e.out)
	}
	e.wantOutput(t, "warning: migrate: task ", "DescribeTasks: ", "migrate: container app exited 0")
}

// 4. Clean-up runs on its own context: a cancelled CI job still
// deregisters the revision its migration never got to use.
func TestCleanupAfterCancelDuringMigration(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	e.fake.SetTaskOutcome(ecsfake.TaskOutcome{Steps: 1000})
	// Cancelled once the migration runs (one that never started is
	// stopped instead: TestMigrationNotStartedWhenInterruptedIsStopped).
	e.fake.OnCall("DescribeTasks", 2, func() {
		testtool.Poll(testtool.Patience, func() bool {
			tasks := e.fake.Tasks()
			return len(tasks) == 1 && aws.ToString(tasks[0].LastStatus) == "RUNNING"
		})
		cancel()
	})
	failure(t, e.d.Deploy(ctx, spec()), "migrate: interrupted while waiting for task", "left running", "no service was changed")
	if got := e.fake.Revisions("web"); !slices.Equal(got, []int32{1}) {
		t.Errorf("web ACTIVE revisions %v, want web:2 deregistered despite the cancel\n%s", got, e.out)
	}
}

// 4. A rollback that cannot be made says so, with the fix, and leaves
// the revision the service still runs registered.
func TestRollbackThatCannotBeMade(t *testing.T) {
	e := newEnv(t)
	e.standardRetryer(3)
	e.d.CleanupTimeout = time.Second
	e.fake.Rollout(cluster, "web", ecsfake.Rollout{Outcome: ecsfake.Stall})
	e.fake.OnCall("UpdateService", 3, func() { e.fake.DropFor("UpdateService", time.Hour) })
	s := spec()
	s.Migrate, s.Timeout = nil, 200*time.Millisecond
	failure(t, e.d.Deploy(context.Background(), s), "ROLLBACK FAILED: web: UpdateService: ",
		"web is left on web:2: roll it back with `aws ecs update-service --cluster prod --service web --task-definition web:1`")
	if got := e.fake.Revisions("web"); !slices.Contains(got, 2) {
		t.Errorf("web ACTIVE revisions %v: web:2 is live and must stay registered", got)
	}
}

// 5. Preflight: nothing changes for a service entry cannot deploy.
func TestPreflightDeploymentController(t *testing.T) {
	e := newEnv(t)
	e.fake.AddService(ecsfake.ServiceSpec{Cluster: cluster, Name: "blue", TaskDefinition: "web:1", DesiredCount: 1,
		DeploymentController: types.DeploymentControllerTypeCodeDeploy})
	s := spec()
	s.Services = []string{"web", "blue"}
	err := e.d.Deploy(context.Background(), s)
	want := "blue: its deployment controller is CODE_DEPLOY; entry deploys services whose controller is ECS (rolling update) only; nothing was changed"
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v, want %q", err, want)
	}
	if n := e.fake.MutatingCalls(); n != 0 {
		t.Errorf("%d mutating calls before refusing: %v", n, e.fake.Calls())
	}
}

func TestPreflightMigrationContainer(t *testing.T) {
	e := newEnv(t)
	s := spec()
	s.MigrateContainer = "nope"
	err := e.d.Deploy(context.Background(), s)
	if err == nil || err.Error() != `migrate: family web has no container "nope" (--migrate-container)` {
		t.Fatalf("err = %v", err)
	}
	if n := e.fake.MutatingCalls(); n != 0 {
		t.Errorf("%d mutating calls before refusing", n)
	}
}

// 6. A revision that served is never called one that never served.
func TestDeregisteredRevisionThatServed(t *testing.T) {
	e := newEnv(t)
	e.fake.Rollout(cluster, "job", ecsfake.Rollout{Outcome: ecsfake.Stall})
	s := spec()
	s.Migrate, s.Timeout = nil, 500*time.Millisecond
	failure(t, e.d.Deploy(context.Background(), s), "not stable after 500ms", "restored web web:1, job job:1")
	if strings.Contains(e.out.String(), "web:2: deregistered (it never served)") {
		t.Errorf("web:2 served before the rollback, yet:\n%s", e.out)
	}
	e.wantOutput(t, "web:2: deregistered (it ran tasks, but its rollout failed)", "job:2: deregistered (it never served)")
}

// 2. The whole story: a CI job cancelled while waiting, then re-run.
func TestReRunAfterACancelledWait(t *testing.T) {
	e := newEnv(t)
	e.fake.Rollout(cluster, "web", ecsfake.Rollout{Outcome: ecsfake.Complete, Steps: 15})
	e.fake.Rollout(cluster, "job", ecsfake.Rollout{Outcome: ecsfake.Complete, Steps: 15})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	e.fake.OnCall("DescribeServices", 3, cancel) // the second poll
	failure(t, e.d.Deploy(ctx, spec()), "interrupted while waiting", "not rolled back (interrupted): web, job left on the new revision")
	if svc := e.fake.Service(cluster, "web"); len(svc.Deployments) != 2 {
		t.Fatalf("web should still be rolling out: %+v", svc.Deployments)
	}
	before := e.fake.Calls()
	e.out.Reset()
	if err := e.d.Deploy(context.Background(), spec()); err != nil {
		t.Fatalf("re-run: %v\n%s", err, e.out)
	}
	e.wantRevision(t, "web", 2)
	e.wantRevision(t, "job", 2)
	after := e.fake.Calls()
	for _, op := range []string{"UpdateService", "RunTask", "RegisterTaskDefinition"} {
		if after[op] != before[op] {
			t.Errorf("the re-run called %s %d times", op, after[op]-before[op])
		}
	}
	e.wantOutput(t, "web: a rollout of web:2 is already in progress (replacing web:1); adopting it", "job: a rollout of job:2 is already in progress", "deployed: web web:2, job job:2")
}

// 3. Without a circuit breaker, failedTasks growing is the deployment's
// own sign of failure: entry stops where the breaker would have.
func TestFailedTasksWithoutACircuitBreaker(t *testing.T) {
	e := newEnv(t)
	e.fake.Rollout(cluster, "job", ecsfake.Rollout{Outcome: ecsfake.CircuitBreaker})
	s := spec()
	s.Migrate = nil
	failure(t, e.d.Deploy(context.Background(), s), "job: ", " tasks of job:2 failed to start or stay healthy (the service has no deployment circuit breaker; entry stops at the threshold the breaker would use, 3)", "restored web web:1, job job:1")
	e.wantRevision(t, "job", 1)
}

// Throttling and dropped connections that outlast the SDK's retries on
// the calls that change things: a deploy that would succeed a little later
// succeeds, without an extra revision or a second migration.
func TestCallsThatFailLongerThanTheSDKRetries(t *testing.T) {
	const d = 150 * time.Millisecond
	for _, c := range []struct{ op, trouble string }{
		{"RegisterTaskDefinition", "ThrottleFor"},
		{"RegisterTaskDefinition", "DropFor"},
		{"RegisterTaskDefinition", "DropResponseFor"},
		{"RunTask", "ThrottleFor"},
		{"RunTask", "DropResponseFor"},
		{"UpdateService", "ThrottleFor"},
		{"UpdateService", "DropResponseFor"},
		{"DescribeTaskDefinition", "DropFor"},
		{"DescribeTaskDefinition", "ThrottleFor"},
	} {
		t.Run(c.op+" "+c.trouble, func(t *testing.T) {
			e := newEnv(t)
			e.standardRetryer(2)
			trouble := map[string]func(string, time.Duration){
				"ThrottleFor": e.fake.ThrottleFor, "DropFor": e.fake.DropFor, "DropResponseFor": e.fake.DropResponseFor,
			}[c.trouble]
			e.fake.OnCall(c.op, 1, func() { trouble(c.op, d) }) // from the first call on
			if err := e.d.Deploy(context.Background(), spec()); err != nil {
				t.Fatalf("Deploy: %v\n%s", err, e.out)
			}
			e.wantRevision(t, "web", 2)
			e.wantRevision(t, "job", 2)
			e.wantOutput(t, "; retrying")
			if c.op == "RegisterTaskDefinition" && c.trouble == "DropResponseFor" {
				e.wantOutput(t, "web: registered web:2 (app: repo/app:new); the answer to an earlier attempt was lost, so the revision it created is used")
			}
			for _, fam := range []string{"web", "job"} {
				if got := e.fake.Revisions(fam); !slices.Equal(got, []int32{1, 2}) {
					t.Errorf("%s ACTIVE revisions %v, want [1 2]", fam, got)
				}
			}
			if n := len(e.fake.RunTaskInputs()); n != 1 {
				t.Errorf("%d migrations started, want 1", n)
			}
		})
	}
}

func TestCallThatFailsUntilTheTimeout(t *testing.T) {
	e := newEnv(t)
	e.standardRetryer(2)
	e.fake.ThrottleFor("RunTask", time.Hour)
	s := spec()
	s.Timeout = 200 * time.Millisecond
	failure(t, e.d.Deploy(context.Background(), s), "migrate: web:2: RunTask: ThrottlingException: Rate exceeded", "still failing after 200ms", "no service was changed")
	if got := e.fake.Revisions("web"); !slices.Equal(got, []int32{1}) {
		t.Errorf("web ACTIVE revisions %v, want the unused one deregistered", got)
	}
}

// `entry deploy status` says whether a service is settled or mid-rollout.
func TestStatusSaysSettledOrMidRollout(t *testing.T) {
	e := newEnv(t)
	inFlight(e, "web", ecsfake.Rollout{Outcome: ecsfake.Stall})
	if err := e.d.Status(context.Background(), cluster, []string{"web", "job"}); err != nil {
		t.Fatal(err)
	}
	e.wantOutput(t, "web: web:2 desired 2", "\n  mid-rollout: web:2 (PRIMARY IN_PROGRESS) replacing web:1 (ACTIVE)\n",
		"job: job:1 desired 1", "\n  settled on job:1\n")
}
