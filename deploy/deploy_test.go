package deploy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/entryhq/entry/deploy/ecsfake"
)

const cluster = "prod"

// env is a fake ECS with two services, web (app + log-router sidecar,
// Fargate, circuit breaker with rollback) and job (app only), and a
// Deployer reaching it through the real SDK.
type env struct {
	fake *ecsfake.Fake
	d    *Deployer
	out  *bytes.Buffer
}

func newClient(url string, attempts int) *ecs.Client {
	return ecs.New(ecs.Options{
		Region:       ecsfake.Region,
		BaseEndpoint: aws.String(url),
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDTEST", "SECRETTEST", ""),
		Retryer:      NewRetryer(attempts, 5*time.Millisecond)(),
	})
}

var netConf = &types.NetworkConfiguration{AwsvpcConfiguration: &types.AwsVpcConfiguration{
	Subnets: []string{"subnet-1", "subnet-2"}, SecurityGroups: []string{"sg-1"}, AssignPublicIp: types.AssignPublicIpDisabled,
}}

func webDef() *ecs.RegisterTaskDefinitionInput {
	return &ecs.RegisterTaskDefinitionInput{
		Family:                  aws.String("web"),
		NetworkMode:             types.NetworkModeAwsvpc,
		RequiresCompatibilities: []types.Compatibility{types.CompatibilityFargate},
		Cpu:                     aws.String("512"),
		Memory:                  aws.String("1024"),
		ExecutionRoleArn:        aws.String("arn:aws:iam::123456789012:role/exec"),
		ContainerDefinitions: []types.ContainerDefinition{
			{Name: aws.String("app"), Image: aws.String("repo/app:old"), Essential: aws.Bool(true), Command: []string{"puma"}},
			{Name: aws.String("log-router"), Image: aws.String("fluent/fluent-bit:2"), Essential: aws.Bool(false)},
		},
		Tags: []types.Tag{{Key: aws.String("team"), Value: aws.String("core")}},
	}
}

func jobDef() *ecs.RegisterTaskDefinitionInput {
	return &ecs.RegisterTaskDefinitionInput{
		Family:      aws.String("job"),
		NetworkMode: types.NetworkModeAwsvpc,
		ContainerDefinitions: []types.ContainerDefinition{
			{Name: aws.String("app"), Image: aws.String("repo/app:old"), Command: []string{"sidekiq"}},
		},
	}
}

func newEnv(t testing.TB) *env {
	t.Helper()
	f := ecsfake.New()
	t.Cleanup(f.Close)
	// Every request entry sent and every answer it read must be what ECS
	// accepts and sends.
	t.Cleanup(func() {
		for _, e := range f.ModelErrors() {
			t.Errorf("ECS API model: %s", e)
		}
	})
	f.AddCluster(cluster)
	web := f.Register(webDef())
	job := f.Register(jobDef())
	f.AddService(ecsfake.ServiceSpec{Cluster: cluster, Name: "web", TaskDefinition: web, DesiredCount: 2,
		LaunchType: types.LaunchTypeFargate, NetworkConfiguration: netConf, CircuitBreaker: true, Rollback: true})
	f.AddService(ecsfake.ServiceSpec{Cluster: cluster, Name: "job", TaskDefinition: job, DesiredCount: 1,
		LaunchType: types.LaunchTypeFargate, NetworkConfiguration: netConf})
	out := &bytes.Buffer{}
	d := &Deployer{Client: newClient(f.URL, 5), Out: out, PollInterval: 5 * time.Millisecond, PollMax: 20 * time.Millisecond, ProgressEvery: time.Nanosecond}
	return &env{fake: f, d: d, out: out}
}

func spec() Spec {
	return Spec{Cluster: cluster, Services: []string{"web", "job"}, Image: "repo/app:new", Migrate: []string{"bin/rails", "db:migrate"}, Timeout: 5 * time.Second}
}

func (e *env) taskDef(t testing.TB, service string) types.TaskDefinition {
	t.Helper()
	td, _, ok := e.fake.TaskDefinition(aws.ToString(e.fake.Service(cluster, service).TaskDefinition))
	if !ok {
		t.Fatalf("%s runs an unknown task definition", service)
	}
	return td
}

func (e *env) wantRevision(t *testing.T, service string, rev int32) {
	t.Helper()
	svc := e.fake.Service(cluster, service)
	if got := e.taskDef(t, service).Revision; got != rev {
		t.Errorf("%s runs revision %d, want %d\noutput:\n%s", service, got, rev, e.out)
	}
	if len(svc.Deployments) != 1 || svc.Deployments[0].RolloutState != types.DeploymentRolloutStateCompleted {
		t.Errorf("%s is not steady: %+v", service, svc.Deployments)
	}
}

func image(td types.TaskDefinition, container string) string {
	for _, c := range td.ContainerDefinitions {
		if aws.ToString(c.Name) == container {
			return aws.ToString(c.Image)
		}
	}
	return ""
}

