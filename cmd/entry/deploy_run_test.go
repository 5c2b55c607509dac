package main

import (
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	evtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/entryhq/entry/deploy/ecsfake"
)

// sideFakes starts the EventBridge, Scheduler and CloudWatch Logs fakes
// and returns the environment that points the binary at them.
func sideFakes(t *testing.T) (*ecsfake.Events, *ecsfake.Scheduler, *ecsfake.Logs, []string) {
	t.Helper()
	ev, sc, lg := ecsfake.NewEvents(), ecsfake.NewScheduler(), ecsfake.NewLogs()
	t.Cleanup(ev.Close)
	t.Cleanup(sc.Close)
	t.Cleanup(lg.Close)
	t.Cleanup(func() {
		for _, v := range append(append(ev.Violations(), sc.Violations()...), lg.Violations()...) {
			t.Errorf("API model violation: %s", v)
		}
	})
	return ev, sc, lg, []string{"AWS_ENDPOINT_URL_EVENTBRIDGE=" + ev.URL, "AWS_ENDPOINT_URL_SCHEDULER=" + sc.URL, "AWS_ENDPOINT_URL_CLOUDWATCH_LOGS=" + lg.URL}
}

func TestDeployRunExitsWithTheContainersCode(t *testing.T) {
	f, env := deployFake(t)
	_, _, lg, side := sideFakes(t)
	env = append(env, side...)
	f.Register(&ecs.RegisterTaskDefinitionInput{
		Family: aws.String("web"), NetworkMode: types.NetworkModeAwsvpc,
		ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("app"), Image: aws.String("repo/app:new"),
			LogConfiguration: &types.LogConfiguration{LogDriver: types.LogDriverAwslogs, Options: map[string]string{"awslogs-group": "/ecs/web", "awslogs-stream-prefix": "web"}}}},
	})
	lg.Stream("/ecs/web", "web/app/*", 1, 1, "checking 12 accounts", "account 7: balance mismatch")
	f.SetTaskOutcome(ecsfake.TaskOutcome{ExitCodes: map[string]int32{"app": 4}})
	env = append(env, "ENTRY_DEPLOY_LOG_GRACE=200ms")
	r := runEntry(t, t.TempDir(), env, "deploy", "run", "--cluster", "prod", "--service", "web", "--revision", "new", "--", "bin/rails", "runner", "Audit.run")
	if r.code != 4 {
		t.Fatalf("exit %d, want 4\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	for _, w := range []string{"app | checking 12 accounts", "app | account 7: balance mismatch", "run: container app of task"} {
		if !strings.Contains(r.stdout, w) {
			t.Errorf("stdout lacks %q:\n%s", w, r.stdout)
		}
	}
	if run := f.RunTaskInputs(); len(run) != 1 || !strings.HasSuffix(aws.ToString(run[0].TaskDefinition), "web:2") {
		t.Errorf("RunTask: %+v", run)
	}
	r = runEntry(t, t.TempDir(), env, "deploy", "run", "--cluster", "prod", "--service", "web")
	if r.code != 2 || !strings.Contains(r.stderr, "entry: deploy run: no command") {
		t.Errorf("no command: exit %d, %q", r.code, r.stderr)
	}
}

func TestDeploySchedulesFromConfig(t *testing.T) {
	_, env := deployFake(t)
	ev, _, _, side := sideFakes(t)
	env = append(env, side...)
	target := evtypes.Target{Id: aws.String("t"), Arn: aws.String("arn:aws:ecs:us-east-1:123456789012:cluster/prod"),
		EcsParameters: &evtypes.EcsParameters{TaskDefinitionArn: aws.String("arn:aws:ecs:us-east-1:123456789012:task-definition/job:1"), TaskCount: aws.Int32(1)}}
	ev.AddRule("", "nightly", target)
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"entry.yml": "deploy:\n  cluster: prod\n  services: [web, job]\n  schedules: true\n"})
	r := runEntry(t, dir, env, "deploy", "--image", "repo/app:abc")
	if r.code != 0 {
		t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if got := aws.ToString(ev.Targets("", "nightly")[0].EcsParameters.TaskDefinitionArn); !strings.HasSuffix(got, "job:2") {
		t.Errorf("rule runs %s\n%s", got, r.stdout)
	}
	if !strings.Contains(r.stdout, "scheduled: rule default/nightly target t: job:1 -> job:2\n") || !strings.Contains(r.stdout, "scheduled tasks: 1 moved\n") {
		t.Errorf("stdout:\n%s", r.stdout)
	}
}

