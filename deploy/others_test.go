package deploy

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/entryhq/entry/deploy/ecsfake"
	"github.com/entryhq/entry/internal/testtool"
)

// Issue 20 §1, §2: others acting on the same services while entry waits.

// other is a second deploy (another CI run) against the same ECS.
func (e *env) other() (*Deployer, *testtool.SyncBuffer) {
	out := &testtool.SyncBuffer{}
	d := &Deployer{Client: newClient(e.fake.URL, 5), Out: out, PollInterval: 5 * time.Millisecond, PollMax: 20 * time.Millisecond, ProgressEvery: time.Nanosecond}
	return d, out
}

// Two CI runs deploy different images to web at once. The later one wins;
// the earlier one stops without touching the service, says who replaced
// its deployment, and its error says so (exit 3 in the CLI).
func TestTwoDeploysRacingOnOneService(t *testing.T) {
	e := newEnv(t)
	// A's rollout is slow; B's completes.
	e.fake.Rollout(cluster, "web", ecsfake.Rollout{Outcome: ecsfake.Complete, Steps: 40}, ecsfake.Rollout{Outcome: ecsfake.Complete, Steps: 4})
	b, bout := e.other()
	bDone := make(chan error, 1)
	// B starts once A is waiting: at A's first poll.
	e.fake.OnCall("DescribeServices", 2, func() {
		go func() {
			s := spec()
			s.Services, s.Migrate, s.Image = []string{"web"}, nil, "repo/app:b"
			bDone <- b.Deploy(context.Background(), s)
		}()
	})
	s := spec()
	s.Services, s.Migrate, s.Image = []string{"web"}, nil, "repo/app:a"
	err := e.d.Deploy(context.Background(), s)
	var r *Replaced
	if !errors.As(err, &r) {
		t.Fatalf("A: err = %v (%T), want a Replaced\n%s", err, err, e.out)
	}
	failure(t, err, "deploy stopped: web: the deployment of web:2 was replaced by one entry did not make: web:3 (app: repo/app:b, log-router: fluent/fluent-bit:2), deployment ecs-svc/",
		" created at 20", "entry changed nothing more (no rollback; web:2 left registered)")
	select {
	case berr := <-bDone:
		if berr != nil {
			t.Fatalf("B: %v\n%s", berr, bout)
		}
	case <-time.After(testtool.Patience):
		t.Fatal("B did not finish")
	}
	if !strings.Contains(bout.String(), "warning: another deployment is in flight (web: web:2 (PRIMARY IN_PROGRESS, created ") {
		t.Errorf("B did not say it deploys over A's rollout:\n%s", bout)
	}
	e.wantRevision(t, "web", 3)
	if n := e.fake.Calls()["UpdateService"]; n != 2 {
		t.Errorf("%d UpdateService calls, want 2 (A's and B's deploys, no rollback)", n)
	}
}

// A rollback returns only to a revision that served settled before this
// run, never to another deploy's revision still in flight, however many
// tasks it runs.
func TestRollbackNeverToAnotherDeploysInFlightRevision(t *testing.T) {
	e := newEnv(t)
	// Deploy A (web:2) got its tasks running, then deploy C (web:3) began.
	defA, defC := webDef(), webDef()
	defA.ContainerDefinitions[0].Image = aws.String("repo/app:a")
	defC.ContainerDefinitions[0].Image = aws.String("repo/app:c")
	a, c := e.fake.Register(defA), e.fake.Register(defC)
	e.fake.StartRollout(cluster, "web", a, ecsfake.Rollout{Outcome: ecsfake.Complete, Steps: 1000})
	testtool.Eventually(t, "A's web:2 running its tasks", func() bool { return e.fake.Service(cluster, "web").Deployments[0].RunningCount == 2 })
	e.fake.StartRollout(cluster, "web", c, ecsfake.Rollout{Outcome: ecsfake.Stall})
	e.fake.Rollout(cluster, "web", ecsfake.Rollout{Outcome: ecsfake.Stall})
	s := spec()
	s.Services, s.Migrate, s.Timeout = []string{"web"}, nil, 300*time.Millisecond
	failure(t, e.d.Deploy(context.Background(), s), "not stable after 300ms", "restored web web:1")
	e.wantOutput(t, "web: rolling back to web:1")
	svc := e.fake.Service(cluster, "web")
	if got := aws.ToString(svc.Deployments[0].TaskDefinition); !strings.HasSuffix(got, ":1") {
		t.Errorf("web's PRIMARY runs %s, want web:1 (the last settled revision)", got)
	}
}