func failure(t *testing.T, err error, want ...string) {
	t.Helper()
	var f *Failure
	if !errors.As(err, &f) {
		t.Fatalf("err = %v (%T), want a *Failure", err, err)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not say %q", err, w)
		}
	}
}

func TestHappyPathTwoServicesWithMigration(t *testing.T) {
	e := newEnv(t)
	if err := e.d.Deploy(context.Background(), spec()); err != nil {
		t.Fatalf("Deploy: %v\n%s", err, e.out)
	}
	e.wantRevision(t, "web", 2)
	e.wantRevision(t, "job", 2)
	web := e.taskDef(t, "web")
	if image(web, "app") != "repo/app:new" || image(web, "log-router") != "fluent/fluent-bit:2" {
		t.Errorf("web images: app %s, log-router %s; only app should change", image(web, "app"), image(web, "log-router"))
	}
	if image(e.taskDef(t, "job"), "app") != "repo/app:new" {
		t.Errorf("job image not updated")
	}
	runs := e.fake.RunTaskInputs()
	if len(runs) != 1 {
		t.Fatalf("%d RunTask calls, want 1", len(runs))
	}
	run := runs[0]
	if shortARN(aws.ToString(run.TaskDefinition)) != "web:2" || run.LaunchType != types.LaunchTypeFargate ||
		!reflect.DeepEqual(run.NetworkConfiguration, netConf) || aws.ToString(run.ClientToken) == "" {
		t.Errorf("RunTask input: %+v", run)
	}
	ov := run.Overrides.ContainerOverrides
	if len(ov) != 1 || aws.ToString(ov[0].Name) != "app" || !slices.Equal(ov[0].Command, []string{"bin/rails", "db:migrate"}) {
		t.Errorf("container overrides: %+v", ov)
	}
	for _, want := range []string{
		"web: registered web:2 (app: repo/app:new)",
		"migrate: container app exited 0",
		"web: PRIMARY rev 2 desired 2 pending ",
		"web: has reached a steady state.",
		"deployed: web web:2, job job:2",
	} {
		if !strings.Contains(e.out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, e.out)
		}
	}
	// The API call budget of a two-service deploy with migration: the
	// polls depend on time (BenchmarkDeployTwoServicesWithMigration
	// measures them), every other call is made once per family or service.
	got := e.fake.Calls()
	polls := map[string]int{"DescribeServices": got["DescribeServices"], "DescribeTasks": got["DescribeTasks"]}
	want := map[string]int{"DescribeServices": polls["DescribeServices"], "DescribeTaskDefinition": 2, "RegisterTaskDefinition": 2,
		"RunTask": 1, "DescribeTasks": polls["DescribeTasks"], "UpdateService": 2}
	if !reflect.DeepEqual(got, want) || polls["DescribeServices"] < 2 || polls["DescribeTasks"] < 1 {
		t.Errorf("calls = %v, want %v with at least 2 DescribeServices and 1 DescribeTasks", got, want)
	}
}

func TestNoOpReRun(t *testing.T) {
	e := newEnv(t)
	if err := e.d.Deploy(context.Background(), spec()); err != nil {
		t.Fatal(err)
	}
	before := e.fake.MutatingCalls()
	e.out.Reset()
	if err := e.d.Deploy(context.Background(), spec()); err != nil {
		t.Fatal(err)
	}
	if n := e.fake.MutatingCalls() - before; n != 0 {
		t.Errorf("re-run made %d mutating calls, want 0: %v", n, e.fake.Calls())
	}
	if want := "every service already runs these images (web web:2, job job:2); nothing to do"; !strings.Contains(e.out.String(), want) {
		t.Errorf("output %q lacks %q", e.out, want)
	}
}

func TestMigrationExit1LeavesServicesUntouched(t *testing.T) {
	e := newEnv(t)
	e.fake.SetTaskOutcome(ecsfake.TaskOutcome{ExitCodes: map[string]int32{"app": 1}})
	err := e.d.Deploy(context.Background(), spec())
	failure(t, err, "migrate: container app of task", "exited 1", "no service was changed")
	if n := e.fake.Calls()["UpdateService"]; n != 0 {
		t.Errorf("%d UpdateService calls after a failed migration", n)
	}
	e.wantRevision(t, "web", 1)
	e.wantRevision(t, "job", 1)
	if got := e.fake.Revisions("web"); !slices.Equal(got, []int32{1}) {
		t.Errorf("web ACTIVE revisions %v: the never-served revision should be deregistered", got)
	}
}

