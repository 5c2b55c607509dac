package main

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/entryhq/entry/deploy/ecsfake"
)

// deployFake starts the ECS fake with services web (app + sidecar) and job
// in cluster prod, and returns it with the environment that points the
// binary at it.
func deployFake(t *testing.T) (*ecsfake.Fake, []string) {
	t.Helper()
	f := ecsfake.New()
	t.Cleanup(f.Close)
	failOnModelErrors(t, f)
	f.AddCluster("prod")
	web := f.Register(&ecs.RegisterTaskDefinitionInput{
		Family: aws.String("web"), NetworkMode: types.NetworkModeAwsvpc,
		ExecutionRoleArn: aws.String("arn:aws:iam::123456789012:role/exec"),
		EphemeralStorage: &types.EphemeralStorage{SizeInGiB: 40},
		ContainerDefinitions: []types.ContainerDefinition{
			{Name: aws.String("app"), Image: aws.String("repo/app:old")},
			{Name: aws.String("log-router"), Image: aws.String("fluent/fluent-bit:2"), Essential: aws.Bool(false)},
		},
	})
	job := f.Register(&ecs.RegisterTaskDefinitionInput{
		Family:               aws.String("job"),
		ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("app"), Image: aws.String("repo/app:old")}},
	})
	net := &types.NetworkConfiguration{AwsvpcConfiguration: &types.AwsVpcConfiguration{Subnets: []string{"subnet-1"}}}
	f.AddService(ecsfake.ServiceSpec{Cluster: "prod", Name: "web", TaskDefinition: web, DesiredCount: 2,
		LaunchType: types.LaunchTypeFargate, NetworkConfiguration: net, CircuitBreaker: true, Rollback: true})
	f.AddService(ecsfake.ServiceSpec{Cluster: "prod", Name: "job", TaskDefinition: job, DesiredCount: 1,
		LaunchType: types.LaunchTypeFargate, NetworkConfiguration: net})
	env := []string{
		"AWS_ENDPOINT_URL_ECS=" + f.URL, "AWS_REGION=" + ecsfake.Region,
		"AWS_ACCESS_KEY_ID=AKIDTEST", "AWS_SECRET_ACCESS_KEY=SECRETTEST", "AWS_EC2_METADATA_DISABLED=true",
		"AWS_CONFIG_FILE=/nonexistent", "AWS_SHARED_CREDENTIALS_FILE=/nonexistent",
		"ENTRY_DEPLOY_POLL_INTERVAL=10ms",
	}
	return f, env
}

// failOnModelErrors makes t fail, at its end, for every request the binary
// sent or answer it read that ECS's published API model rejects.
func failOnModelErrors(t interface {
	Cleanup(func())
	Errorf(string, ...any)
}, f *ecsfake.Fake) {
	t.Cleanup(func() {
		for _, e := range f.ModelErrors() {
			t.Errorf("ECS API model: %s", e)
		}
	})
}

// modelRecorder records what failOnModelErrors reports.
type modelRecorder struct {
	cleanups []func()
	errs     []string
}

