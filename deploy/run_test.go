package deploy

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/entryhq/entry/deploy/ecsfake"
)

// registerWithLogs registers a new web revision whose app container logs
// with awslogs.
func (e *schedEnv) registerWithLogs() {
	def := webDef()
	def.ContainerDefinitions[0].LogConfiguration = &types.LogConfiguration{LogDriver: types.LogDriverAwslogs,
		Options: map[string]string{"awslogs-group": "/ecs/web", "awslogs-stream-prefix": "web", "awslogs-region": ecsfake.Region}}
	e.fake.Register(def)
}

func TestRunExitCodeAndLogs(t *testing.T) {
	e := newSchedEnv(t)
	e.registerWithLogs()
	lines := []string{"loading Rails", "Foo.bar starting", "processing 3 records", "Error: record 2 is invalid"}
	// The stream appears only after two reads, then trickles in.
	e.logs.Stream("/ecs/web", "web/app/*", 2, 1, lines...)
	e.logs.Throttle("GetLogEvents", 1)
	e.fake.SetTaskOutcome(ecsfake.TaskOutcome{ExitCodes: map[string]int32{"app": 3}, Steps: 4})
	code, err := e.d.Run(context.Background(), RunSpec{Cluster: cluster, Service: "web", Revision: "new", Command: []string{"bin/rails", "runner", "Foo.bar"}})
	if err != nil || code != 3 {
		t.Fatalf("Run = %d, %v, want exit 3\n%s", code, err, e.out)
	}
	out := e.out.String()
	for _, l := range lines {
		if strings.Count(out, "app | "+l+"\n") != 1 {
			t.Errorf("log line %q not streamed exactly once:\n%s", l, out)
		}
	}
	// A log this short is all on screen: it is not printed twice.
	for _, l := range lines {
		if strings.Count(out, l) != 1 {
			t.Errorf("log line %q printed %d times:\n%s", l, strings.Count(out, l), out)
		}
	}
	if strings.Contains(out, "last 4 lines") {
		t.Errorf("a 4-line log repeated:\n%s", out)
	}
	if strings.Contains(out, "migrate") || !strings.Contains(out, "run: container app of task ") {
		t.Errorf("output:\n%s", out)
	}
	run := e.fake.RunTaskInputs()
	if len(run) != 1 || !strings.HasSuffix(aws.ToString(run[0].TaskDefinition), "web:2") || run[0].NetworkConfiguration == nil ||
		strings.Join(run[0].Overrides.ContainerOverrides[0].Command, " ") != "bin/rails runner Foo.bar" {
		t.Errorf("RunTask: %+v", run)
	}
}

func TestRunLiveRevisionWithoutAwslogs(t *testing.T) {
	e := newSchedEnv(t)
	e.registerWithLogs() // a newer revision, not the live one
	code, err := e.d.Run(context.Background(), RunSpec{Cluster: cluster, Service: "web", Command: []string{"true"}})
	if err != nil || code != 0 {
		t.Fatalf("Run = %d, %v\n%s", code, err, e.out)
	}
	if run := e.fake.RunTaskInputs(); !strings.HasSuffix(aws.ToString(run[0].TaskDefinition), "web:1") {
		t.Errorf("ran %s, want the live web:1", aws.ToString(run[0].TaskDefinition))
	}
	if !strings.Contains(e.out.String(), "container app has no log configuration") || e.logs.Calls()["GetLogEvents"] != 0 {
		t.Errorf("output:\n%s", e.out)
	}
	if _, err := e.d.Run(context.Background(), RunSpec{Cluster: cluster, Service: "web"}); err == nil || !strings.Contains(err.Error(), "no command") {
		t.Errorf("no command: %v", err)
	}
}

// The migration streams its log too, and a failure repeats the last lines.
func TestMigrationStreamsLogs(t *testing.T) {
	e := newSchedEnv(t)
	def := webDef()
	def.ContainerDefinitions[0].LogConfiguration = &types.LogConfiguration{LogDriver: types.LogDriverAwslogs,
		Options: map[string]string{"awslogs-group": "/ecs/web", "awslogs-stream-prefix": "web"}}
	web2 := e.fake.Register(def)
	// Make web:2 the live revision, which the deploy builds on.
	ctx := context.Background()
	if _, err := e.d.Client.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String(cluster), Service: aws.String("web"), TaskDefinition: aws.String(web2)}); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		e.d.Client.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(cluster), Services: []string{"web"}})
	}
	e.logs.Stream("/ecs/web", "web/app/*", 1, 2, "== 20260101 AddFoo: migrating", "PG::UndefinedTable: ERROR: relation \"bars\" does not exist")
	e.fake.SetTaskOutcome(ecsfake.TaskOutcome{ExitCodes: map[string]int32{"app": 1}})
	s := spec()
	s.Services = []string{"web"}
	s.TaskDefinitions = nil
	failure(t, e.d.Deploy(ctx, s), "container app of task", "exited 1", "its log: CloudWatch Logs group /ecs/web stream web/app/", " in us-east-1; no service was changed")
	out := e.out.String()
	for _, w := range []string{"migrate: following CloudWatch Logs /ecs/web web/app/", "app | == 20260101 AddFoo: migrating",
		"app | PG::UndefinedTable: ERROR: relation \"bars\" does not exist"} {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
}

// The app's own lines are printed as written, even where they look like
// the migration's progress lines, which `run` labels "run:".
func TestRunPrintsAppLinesUnchanged(t *testing.T) {
	e := newSchedEnv(t)
	e.registerWithLogs()
	lines := []string{"migrate: 2 pending migrations", "warning: migrate: lock held, retrying"}
	e.logs.Stream("/ecs/web", "web/app/*", 0, 2, lines...)
	e.fake.SetTaskOutcome(ecsfake.TaskOutcome{ExitCodes: map[string]int32{"app": 1}})
	code, err := e.d.Run(context.Background(), RunSpec{Cluster: cluster, Service: "web", Revision: "new", Command: []string{"bin/rails", "db:migrate:status"}})
	if err != nil || code != 1 {
		t.Fatalf("Run = %d, %v, want exit 1\n%s", code, err, e.out)
	}
	out := e.out.String()
	for _, l := range lines {
		if !strings.Contains(out, "app | "+l+"\n") {
			t.Errorf("log line %q not printed unchanged:\n%s", l, out)
		}
	}
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if strings.HasPrefix(l, "migrate:") || strings.HasPrefix(l, "app | run:") || strings.HasPrefix(l, "  run:") {
			t.Errorf("line %q: the label leaked into or out of the app's lines:\n%s", l, out)
		}
	}
	for _, w := range []string{"run: task ", "run: following CloudWatch Logs /ecs/web web/app/", "run: container app of task "} {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
}