func TestMigrationTaskFailedToStart(t *testing.T) {
	e := newEnv(t)
	e.fake.SetTaskOutcome(ecsfake.TaskOutcome{FailToStart: true, Reason: "CannotPullContainerError: pull image manifest has been retried 5 time(s)"})
	err := e.d.Deploy(context.Background(), spec())
	failure(t, err, "failed to start (TaskFailedToStart): CannotPullContainerError")
	if e.fake.Calls()["UpdateService"] != 0 {
		t.Error("services updated after the migration failed to start")
	}
}

func TestRunTaskFailures(t *testing.T) {
	e := newEnv(t)
	e.fake.FailRunTask("RESOURCE:MEMORY")
	err := e.d.Deploy(context.Background(), spec())
	failure(t, err, "migrate: RunTask of web:2: RESOURCE:MEMORY")
	if e.fake.Calls()["UpdateService"] != 0 {
		t.Error("services updated after RunTask failed")
	}
}

func TestMigrationReadsTheAppContainerNotTheSidecar(t *testing.T) {
	t.Run("sidecar fails, app succeeds", func(t *testing.T) {
		e := newEnv(t)
		e.fake.SetTaskOutcome(ecsfake.TaskOutcome{ExitCodes: map[string]int32{"app": 0, "log-router": 137}})
		if err := e.d.Deploy(context.Background(), spec()); err != nil {
			t.Fatalf("Deploy: %v", err)
		}
		e.wantRevision(t, "web", 2)
	})
	t.Run("app fails, sidecar succeeds", func(t *testing.T) {
		e := newEnv(t)
		e.fake.SetTaskOutcome(ecsfake.TaskOutcome{ExitCodes: map[string]int32{"app": 2, "log-router": 0}})
		failure(t, e.d.Deploy(context.Background(), spec()), "container app of task", "exited 2")
	})
	t.Run("named container", func(t *testing.T) {
		e := newEnv(t)
		e.fake.SetTaskOutcome(ecsfake.TaskOutcome{ExitCodes: map[string]int32{"app": 0, "log-router": 3}})
		s := spec()
		s.MigrateContainer = "log-router"
		failure(t, e.d.Deploy(context.Background(), s), "container log-router of task", "exited 3")
	})
}

func TestCircuitBreakerRollbackIsAFailure(t *testing.T) {
	e := newEnv(t)
	e.fake.Rollout(cluster, "web", ecsfake.Rollout{Outcome: ecsfake.CircuitBreaker, Steps: 2})
	err := e.d.Deploy(context.Background(), spec())
	failure(t, err, "web: rollout of web:2 FAILED: ECS deployment circuit breaker", "restored web web:1, job job:1")
	e.wantRevision(t, "web", 1)
	e.wantRevision(t, "job", 1)
	// ECS rolled web back itself; entry rolled back only job.
	if n := e.fake.Calls()["UpdateService"]; n != 3 {
		t.Errorf("UpdateService calls = %d, want 3 (2 deploys, job's rollback)", n)
	}
	// Acting on FAILED takes no further poll: the next call is the rollback.
	after, ok := e.fake.CallsAfterFailed()
	if !ok || len(after) == 0 || after[0] != "UpdateService" {
		t.Errorf("calls after FAILED was reported: %v, want the rollback UpdateService first", after)
	}
	for _, want := range []string{"web: ECS is already rolling back to web:1", "job: rolling back to job:1"} {
		if !strings.Contains(e.out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, e.out)
		}
	}
	if got := e.fake.Revisions("web"); !slices.Equal(got, []int32{1}) {
		t.Errorf("web ACTIVE revisions %v, want the failed one deregistered", got)
	}
}

func TestFailedExitsInTheSamePoll(t *testing.T) {
	e := newEnv(t)
	e.fake.Rollout(cluster, "web", ecsfake.Rollout{Outcome: ecsfake.CircuitBreaker, Steps: 2})
	s := spec()
	s.NoRollback = true
	failure(t, e.d.Deploy(context.Background(), s), "web: rollout of web:2 FAILED", "not rolled back (--no-rollback)")
	after, ok := e.fake.CallsAfterFailed()
	if !ok {
		t.Fatal("the fake never reported FAILED")
	}
	// No further poll: only reading why the deployment's tasks stopped.
	if !slices.Equal(after, []string{"ListTasks", "DescribeTasks"}) {
		t.Errorf("calls after ECS reported FAILED: %v, want only ListTasks and DescribeTasks (exit at the poll that saw it)", after)
	}
}

func TestTimeoutRollsBack(t *testing.T) {
	e := newEnv(t)
	e.fake.Rollout(cluster, "web", ecsfake.Rollout{Outcome: ecsfake.Stall})
	s := spec()
	s.Migrate = nil
	s.Timeout = 300 * time.Millisecond
	err := e.d.Deploy(context.Background(), s)
	failure(t, err, "not stable after 300ms", "web: PRIMARY rev 2 desired 2 pending 2 running 0 IN_PROGRESS", "restored web web:1, job job:1")
	e.wantRevision(t, "web", 1)
	e.wantRevision(t, "job", 1)
}