// --other-deploys=refuse: nothing changes while another deployment is in
// flight.
func TestRefuseWhileAnotherDeployIsInFlight(t *testing.T) {
	e := newEnv(t)
	def := webDef()
	def.ContainerDefinitions[0].Image = aws.String("repo/app:other")
	e.fake.StartRollout(cluster, "web", e.fake.Register(def), ecsfake.Rollout{Outcome: ecsfake.Stall})
	s := spec()
	s.OtherDeploys = OthersRefuse
	err := e.d.Deploy(context.Background(), s)
	var busy *Busy
	if !errors.As(err, &busy) {
		t.Fatalf("err = %v (%T), want a Busy", err, err)
	}
	if want := "another deployment is in flight (web: web:2 (PRIMARY IN_PROGRESS, created "; !strings.HasPrefix(err.Error(), want) ||
		!strings.HasSuffix(err.Error(), ")); --other-deploys=refuse: nothing was changed") {
		t.Errorf("err = %q", err)
	}
	if n := e.fake.MutatingCalls(); n != 0 {
		t.Errorf("%d mutating calls: %v", n, e.fake.Calls())
	}
}

// --other-deploys=wait: entry waits for the other rollout to settle, then
// deploys from what it settled on.
func TestWaitForAnotherDeployToFinish(t *testing.T) {
	e := newEnv(t)
	def := webDef()
	def.ContainerDefinitions[0].Image = aws.String("repo/app:other")
	e.fake.StartRollout(cluster, "web", e.fake.Register(def), ecsfake.Rollout{Outcome: ecsfake.Complete, Steps: 10})
	s := spec()
	s.Services, s.Migrate, s.OtherDeploys = []string{"web"}, nil, OthersWait
	if err := e.d.Deploy(context.Background(), s); err != nil {
		t.Fatalf("Deploy: %v\n%s", err, e.out)
	}
	e.wantOutput(t, "another deployment is in flight (web: web:2 (PRIMARY IN_PROGRESS", "waiting up to 5s for it to finish (--other-deploys=wait)", "web: updating web:2 -> web:3")
	e.wantRevision(t, "web", 3)
	if strings.Contains(e.out.String(), "warning: another deployment") {
		t.Errorf("deployed over the other rollout:\n%s", e.out)
	}
}

func TestWaitForAnotherDeployUntilTheTimeout(t *testing.T) {
	e := newEnv(t)
	def := webDef()
	def.ContainerDefinitions[0].Image = aws.String("repo/app:other")
	e.fake.StartRollout(cluster, "web", e.fake.Register(def), ecsfake.Rollout{Outcome: ecsfake.Stall})
	s := spec()
	s.OtherDeploys, s.Timeout = OthersWait, 200*time.Millisecond
	err := e.d.Deploy(context.Background(), s)
	var busy *Busy
	if !errors.As(err, &busy) || !strings.HasPrefix(err.Error(), "another deployment is still in flight after 200ms (web: web:2 (PRIMARY IN_PROGRESS") ||
		!strings.HasSuffix(err.Error(), "; nothing was changed") {
		t.Fatalf("err = %v", err)
	}
	if n := e.fake.MutatingCalls(); n != 0 {
		t.Errorf("%d mutating calls: %v", n, e.fake.Calls())
	}
}

// §2: a service deleted while entry waits (DRAINING, then INACTIVE): say
// so, change nothing, no rollback.
func TestServiceDeletedMidWait(t *testing.T) {
	for _, c := range []struct {
		name   string
		after  time.Duration // from DRAINING to INACTIVE
		status string
	}{
		{"draining", time.Hour, "DRAINING"},
		{"inactive", 0, "INACTIVE"},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			e.fake.Rollout(cluster, "web", ecsfake.Rollout{Outcome: ecsfake.Complete, Steps: 40})
			e.fake.OnCall("DescribeServices", 3, func() { e.fake.DeleteService(cluster, "web", c.after) })
			s := spec()
			s.Migrate = nil
			err := e.d.Deploy(context.Background(), s)
			var g *ServiceGone
			if !errors.As(err, &g) {
				t.Fatalf("err = %v (%T), want a ServiceGone\n%s", err, err, e.out)
			}
			failure(t, err, "deploy stopped: web: the service was deleted while entry waited (its status is "+c.status+"); entry changed nothing more (no rollback; web:2, job:2 left registered); left rolling out as they were: job job:2")
			if strings.Contains(err.Error(), "ROLLBACK") || strings.Contains(err.Error(), "update-service") {
				t.Errorf("a hint that cannot work: %v", err)
			}
			if n := e.fake.Calls()["UpdateService"]; n != 2 {
				t.Errorf("%d UpdateService calls, want 2 (the deploy's; no rollback)", n)
			}
			if got := e.fake.Revisions("web"); !slices.Contains(got, 2) {
				t.Errorf("web ACTIVE revisions %v", got)
			}
		})
	}
}
