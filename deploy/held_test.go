package deploy

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/entryhq/entry/deploy/ecsfake"
	"github.com/entryhq/entry/internal/testtool"
)

// States ECS holds for a while, which a deploy must read right (issue 24).

// ECS marks the rollout FAILED and, with the circuit breaker's rollback
// on, keeps the failed deployment PRIMARY for a while before its own
// rollback deployment appears: entry must not send a rollback beside it.
func TestFailedPrimaryHeldWhileECSRollsBack(t *testing.T) {
	e := newEnv(t)
	e.fake.Rollout(cluster, "web", ecsfake.Rollout{Outcome: ecsfake.CircuitBreaker, Steps: 2, RollbackAfter: 15})
	s := spec()
	s.Services, s.Migrate = []string{"web"}, nil
	failure(t, e.d.Deploy(context.Background(), s), "web: rollout of web:2 FAILED: ECS deployment circuit breaker",
		"(the circuit breaker rolls back to web:1)", "restored web web:1")
	if n := e.fake.Calls()["UpdateService"]; n != 1 {
		t.Errorf("%d UpdateService calls, want 1: ECS rolls back itself, entry must not send its own\n%s", n, e.out)
	}
	e.wantOutput(t, "web: ECS is already rolling back to web:1")
	e.wantRevision(t, "web", 1)
}

// A single deployment of the target, IN_PROGRESS while ECS bakes it, is
// not settled: a re-run adopts it rather than reporting nothing to do.
func TestBakingDeploymentIsNotNothingToDo(t *testing.T) {
	e := newEnv(t)
	inFlight(e, "web", ecsfake.Rollout{Outcome: ecsfake.Complete, Steps: 2, Bake: 40})
	testtool.Eventually(t, "web baking: one deployment, IN_PROGRESS, running == desired", func() bool {
		svc := e.fake.Service(cluster, "web")
		return len(svc.Deployments) == 1 && svc.Deployments[0].RolloutState == types.DeploymentRolloutStateInProgress &&
			svc.Deployments[0].RunningCount == svc.DesiredCount
	})
	s := spec()
	s.Services, s.Migrate = []string{"web"}, nil
	if err := e.d.Deploy(context.Background(), s); err != nil {
		t.Fatalf("Deploy: %v\n%s", err, e.out)
	}
	if strings.Contains(e.out.String(), "nothing to do") {
		t.Errorf("a baking rollout reported as nothing to do:\n%s", e.out)
	}
	e.wantOutput(t, "web: a rollout of web:2 is already in progress", "adopting it", "web: web:2 is serving", "deployed: web web:2")
	e.wantRevision(t, "web", 2)
}

// A service whose rollout of web:2 FAILED (circuit breaker without
// rollback) beside the COMPLETED deployment of that same web:2: a redeploy
// that fails has nothing older to go back to and must say so, not
// "restore" the revision that just failed.
func TestFailedRedeployOfTheRevisionItRan(t *testing.T) {
	e := newEnv(t)
	def := webDef()
	def.ContainerDefinitions[0].Image = aws.String("repo/app:new")
	arn := e.fake.Register(def)
	e.fake.AddService(ecsfake.ServiceSpec{Cluster: cluster, Name: "solo", TaskDefinition: arn, DesiredCount: 2,
		LaunchType: types.LaunchTypeFargate, NetworkConfiguration: netConf, CircuitBreaker: true})
	e.fake.StartRollout(cluster, "solo", arn, ecsfake.Rollout{Outcome: ecsfake.CircuitBreaker, Steps: 2})
	testtool.Eventually(t, "solo's forced rollout of web:2 FAILED", func() bool {
		return e.fake.Service(cluster, "solo").Deployments[0].RolloutState == types.DeploymentRolloutStateFailed
	})
	e.fake.Rollout(cluster, "solo", ecsfake.Rollout{Outcome: ecsfake.CircuitBreaker, Steps: 2})
	s := spec()
	s.Services, s.Migrate = []string{"solo"}, nil
	err := e.d.Deploy(context.Background(), s)
	failure(t, err, "solo: rollout of web:2 FAILED", "solo: nothing to roll back to (it ran web:2 before)")
	if strings.Contains(err.Error(), "restored") || strings.Contains(err.Error(), "rolls back to") {
		t.Errorf("error claims a rollback: %v", err)
	}
	if n := e.fake.Calls()["UpdateService"]; n != 1 {
		t.Errorf("%d UpdateService calls, want 1 (the redeploy; no rollback to the revision that failed)", n)
	}
	if got := e.fake.Revisions("web"); !slicesContains(got, 2) {
		t.Errorf("web:2 runs and must stay registered: %v", got)
	}
}

func slicesContains(s []int32, v int32) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