func TestUnableToPlaceForLongerThanTheGraceFails(t *testing.T) {
	e := newEnv(t)
	e.d.PlacementGrace = 200 * time.Millisecond
	e.fake.Rollout(cluster, "web", ecsfake.Rollout{Outcome: ecsfake.Unplaceable})
	s := spec()
	s.Migrate = nil
	failure(t, e.d.Deploy(context.Background(), s), "web: ECS has been unable to place tasks of web:2 for 200ms: was unable to place a task", "restored web web:1")
	e.wantRevision(t, "web", 1)
}

func TestThrottlingRecovered(t *testing.T) {
	e := newEnv(t)
	e.fake.Throttle("DescribeServices", 2)
	e.fake.Throttle("RegisterTaskDefinition", 2)
	if err := e.d.Deploy(context.Background(), spec()); err != nil {
		t.Fatalf("Deploy: %v", err)
	}
	e.wantRevision(t, "web", 2)
	if got := e.fake.Calls()["RegisterTaskDefinition"]; got != 4 {
		t.Errorf("RegisterTaskDefinition calls = %d, want 2 + 2 retried", got)
	}
}

func TestThrottlingExhausted(t *testing.T) {
	e := newEnv(t)
	e.standardRetryer(5)
	e.fake.Throttle("DescribeServices", 100)
	err := e.d.Deploy(context.Background(), spec())
	want := "web,job: DescribeServices: ThrottlingException: Rate exceeded (gave up after 5 attempts)"
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v, want %q", err, want)
	}
	if e.fake.MutatingCalls() != 0 {
		t.Error("mutating calls after a failed describe")
	}
}

func TestServiceNotFound(t *testing.T) {
	e := newEnv(t)
	s := spec()
	s.Services = []string{"web", "nope"}
	err := e.d.Deploy(context.Background(), s)
	if err == nil || err.Error() != "nope: DescribeServices: service not found in cluster prod (MISSING)" {
		t.Fatalf("err = %v", err)
	}
	s.Cluster = "staging"
	err = e.d.Deploy(context.Background(), s)
	if err == nil || err.Error() != "cluster staging not found (web,nope: DescribeServices: ClusterNotFoundException: Cluster not found.); check --cluster and the region; nothing was changed" {
		t.Fatalf("err = %v", err)
	}
	if e.fake.MutatingCalls() != 0 {
		t.Error("mutating calls for a missing service")
	}
}

func TestImageDefinitions(t *testing.T) {
	e := newEnv(t)
	defs, err := ParseImageDefinitions("imagedefinitions.json", []byte(`[{"name":"app","imageUri":"repo/app:sha1"},{"name":"log-router","imageUri":"fluent/fluent-bit:3"}]`))
	if err != nil {
		t.Fatal(err)
	}
	s := spec()
	s.Image, s.ImageDefinitions, s.Migrate = "", defs, nil
	if err := e.d.Deploy(context.Background(), s); err != nil {
		t.Fatalf("Deploy: %v", err)
	}
	web, job := e.taskDef(t, "web"), e.taskDef(t, "job")
	if image(web, "app") != "repo/app:sha1" || image(web, "log-router") != "fluent/fluent-bit:3" || image(job, "app") != "repo/app:sha1" {
		t.Errorf("images: web %v, job %v", web.ContainerDefinitions, job.ContainerDefinitions)
	}

	s.ImageDefinitions = []ImageDefinition{{Name: "worker", ImageURI: "x:1"}, {Name: "app", ImageURI: "x:1"}}
	err = e.d.Deploy(context.Background(), s)
	if err == nil || !strings.Contains(err.Error(), `image definitions: no container named "worker"`) {
		t.Errorf("err = %v", err)
	}
}

func TestParseImageDefinitionsErrors(t *testing.T) {
	for src, want := range map[string]string{
		`{"name":"a"}`:                        "want [{",
		`[]`:                                  "no image definitions",
		`[{"name":"a"}]`:                      `needs both "name" and "imageUri"`,
		`[{"name":"a","imageUri":"b","x":1}]`: `unknown field "x"`,
		`[{"name":"a","imageUri":"b"},{"name":"a","imageUri":"c"}]`: `container "a" listed twice`,
	} {
		_, err := ParseImageDefinitions("defs.json", []byte(src))
		if err == nil || !strings.Contains(err.Error(), want) || !strings.HasPrefix(err.Error(), "defs.json: ") {
			t.Errorf("%s: err = %v, want %q", src, err, want)
		}
	}
}