func (r *modelRecorder) Cleanup(fn func()) { r.cleanups = append(r.cleanups, fn) }
func (r *modelRecorder) Errorf(format string, args ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

func TestDeployFakeFailsOnModelErrors(t *testing.T) {
	f := ecsfake.New()
	t.Cleanup(f.Close)
	r := &modelRecorder{}
	failOnModelErrors(r, f)
	req, err := http.NewRequest(http.MethodPost, f.URL, strings.NewReader(`{"cluster":"prod","services":["web"],"bogus":1}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Amz-Target", ecsfake.TargetPrefix+"DescribeServices")
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDTEST/20260101/us-east-1/ecs/aws4_request")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	for _, fn := range r.cleanups {
		fn()
	}
	if len(r.errs) == 0 || !strings.Contains(strings.Join(r.errs, "\n"), "bogus") {
		t.Errorf("a request with an unknown member was not reported: %q", r.errs)
	}
}

func revisionOf(t *testing.T, f *ecsfake.Fake, service string) (int32, string) {
	t.Helper()
	td, _, ok := f.TaskDefinition(aws.ToString(f.Service("prod", service).TaskDefinition))
	if !ok {
		t.Fatalf("%s runs an unknown revision", service)
	}
	return td.Revision, aws.ToString(td.ContainerDefinitions[0].Image)
}

func TestDeployCommandHappyPath(t *testing.T) {
	f, env := deployFake(t)
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"entry.yml": "deploy:\n  cluster: prod\n  services: [web, job]\n  migrate: bin/rails db:migrate\n"})
	r := runEntry(t, dir, env, "deploy", "--image", "repo/app:abc123")
	if r.code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	for _, svc := range []string{"web", "job"} {
		if rev, img := revisionOf(t, f, svc); rev != 2 || img != "repo/app:abc123" {
			t.Errorf("%s runs rev %d with %s", svc, rev, img)
		}
	}
	for _, want := range []string{"migrate: container app exited 0", "web: PRIMARY rev 2 desired 2", "deployed: web web:2, job job:2"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, r.stdout)
		}
	}
	if run := f.RunTaskInputs(); len(run) != 1 || strings.Join(run[0].Overrides.ContainerOverrides[0].Command, " ") != "bin/rails db:migrate" {
		t.Errorf("RunTask inputs: %+v", run)
	}
	// A re-run is a no-op.
	before := f.MutatingCalls()
	r = runEntry(t, dir, env, "deploy", "--image", "repo/app:abc123")
	if r.code != 0 || !strings.Contains(r.stdout, "nothing to do") || f.MutatingCalls() != before {
		t.Errorf("re-run: exit %d, %d mutating calls\n%s%s", r.code, f.MutatingCalls()-before, r.stdout, r.stderr)
	}
}

func TestDeployCommandJSONErbTaskDefinition(t *testing.T) {
	f, env := deployFake(t)
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"ecs/web.json.erb": `{
  "family": "web",
  "networkMode": "awsvpc",
  "executionRoleArn": "arn:aws:iam::123456789012:role/exec",
  "containerDefinitions": [
    {
      "name": "app",
      "image": "<%= ENV['DOCKER_REPO'] %>:web-b<%= ENV['CIRCLE_BUILD_NUM'] %>",
      "environment": [{"name": "RAILS_ENV", "value": "<%= ENV.fetch('RAILS_ENV', 'production') %>"}]
    }
  ]
}
`})
	args := []string{"deploy", "--cluster", "prod", "--service", "web", "--task-definition", "ecs/web.json.erb"}
	r := runEntry(t, dir, append(env, "DOCKER_REPO=repo/app", "CIRCLE_BUILD_NUM=77"), args...)
	if r.code != 0 {
		t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if rev, img := revisionOf(t, f, "web"); rev != 2 || img != "repo/app:web-b77" {
		t.Errorf("web runs rev %d with %s", rev, img)
	}

	// An unset variable stops the deploy before any call.
	calls := f.Total()
	r = runEntry(t, dir, append(env, "DOCKER_REPO=repo/app"), args...)
	if r.code != 2 || !strings.Contains(r.stderr, "entry: deploy: render ecs/web.json.erb:") || !strings.Contains(r.stderr, "CIRCLE_BUILD_NUM") {
		t.Errorf("exit %d, stderr %q", r.code, r.stderr)
	}
	if f.Total() != calls {
		t.Errorf("%d API calls after a render error", f.Total()-calls)
	}
}

func TestDeployCommandImageDefinitions(t *testing.T) {
	f, env := deployFake(t)
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"imagedefinitions.json": `[{"name":"app","imageUri":"repo/app:sha9"}]`})
	r := runEntry(t, dir, env, "deploy", "--cluster", "prod", "--service", "web,job", "--image-definitions", "imagedefinitions.json")
	if r.code != 0 {
		t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if _, img := revisionOf(t, f, "job"); img != "repo/app:sha9" {
		t.Errorf("job image %s", img)
	}
}

func TestDeployCommandDryRun(t *testing.T) {
	f, env := deployFake(t)
	r := runEntry(t, t.TempDir(), env, "deploy", "--cluster", "prod", "--service", "web", "--image", "repo/app:new", "--dry-run", "--migrate", "bin/rails db:migrate")
	if r.code != 0 {
		t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if f.MutatingCalls() != 0 {
		t.Errorf("dry run made mutating calls: %v", f.Calls())
	}
	for _, want := range []string{"-      \"image\": \"repo/app:old\",\n+      \"image\": \"repo/app:new\",", "dry run: nothing was changed"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, r.stdout)
		}
	}
}

func TestDeployCommandCircuitBreakerFails(t *testing.T) {
	f, env := deployFake(t)
	f.Rollout("prod", "web", ecsfake.Rollout{Outcome: ecsfake.CircuitBreaker})
	r := runEntry(t, t.TempDir(), env, "deploy", "--cluster", "prod", "--service", "web", "--service", "job", "--image", "repo/app:bad")
	if r.code != 1 {
		t.Fatalf("exit %d, want 1\n%s%s", r.code, r.stdout, r.stderr)
	}
	want := "entry: deploy: deploy failed: web: rollout of web:2 FAILED: ECS deployment circuit breaker: tasks failed to start. (the circuit breaker rolls back to web:1); web: 4 tasks of web:2 stopped: 4× Essential container in task exited (container app exited 1); restored web web:1, job job:1\n"
	if r.stderr != want {
		t.Errorf("stderr:\n%q\nwant\n%q", r.stderr, want)
	}
	for _, svc := range []string{"web", "job"} {
		if rev, _ := revisionOf(t, f, svc); rev != 1 {
			t.Errorf("%s left on rev %d", svc, rev)
		}
	}
}

func TestDeployCommandErrors(t *testing.T) {
	f, env := deployFake(t)
	dir := t.TempDir()
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"deploy", "--cluster", "prod", "--service", "web"}, 2, "entry: deploy: name the new image with exactly one of --image, --image-definitions or --task-definition (see 'entry deploy --help')\n"},
		{[]string{"deploy", "--cluster", "prod", "--service", "web", "--image", "a:1", "--migrate", "'open"}, 2, "entry: deploy: --migrate: unterminated single quote in \"'open\"\n"},
		{[]string{"deploy", "--cluster", "prod", "--service", "api", "--image", "a:1"}, 1, "entry: deploy: api: DescribeServices: service not found in cluster prod (MISSING)\n"},
		{[]string{"deploy", "--cluster", "prod", "--service", "web", "--image-definitions", "missing.json"}, 2, "entry: deploy: --image-definitions: open missing.json: no such file or directory\n"},
		{[]string{"deploy", "--cluster", "prod", "--service", "web", "--image", "repo"}, 2, "entry: deploy: --image \"repo\" has no tag or digest: give REPO:TAG (the commit SHA, say) or REPO@sha256:..., so that the deploy is of one exact image (see 'entry deploy --help')\n"},
		{[]string{"deploy", "--cluster", "prod", "--service", "web", "--image", "host:5000/app"}, 2, "entry: deploy: --image \"host:5000/app\" has no tag or digest: give REPO:TAG (the commit SHA, say) or REPO@sha256:..., so that the deploy is of one exact image (see 'entry deploy --help')\n"},
		{[]string{"deploy", "--cluster", "prod", "--service", "web", "--image", "a:1", "--region", "not a region!"}, 2, "entry: deploy: --region \"not a region!\" is not an AWS region name such as us-east-1 or ap-northeast-1\n"},
		{[]string{"deploy", "status", "--cluster", "prod", "--service", "web", "--region", "US_EAST_1"}, 2, "entry: deploy status: --region \"US_EAST_1\" is not an AWS region name such as us-east-1 or ap-northeast-1\n"},
		{[]string{"deploy", "status"}, 2, "entry: deploy status: name the --cluster and at least one --service (see 'entry deploy status --help')\n"},
	} {
		r := runEntry(t, dir, env, c.args...)
		if r.code != c.code || r.stderr != c.want {
			t.Errorf("%v: exit %d, stderr %q; want %d, %q", c.args, r.code, r.stderr, c.code, c.want)
		}
	}
	if f.MutatingCalls() != 0 {
		t.Errorf("mutating calls: %v", f.Calls())
	}
}

func TestDeployCommandStatusAndRollback(t *testing.T) {
	f, env := deployFake(t)
	dir := t.TempDir()
	env = append(env, "ENTRY_DEPLOY_CLUSTER=prod", "ENTRY_DEPLOY_SERVICE=web")
	if r := runEntry(t, dir, env, "deploy", "--image", "repo/app:new"); r.code != 0 {
		t.Fatalf("deploy: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r := runEntry(t, dir, env, "deploy", "status")
	if r.code != 0 || !strings.Contains(r.stdout, "web: web:2 desired 2 running 2 pending 0\n  settled on web:2\n") || !strings.Contains(r.stdout, "container app: repo/app:new") {
		t.Errorf("status: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = runEntry(t, dir, env, "deploy", "rollback")
	if r.code != 0 || !strings.Contains(r.stdout, "rolled back: web web:1") {
		t.Errorf("rollback: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if rev, img := revisionOf(t, f, "web"); rev != 1 || img != "repo/app:old" {
		t.Errorf("web runs rev %d with %s after rollback", rev, img)
	}
}

func TestDeployHelpListsEnvironment(t *testing.T) {
	r := runEntry(t, t.TempDir(), nil, "deploy", "--help")
	for _, want := range []string{`entry deploy --cluster prod --service web`, `--no-rollback\s+\$ENTRY_DEPLOY_NO_ROLLBACK`, `--config\s+\$ENTRY_CONFIG`} {
		if r.code != 0 || !regexp.MustCompile(want).MatchString(r.stdout) {
			t.Errorf("help lacks %q (exit %d):\n%s", want, r.code, r.stdout)
		}
	}
}

// A missing region is a configuration error: exit 2, before any call.
func TestDeployNoRegion(t *testing.T) {
	dir := t.TempDir()
	env := []string{"AWS_EC2_METADATA_DISABLED=true", "AWS_CONFIG_FILE=" + dir + "/none", "AWS_SHARED_CREDENTIALS_FILE=" + dir + "/none",
		"AWS_REGION=", "AWS_DEFAULT_REGION=", "AWS_ENDPOINT_URL_ECS=http://127.0.0.1:1"}
	for verb, args := range map[string][]string{
		"deploy":          {"deploy", "--cluster", "prod", "--service", "web", "--image", "repo:abc"},
		"deploy rollback": {"deploy", "rollback", "--cluster", "prod", "--service", "web"},
	} {
		r := runEntry(t, dir, env, args...)
		want := "entry: " + verb + ": no AWS region (set AWS_REGION, a profile region, or --region)\n"
		if r.code != 2 || r.stderr != want {
			t.Errorf("%v: exit %d, stderr %q; want 2, %q", args, r.code, r.stderr, want)
		}
	}
}

// With no credentials anywhere, the user is told where credentials come
// from, in one line, and the SDK's own warnings stay off stderr.
func TestDeployNoCredentials(t *testing.T) {
	dir := t.TempDir()
	env := []string{"AWS_EC2_METADATA_DISABLED=true", "AWS_CONFIG_FILE=" + dir + "/none", "AWS_SHARED_CREDENTIALS_FILE=" + dir + "/none", "AWS_REGION=us-east-1",
		"AWS_ENDPOINT_URL_ECS=http://127.0.0.1:1"} // never reached: signing fails first
	r := runEntry(t, dir, env, "deploy", "--cluster", "prod", "--service", "web", "--image", "repo:abc")
	want := "entry: deploy: web: DescribeServices: no AWS credentials found (give the task or the CI job an IAM role, or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE)\n"
	if r.code != 1 || r.stderr != want {
		t.Errorf("exit %d, stderr %q; want 1, %q", r.code, r.stderr, want)
	}
}