// ENTRY_DEPLOY_SCHEDULES and --dry-run: the plan lists the rule, nothing
// changes.
func TestDeploySchedulesDryRunFromEnvironment(t *testing.T) {
	f, env := deployFake(t)
	ev, _, _, side := sideFakes(t)
	env = append(env, side...)
	ev.AddRule("", "nightly", evtypes.Target{Id: aws.String("t"), Arn: aws.String("arn:aws:ecs:us-east-1:123456789012:cluster/prod"),
		EcsParameters: &evtypes.EcsParameters{TaskDefinitionArn: aws.String("arn:aws:ecs:us-east-1:123456789012:task-definition/web:1")}})
	r := runEntry(t, t.TempDir(), append(env, "ENTRY_DEPLOY_SCHEDULES=true"), "deploy", "--cluster", "prod", "--service", "web", "--image", "repo/app:abc", "--dry-run")
	if r.code != 0 || !strings.Contains(r.stdout, "plan: scheduled: rule default/nightly target t: web:1 -> new web revision") {
		t.Errorf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if f.MutatingCalls() != 0 || ev.Calls()["PutTargets"] != 0 {
		t.Errorf("a dry run changed something: %v", ev.Calls())
	}
}

// A task that fails to start: one "deploy run:" prefix, not two.
func TestDeployRunErrorPrefixOnce(t *testing.T) {
	f, env := deployFake(t)
	_, _, _, side := sideFakes(t)
	f.SetTaskOutcome(ecsfake.TaskOutcome{FailToStart: true, Reason: "CannotPullContainerError: pull access denied"})
	r := runEntry(t, t.TempDir(), append(env, side...), "deploy", "run", "--cluster", "prod", "--service", "web", "--", "true")
	if r.code != 1 || !strings.Contains(r.stderr, "entry: deploy run: task ") || strings.Contains(r.stderr, "run: run:") {
		t.Errorf("exit %d, stderr %q", r.code, r.stderr)
	}
}

// ecrFake starts an ECR fake and returns the environment that points the
// binary at it.
func ecrFake(t *testing.T) (*ecsfake.ECR, []string) {
	t.Helper()
	reg := ecsfake.NewECR()
	t.Cleanup(reg.Close)
	t.Cleanup(func() {
		for _, v := range reg.Violations() {
			t.Errorf("ECR API model violation: %s", v)
		}
	})
	return reg, []string{"AWS_ENDPOINT_URL_ECR=" + reg.URL}
}

// A typo'd tag of an ECR image fails the deploy before anything is
// registered, exit 1, naming the containers, the image and the fix;
// --skip-image-check (ENTRY_DEPLOY_SKIP_IMAGE_CHECK) skips the check.
func TestDeployChecksECRImages(t *testing.T) {
	f, env := deployFake(t)
	reg, ecrEnv := ecrFake(t)
	env = append(env, ecrEnv...)
	const repo = "123456789012.dkr.ecr.us-east-1.amazonaws.com/app"
	reg.Push(ecsfake.Region, ecsfake.Account, "app", "3f2c1e9", 0)
	args := []string{"deploy", "--cluster", "prod", "--service", "web", "--container", "app", "--image", repo + ":3f2c1e8"}
	r := runEntry(t, t.TempDir(), env, args...)
	want := "entry: deploy: image " + repo + ":3f2c1e8 of container app of web is not in Amazon ECR (ImageNotFoundException: The image with imageId {imageDigest:'null', imageTag:'3f2c1e8'} does not exist within the repository with name 'app' in the registry with id '123456789012'): push it, or check the tag; nothing was changed\n"
	if r.code != 1 || r.stderr != want {
		t.Errorf("exit %d, stderr\n%q\nwant\n%q", r.code, r.stderr, want)
	}
	if !strings.Contains(r.stdout, "image check: fluent/fluent-bit:2 (log-router of web): not checked (not in a private Amazon ECR registry)\n") {
		t.Errorf("stdout:\n%s", r.stdout)
	}
	if f.MutatingCalls() != 0 {
		t.Errorf("mutating calls: %v", f.Calls())
	}
	r = runEntry(t, t.TempDir(), append(env, "ENTRY_DEPLOY_SKIP_IMAGE_CHECK=true"), append(args, "--dry-run")...)
	if r.code != 0 || !strings.Contains(r.stdout, "image check: skipped (--skip-image-check)\n") || f.MutatingCalls() != 0 {
		t.Errorf("skipped: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	args[len(args)-1] = repo + ":3f2c1e9"
	r = runEntry(t, t.TempDir(), env, args...)
	if r.code != 0 || !strings.Contains(r.stdout, "image check: "+repo+":3f2c1e9 (app of web): in Amazon ECR\n") {
		t.Errorf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}