func TestTaskDefinitionFileAndNoOpReRun(t *testing.T) {
	e := newEnv(t)
	file := `{"family": "web", "networkMode": "awsvpc", "cpu": "1024", "memory": "2048",
	  "executionRoleArn": "arn:aws:iam::123456789012:role/exec",
	  "containerDefinitions": [{"name": "app", "image": "repo/app:b42", "environment": [{"name": "RAILS_ENV", "value": "production"}]}]}`
	in, err := ParseTaskDefinition("web.json", []byte(file))
	if err != nil {
		t.Fatal(err)
	}
	s := Spec{Cluster: cluster, Services: []string{"web"}, TaskDefinitions: []*ecs.RegisterTaskDefinitionInput{in}, Timeout: 5 * time.Second}
	if err := e.d.Deploy(context.Background(), s); err != nil {
		t.Fatalf("Deploy: %v", err)
	}
	td := e.taskDef(t, "web")
	if td.Revision != 2 || aws.ToString(td.Cpu) != "1024" || image(td, "app") != "repo/app:b42" || len(td.ContainerDefinitions) != 1 {
		t.Errorf("registered %+v", td)
	}
	before := e.fake.MutatingCalls()
	if err := e.d.Deploy(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	if e.fake.MutatingCalls() != before || !strings.Contains(e.out.String(), "nothing to do") {
		t.Errorf("re-run with the same file was not a no-op: %v\n%s", e.fake.Calls(), e.out)
	}

	other := *in
	other.Family = aws.String("api")
	s.TaskDefinitions = []*ecs.RegisterTaskDefinitionInput{&other}
	err = e.d.Deploy(context.Background(), s)
	if err == nil || !strings.Contains(err.Error(), "no --task-definition file for family web") {
		t.Errorf("err = %v", err)
	}
}

func TestParseTaskDefinition(t *testing.T) {
	describeOutput := `{"taskDefinition": {"taskDefinitionArn": "arn:aws:ecs:us-east-1:1:task-definition/web:7", "family": "web",
	  "revision": 7, "status": "ACTIVE", "compatibilities": ["EC2"], "registeredAt": "2024-01-01T00:00:00Z",
	  "containerDefinitions": [{"name": "app", "image": "a:1", "portMappings": [{"containerPort": 3000}]}]},
	  "tags": [{"key": "team", "value": "core"}]}`
	in, err := ParseTaskDefinition("web.json", []byte(describeOutput))
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(in.Family) != "web" || len(in.Tags) != 1 || aws.ToInt32(in.ContainerDefinitions[0].PortMappings[0].ContainerPort) != 3000 {
		t.Errorf("parsed %+v", in)
	}
	for src, want := range map[string]string{
		`{"family": "web", "containerDefinitions": [{"name": "a", "image": "b"}], "execRoleArn": "x"}`: `web.json: unknown member "execRoleArn"`,
		`{"family": "web", "containerDefinitions": [{"name": "a", "image": "b", "imge": "c"}]}`:        `unknown field "imge"`,
		`{"containerDefinitions": [{"name": "a", "image": "b"}]}`:                                      `no "family"`,
		`{"family": "web"}`:          `no "containerDefinitions"`,
		"{\n\"family\": \"web\",\n}": "web.json: line 3",
		`{"family": "web", "containerDefinitions": [{"name": "a"}]}`: "containerDefinitions[0]: needs a name and an image",
	} {
		if _, err := ParseTaskDefinition("web.json", []byte(src)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err = %v, want %q", src, err, want)
		}
	}
}

// fillValue sets every exported field of v to a non-zero value.
func fillValue(v reflect.Value, depth int) {
	switch v.Kind() {
	case reflect.Pointer:
		if depth > 3 {
			return
		}
		v.Set(reflect.New(v.Type().Elem()))
		fillValue(v.Elem(), depth+1)
	case reflect.Struct:
		if v.Type() == timeType {
			v.Set(reflect.ValueOf(time.Unix(1700000000, 0)))
			return
		}
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				fillValue(v.Field(i), depth+1)
			}
		}
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 1, 1))
		fillValue(v.Index(0), depth+1)
	case reflect.Map:
		v.Set(reflect.MakeMap(v.Type()))
	case reflect.String:
		v.SetString("x")
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int32, reflect.Int64, reflect.Int:
		v.SetInt(1)
	}
}

func TestRegisterInputCopiesEveryField(t *testing.T) {
	var td types.TaskDefinition
	fillValue(reflect.ValueOf(&td).Elem(), 0)
	in := registerInput(&td, []types.Tag{{Key: aws.String("k")}})
	v := reflect.ValueOf(*in)
	n := 0
	for i := 0; i < v.NumField(); i++ {
		f := v.Type().Field(i)
		if !f.IsExported() {
			continue
		}
		n++
		if v.Field(i).IsZero() {
			t.Errorf("registerInput does not copy %s: a new revision would lose it", f.Name)
		}
	}
	if n != 18 { // the 17 definition fields and tags
		t.Errorf("RegisterTaskDefinitionInput has %d fields; check registerInput and readOnlyKeys", n)
	}
}

