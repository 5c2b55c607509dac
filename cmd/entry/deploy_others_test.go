package main

import (
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/entryhq/entry/deploy/ecsfake"
)

// otherRevision registers web:N with image, as another CI run would.
func otherRevision(f *ecsfake.Fake, image string) string {
	return f.Register(&ecs.RegisterTaskDefinitionInput{
		Family: aws.String("web"), NetworkMode: types.NetworkModeAwsvpc,
		ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("app"), Image: aws.String(image)}},
	})
}

// Another deploy replaces entry's deployment mid-wait: exit 3, no rollback.
func TestDeployCommandReplacedByAnotherDeploy(t *testing.T) {
	f, env := deployFake(t)
	f.Rollout("prod", "web", ecsfake.Rollout{Outcome: ecsfake.Complete, Steps: 50})
	other := otherRevision(f, "repo/app:other")
	f.OnCall("DescribeServices", 3, func() { f.StartRollout("prod", "web", other, ecsfake.Rollout{Outcome: ecsfake.Complete}) })
	r := runEntry(t, t.TempDir(), env, "deploy", "--cluster", "prod", "--service", "web", "--image", "repo/app:new")
	if r.code != 3 {
		t.Fatalf("exit %d, want 3\n%s%s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{"entry: deploy: deploy stopped: web: the deployment of web:3 was replaced by one entry did not make: web:2 (app: repo/app:other), deployment ecs-svc/",
		"; entry changed nothing more (no rollback; web:3 left registered)\n"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	if n := f.Calls()["UpdateService"]; n != 1 {
		t.Errorf("%d UpdateService calls, want 1 (no rollback over the other deploy)", n)
	}
}

// --other-deploys refuse (here from the environment) and an unknown value.
func TestDeployCommandOtherDeploys(t *testing.T) {
	f, env := deployFake(t)
	f.StartRollout("prod", "web", otherRevision(f, "repo/app:other"), ecsfake.Rollout{Outcome: ecsfake.Stall})
	dir := t.TempDir()
	r := runEntry(t, dir, append(env, "ENTRY_DEPLOY_OTHER_DEPLOYS=refuse"), "deploy", "--cluster", "prod", "--service", "web", "--image", "repo/app:new")
	if r.code != 3 || !strings.HasPrefix(r.stderr, "entry: deploy: another deployment is in flight (web: web:2 (PRIMARY IN_PROGRESS, created ") ||
		!strings.HasSuffix(r.stderr, ")); --other-deploys=refuse: nothing was changed\n") {
		t.Errorf("exit %d, stderr %q", r.code, r.stderr)
	}
	r = runEntry(t, dir, env, "deploy", "--cluster", "prod", "--service", "web", "--image", "repo/app:new", "--other-deploys", "queue")
	if want := "entry: deploy: --other-deploys \"queue\": give replace, refuse or wait (see 'entry deploy --help')\n"; r.code != 2 || r.stderr != want {
		t.Errorf("exit %d, stderr %q; want 2, %q", r.code, r.stderr, want)
	}
	if n := f.MutatingCalls(); n != 0 {
		t.Errorf("mutating calls: %v", f.Calls())
	}
}

// A service deleted while entry waits: exit 4, no rollback, no hint that
// cannot work.
func TestDeployCommandServiceDeleted(t *testing.T) {
	f, env := deployFake(t)
	f.Rollout("prod", "web", ecsfake.Rollout{Outcome: ecsfake.Complete, Steps: 50})
	f.OnCall("DescribeServices", 3, func() { f.DeleteService("prod", "web", time.Hour) })
	r := runEntry(t, t.TempDir(), env, "deploy", "--cluster", "prod", "--service", "web", "--image", "repo/app:new")
	want := "entry: deploy: deploy stopped: web: the service was deleted while entry waited (its status is DRAINING); entry changed nothing more (no rollback; web:2 left registered)\n"
	if r.code != 4 || r.stderr != want {
		t.Errorf("exit %d, stderr %q; want 4, %q\n%s", r.code, r.stderr, want, r.stdout)
	}
	if !strings.Contains(r.stdout, "web: the service is DRAINING: it was deleted\n") {
		t.Errorf("stdout:\n%s", r.stdout)
	}
}