// fullDef sets every field RegisterTaskDefinition accepts.
func fullDef() *ecs.RegisterTaskDefinitionInput {
	return &ecs.RegisterTaskDefinitionInput{
		Family:                  aws.String("web"),
		TaskRoleArn:             aws.String("arn:aws:iam::123456789012:role/task"),
		ExecutionRoleArn:        aws.String("arn:aws:iam::123456789012:role/exec"),
		NetworkMode:             types.NetworkModeAwsvpc,
		Cpu:                     aws.String("1024"),
		Memory:                  aws.String("2048"),
		RequiresCompatibilities: []types.Compatibility{types.CompatibilityEc2},
		EphemeralStorage:        &types.EphemeralStorage{SizeInGiB: 50},
		RuntimePlatform:         &types.RuntimePlatform{CpuArchitecture: types.CPUArchitectureArm64, OperatingSystemFamily: types.OSFamilyLinux},
		IpcMode:                 types.IpcModeTask,
		PidMode:                 types.PidModeTask,
		EnableFaultInjection:    aws.Bool(true),
		ProxyConfiguration: &types.ProxyConfiguration{ContainerName: aws.String("envoy"), Type: types.ProxyConfigurationTypeAppmesh,
			Properties: []types.KeyValuePair{{Name: aws.String("AppPorts"), Value: aws.String("3000")}}},
		InferenceAccelerators: []types.InferenceAccelerator{{DeviceName: aws.String("dev1"), DeviceType: aws.String("eia2.medium")}},
		PlacementConstraints: []types.TaskDefinitionPlacementConstraint{{Type: types.TaskDefinitionPlacementConstraintTypeMemberOf,
			Expression: aws.String("attribute:ecs.availability-zone in [us-east-1a]")}},
		Volumes: []types.Volume{{Name: aws.String("data"), EfsVolumeConfiguration: &types.EFSVolumeConfiguration{
			FileSystemId: aws.String("fs-1"), TransitEncryption: types.EFSTransitEncryptionEnabled}}},
		Tags: []types.Tag{{Key: aws.String("team"), Value: aws.String("core")}},
		ContainerDefinitions: []types.ContainerDefinition{
			{
				Name: aws.String("app"), Image: aws.String("repo/app:old"), Essential: aws.Bool(true),
				Command:      []string{"bundle", "exec", "puma"},
				Environment:  []types.KeyValuePair{{Name: aws.String("RAILS_ENV"), Value: aws.String("production")}},
				Secrets:      []types.Secret{{Name: aws.String("DATABASE_URL"), ValueFrom: aws.String("arn:aws:ssm:us-east-1:1:parameter/db")}},
				PortMappings: []types.PortMapping{{ContainerPort: aws.Int32(3000), Protocol: types.TransportProtocolTcp, Name: aws.String("http")}},
				HealthCheck:  &types.HealthCheck{Command: []string{"CMD-SHELL", "curl -f localhost:3000/up"}, Interval: aws.Int32(10)},
				LogConfiguration: &types.LogConfiguration{LogDriver: types.LogDriverAwslogs,
					Options: map[string]string{"awslogs-group": "/ecs/web", "awslogs-stream-prefix": "web"}},
				MountPoints:            []types.MountPoint{{SourceVolume: aws.String("data"), ContainerPath: aws.String("/data")}},
				Ulimits:                []types.Ulimit{{Name: types.UlimitNameNofile, SoftLimit: 65536, HardLimit: 65536}},
				DockerLabels:           map[string]string{"com.example.app": "web"},
				StopTimeout:            aws.Int32(60),
				ReadonlyRootFilesystem: aws.Bool(true),
				DependsOn:              []types.ContainerDependency{{ContainerName: aws.String("envoy"), Condition: types.ContainerConditionHealthy}},
			},
			{Name: aws.String("envoy"), Image: aws.String("envoy:1.29"), Essential: aws.Bool(true), User: aws.String("1337")},
		},
	}
}

func TestEveryTaskDefinitionFieldSurvives(t *testing.T) {
	e := newEnv(t)
	arn := e.fake.Register(fullDef())
	e.fake.AddService(ecsfake.ServiceSpec{Cluster: cluster, Name: "api", TaskDefinition: arn, DesiredCount: 1, LaunchType: types.LaunchTypeEc2})
	s := Spec{Cluster: cluster, Services: []string{"api"}, Image: "repo/app:new", Timeout: 5 * time.Second}
	if err := e.d.Deploy(context.Background(), s); err != nil {
		t.Fatalf("Deploy: %v", err)
	}
	td, tags, _ := e.fake.TaskDefinition(aws.ToString(e.fake.Service(cluster, "api").TaskDefinition))
	if td.Revision != 3 {
		t.Fatalf("api runs revision %d, want 3", td.Revision)
	}
	got := registerInput(&td, tags)
	want := fullDef()
	want.ContainerDefinitions[0].Image = aws.String("repo/app:new")
	if g, w := prettyJSON(got), prettyJSON(want); g != w {
		t.Errorf("the new revision differs from the old one beyond the image:\n%s", unifiedDiff(w, g, 2))
	}
	for i := 0; i < reflect.ValueOf(*got).NumField(); i++ {
		f := reflect.ValueOf(*got).Field(i)
		if reflect.ValueOf(*got).Type().Field(i).IsExported() && f.IsZero() {
			t.Errorf("field %s is empty in the new revision", reflect.ValueOf(*got).Type().Field(i).Name)
		}
	}
}

func TestKeepNeverRemovesLiveOrRollbackRevisions(t *testing.T) {
	e := newEnv(t)
	// web: revisions 1..6 exist; web runs 6; an unnamed service "console"
	// runs web:2, so 2 is live and 1 is its rollback target.
	for i := 2; i <= 6; i++ {
		e.fake.Register(webDef())
	}
	e.fake.AddService(ecsfake.ServiceSpec{Cluster: cluster, Name: "console", TaskDefinition: "web:2", DesiredCount: 1})
	e.fake.AddService(ecsfake.ServiceSpec{Cluster: cluster, Name: "web6", TaskDefinition: "web:6", DesiredCount: 1})
	s := Spec{Cluster: cluster, Services: []string{"web6"}, Image: "repo/app:new", Keep: 2, Timeout: 5 * time.Second}
	if err := e.d.Deploy(context.Background(), s); err != nil {
		t.Fatalf("Deploy: %v", err)
	}
	// Kept: 7 and 6 (two newest; 6 is also web6's rollback target), 2
	// (console runs it), 1 (console's rollback target). The service "web"
	// runs web:1 too.
	if got := e.fake.Revisions("web"); !slices.Equal(got, []int32{1, 2, 6, 7}) {
		t.Errorf("web ACTIVE revisions %v, want [1 2 6 7]\n%s", got, e.out)
	}
	if !strings.Contains(e.out.String(), "web: deregistered revisions 5, 4, 3 (--keep 2)") {
		t.Errorf("output:\n%s", e.out)
	}
}

func TestDryRunMakesNoMutatingCall(t *testing.T) {
	e := newEnv(t)
	s := spec()
	s.DryRun = true
	s.Keep = 3
	if err := e.d.Deploy(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	if n := e.fake.MutatingCalls(); n != 0 {
		t.Errorf("dry run made %d mutating calls: %v", n, e.fake.Calls())
	}
	for _, want := range []string{
		"--- web:1\n+++ web (new)",
		`-      "image": "repo/app:old",`,
		`+      "image": "repo/app:new",`,
		`plan: run "bin/rails db:migrate" in container app of the new web revision`,
		"plan: web: update web:1 -> new web revision, desired 2",
		"plan: job: update job:1 -> new job revision, desired 1",
		"dry run: nothing was changed",
	} {
		if !strings.Contains(e.out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, e.out)
		}
	}
}

func TestDesiredCountZeroBecomesOne(t *testing.T) {
	e := newEnv(t)
	e.fake.AddService(ecsfake.ServiceSpec{Cluster: cluster, Name: "idle", TaskDefinition: "job:1", DesiredCount: 0})
	s := Spec{Cluster: cluster, Services: []string{"idle"}, Image: "repo/app:new", Timeout: 5 * time.Second}
	if err := e.d.Deploy(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	if got := e.fake.Service(cluster, "idle").DesiredCount; got != 1 {
		t.Errorf("desired count %d, want 1", got)
	}
	if !strings.Contains(e.out.String(), "warning: idle: desired count is 0; setting it to 1") {
		t.Errorf("no warning:\n%s", e.out)
	}
}

func TestRollbackAndStatus(t *testing.T) {
	e := newEnv(t)
	s := spec()
	s.Migrate = nil
	if err := e.d.Deploy(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	e.out.Reset()
	if err := e.d.Rollback(context.Background(), cluster, []string{"web", "job"}, 5*time.Second); err != nil {
		t.Fatalf("Rollback: %v\n%s", err, e.out)
	}
	e.wantRevision(t, "web", 1)
	e.wantRevision(t, "job", 1)
	if !strings.Contains(e.out.String(), "rolled back: web web:1, job job:1") {
		t.Errorf("output:\n%s", e.out)
	}
	err := e.d.Rollback(context.Background(), cluster, []string{"web"}, time.Second)
	if err == nil || err.Error() != "web: no ACTIVE revision of family web older than web:1 to roll back to" {
		t.Errorf("err = %v", err)
	}

	e.out.Reset()
	if err := e.d.Status(context.Background(), cluster, []string{"web"}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"web: web:1 desired 2 running 2 pending 0", "  container app: repo/app:old", "  PRIMARY rev 1 desired 2 pending 0 running 2 COMPLETED", "  circuit breaker on, rollback true", "  event "} {
		if !strings.Contains(e.out.String(), want) {
			t.Errorf("status lacks %q:\n%s", want, e.out)
		}
	}
}

func TestSpecValidate(t *testing.T) {
	for _, c := range []struct {
		s    Spec
		want string
	}{
		{Spec{Services: []string{"web"}, Image: "a"}, "no cluster"},
		{Spec{Cluster: "c", Services: []string{"web"}, Image: "repo"}, `--image "repo" has no tag or digest`},
		{Spec{Cluster: "c", Services: []string{"web"}, Image: "host:5000/app"}, `--image "host:5000/app" has no tag or digest`},
		{Spec{Cluster: "c", Services: []string{"web"}, Image: "app:"}, `--image "app:" is not an image reference Docker accepts (invalid reference format)`},
		{Spec{Cluster: "c", Image: "a"}, "no service"},
		{Spec{Cluster: "c", Services: []string{"web"}}, "exactly one of --image"},
		{Spec{Cluster: "c", Services: []string{"web", "web"}, Image: "a"}, `service "web" named twice`},
		{Spec{Cluster: "c", Services: []string{"web"}, Image: "a", ImageDefinitions: []ImageDefinition{{}}}, "exactly one"},
	} {
		if err := c.s.Validate(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: err = %v, want %q", c.s, err, c.want)
		}
	}
}

func TestRepository(t *testing.T) {
	for in, want := range map[string]string{
		"repo/app:v1":      "repo/app",
		"host:5000/app:v1": "host:5000/app",
		"host:5000/app":    "host:5000/app",
		"123.dkr.ecr.us-east-1.amazonaws.com/app@sha256:abc": "123.dkr.ecr.us-east-1.amazonaws.com/app",
	} {
		if got := repository(in); got != want {
			t.Errorf("repository(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzParseTaskDefinition(f *testing.F) {
	f.Add([]byte(`{"family":"web","containerDefinitions":[{"name":"app","image":"a:1"}]}`))
	f.Add([]byte(`{"taskDefinition":{"family":"web","revision":3,"containerDefinitions":[{"name":"app","image":"a"}]},"tags":[]}`))
	f.Add([]byte(`{"family":"web","containerDefinitions":[{"name":"app","image":"a","portMappings":[{"containerPort":1}]}],"cpu":"256"}`))
	f.Add([]byte(`[1,2]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		in, err := ParseTaskDefinition("f.json", data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "f.json") {
				t.Errorf("error without the file name: %v", err)
			}
			return
		}
		if aws.ToString(in.Family) == "" || len(in.ContainerDefinitions) == 0 {
			t.Errorf("accepted a definition without family or containers: %s", data)
		}
		// What was accepted must survive a round trip unchanged.
		again, err := ParseTaskDefinition("f.json", []byte(prettyJSON(in)))
		if err != nil || canonical(again) != canonical(in) {
			t.Errorf("round trip: %v\n%s\n%s", err, prettyJSON(in), fmt.Sprint(again))
		}
	})
}

func FuzzParseImageDefinitions(f *testing.F) {
	f.Add([]byte(`[{"name":"web","imageUri":"repo:sha"}]`))
	f.Add([]byte(`[{"name":"web"}]`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		defs, err := ParseImageDefinitions("d.json", data)
		if err != nil {
			return
		}
		for _, d := range defs {
			if d.Name == "" || d.ImageURI == "" {
				t.Errorf("accepted an incomplete entry: %s", data)
			}
		}
	})
}

func TestSplitCommand(t *testing.T) {
	for in, want := range map[string][]string{
		"bin/rails db:migrate":         {"bin/rails", "db:migrate"},
		`  sh -c 'rake a && rake b'  `: {"sh", "-c", "rake a && rake b"},
		`echo "a \"b\" $c" x\ y`:       {"echo", `a "b" $c`, "x y"},
		`''`:                           {""},
		"":                             nil,
	} {
		got, err := SplitCommand(in)
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("SplitCommand(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{`'open`, `"open`, `trail\`} {
		if _, err := SplitCommand(in); err == nil {
			t.Errorf("SplitCommand(%q) accepted", in)
		}
	}
}

func FuzzSplitCommand(f *testing.F) {
	for _, s := range []string{"bin/rails db:migrate", `sh -c 'a && b'`, `"x\"y" z\ w`, `'`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		words, err := SplitCommand(s)
		if err != nil {
			return
		}
		// Quoting every word again must give the same words back.
		var q []string
		for _, w := range words {
			q = append(q, "'"+strings.ReplaceAll(w, "'", `'\''`)+"'")
		}
		again, err := SplitCommand(strings.Join(q, " "))
		if err != nil || !slices.Equal(again, words) {
			t.Errorf("%q -> %q -> %q (%v)", s, words, again, err)
		}
	})
}
