package deploy

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	evtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"
	sctypes "github.com/aws/aws-sdk-go-v2/service/scheduler/types"

	"github.com/entryhq/entry/deploy/ecsfake"
)

// schedEnv adds EventBridge, Scheduler and CloudWatch Logs fakes to env.
type schedEnv struct {
	*env
	events *ecsfake.Events
	sched  *ecsfake.Scheduler
	logs   *ecsfake.Logs
}

func newSchedEnv(t *testing.T) *schedEnv {
	t.Helper()
	e := &schedEnv{env: newEnv(t), events: ecsfake.NewEvents(), sched: ecsfake.NewScheduler(), logs: ecsfake.NewLogs()}
	t.Cleanup(e.events.Close)
	t.Cleanup(e.sched.Close)
	t.Cleanup(e.logs.Close)
	t.Cleanup(func() {
		for _, v := range append(append(e.events.Violations(), e.sched.Violations()...), e.logs.Violations()...) {
			t.Errorf("API model violation: %s", v)
		}
	})
	creds := credentials.NewStaticCredentialsProvider("AKIDTEST", "SECRETTEST", "")
	retryer := NewRetryer(5, 5*time.Millisecond)
	e.d.Events = eventbridge.New(eventbridge.Options{Region: ecsfake.Region, BaseEndpoint: aws.String(e.events.URL), Credentials: creds, Retryer: retryer()})
	e.d.Scheduler = scheduler.New(scheduler.Options{Region: ecsfake.Region, BaseEndpoint: aws.String(e.sched.URL), Credentials: creds, Retryer: retryer()})
	e.d.LogGrace = 100 * time.Millisecond // a test reads the late lines it scripts with a grace of its own
	e.d.Logs = cloudwatchlogs.New(cloudwatchlogs.Options{Region: ecsfake.Region, BaseEndpoint: aws.String(e.logs.URL), Credentials: creds, Retryer: retryer()})
	return e
}

func clusterARN(name string) string {
	return "arn:aws:ecs:" + ecsfake.Region + ":" + ecsfake.Account + ":cluster/" + name
}

func tdARN(ref string) string {
	return "arn:aws:ecs:" + ecsfake.Region + ":" + ecsfake.Account + ":task-definition/" + ref
}

// ruleTarget is an ECS target with many members set, all of which must
// survive PutTargets.
func ruleTarget(id, cluster, taskDef string) evtypes.Target {
	return evtypes.Target{
		Id: aws.String(id), Arn: aws.String(clusterARN(cluster)), RoleArn: aws.String("arn:aws:iam::123456789012:role/events"),
		Input: aws.String(`{"containerOverrides":[{"name":"app","command":["bin/rails","report"]}]}`),
		EcsParameters: &evtypes.EcsParameters{
			TaskDefinitionArn: aws.String(tdARN(taskDef)), TaskCount: aws.Int32(1), LaunchType: evtypes.LaunchTypeFargate,
			PlatformVersion: aws.String("1.4.0"), Group: aws.String("cron"), EnableECSManagedTags: true, PropagateTags: evtypes.PropagateTagsTaskDefinition,
			NetworkConfiguration: &evtypes.NetworkConfiguration{AwsvpcConfiguration: &evtypes.AwsVpcConfiguration{
				Subnets: []string{"subnet-1"}, SecurityGroups: []string{"sg-1"}, AssignPublicIp: evtypes.AssignPublicIpDisabled}},
			Tags: []evtypes.Tag{{Key: aws.String("job"), Value: aws.String("nightly")}},
		},
		RetryPolicy:      &evtypes.RetryPolicy{MaximumRetryAttempts: aws.Int32(2), MaximumEventAgeInSeconds: aws.Int32(3600)},
		DeadLetterConfig: &evtypes.DeadLetterConfig{Arn: aws.String("arn:aws:sqs:us-east-1:123456789012:dlq")},
	}
}

// fullSchedule sets every member of a schedule.
func fullSchedule(name, cluster, taskDef string) scheduler.GetScheduleOutput {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	end := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	return scheduler.GetScheduleOutput{
		Name: aws.String(name), GroupName: aws.String("default"), Description: aws.String("nightly report"),
		ScheduleExpression: aws.String("cron(0 3 * * ? *)"), ScheduleExpressionTimezone: aws.String("Asia/Tokyo"),
		StartDate: &start, EndDate: &end, State: sctypes.ScheduleStateEnabled, KmsKeyArn: aws.String("arn:aws:kms:us-east-1:123456789012:key/k"),
		ActionAfterCompletion: sctypes.ActionAfterCompletionNone,
		FlexibleTimeWindow:    &sctypes.FlexibleTimeWindow{Mode: sctypes.FlexibleTimeWindowModeFlexible, MaximumWindowInMinutes: aws.Int32(15)},
		Target: &sctypes.Target{
			Arn: aws.String(clusterARN(cluster)), RoleArn: aws.String("arn:aws:iam::123456789012:role/scheduler"),
			Input:       aws.String(`{"containerOverrides":[{"name":"app","command":["bin/rails","report"]}]}`),
			RetryPolicy: &sctypes.RetryPolicy{MaximumRetryAttempts: aws.Int32(3), MaximumEventAgeInSeconds: aws.Int32(600)},
			EcsParameters: &sctypes.EcsParameters{TaskDefinitionArn: aws.String(tdARN(taskDef)), TaskCount: aws.Int32(1),
				LaunchType: sctypes.LaunchTypeFargate, EnableExecuteCommand: aws.Bool(true), Tags: []map[string]string{{"job": "report"}},
				NetworkConfiguration: &sctypes.NetworkConfiguration{AwsvpcConfiguration: &sctypes.AwsVpcConfiguration{Subnets: []string{"subnet-1"}}}},
		},
	}
}

// withTaskDef returns a copy of a target running taskDef.
func withTaskDef(t evtypes.Target, taskDef string) evtypes.Target {
	p := *t.EcsParameters
	p.TaskDefinitionArn = aws.String(tdARN(taskDef))
	t.EcsParameters = &p
	return t
}

func TestScheduledTasksFollowTheDeploy(t *testing.T) {
	e := newSchedEnv(t)
	// A family only scheduled tasks use, with the app's image.
	e.fake.Register(&ecs.RegisterTaskDefinitionInput{Family: aws.String("cron"), NetworkMode: ecstypes.NetworkModeAwsvpc,
		ContainerDefinitions: []ecstypes.ContainerDefinition{{Name: aws.String("app"), Image: aws.String("repo/app:old")}}})
	// ... and one with another image, which must be left alone.
	e.fake.Register(&ecs.RegisterTaskDefinitionInput{Family: aws.String("backup"),
		ContainerDefinitions: []ecstypes.ContainerDefinition{{Name: aws.String("pgdump"), Image: aws.String("postgres:16")}}})
	nightly := ruleTarget("nightly-web", cluster, "web:1")
	elsewhere := ruleTarget("staging-web", "staging", "web:1")
	e.events.AddRule("", "nightly", nightly, elsewhere)
	e.events.AddRule("", "staging-only", ruleTarget("t", "staging", "web:1"))
	e.events.AddRule("", "cleanup", ruleTarget("cron", cluster, "cron:1"))
	e.events.AddRule("", "backup", ruleTarget("b", cluster, "backup:1"))
	e.events.AddRule("", "latest", ruleTarget("l", cluster, "web"))
	report := fullSchedule("report", cluster, "job:1")
	e.sched.AddSchedule(report)
	e.sched.AddSchedule(fullSchedule("staging-report", "staging", "job:1"))
	e.sched.AddSchedule(fullSchedule("a-unrelated", cluster, "backup:1"))
	// Hostile: throttling, and lists that lag behind writes.
	e.events.Throttle("ListTargetsByRule", 1)
	e.sched.Throttle("UpdateSchedule", 1)
	e.events.Lag, e.sched.Lag = 3, 3

	s := spec()
	s.Migrate = nil
	s.Scheduled = ScheduleSpec{All: true}
	if err := e.d.Deploy(context.Background(), s); err != nil {
		t.Fatalf("Deploy: %v\n%s", err, e.out)
	}
	got := e.events.Targets("", "nightly")
	if want := []evtypes.Target{withTaskDef(nightly, "web:2"), elsewhere}; !reflect.DeepEqual(got, want) {
		t.Errorf("rule nightly targets:\n got %+v\nwant %+v", got, want)
	}
	if n := len(e.events.Puts("", "staging-only")) + len(e.events.Puts("", "backup")) + len(e.events.Puts("", "latest")); n != 0 {
		t.Errorf("%d PutTargets on rules of another cluster, family or without a revision", n)
	}
	cron := e.events.Targets("", "cleanup")[0]
	if td, _, _ := e.fake.TaskDefinition(aws.ToString(cron.EcsParameters.TaskDefinitionArn)); td.Revision != 2 || image(td, "app") != "repo/app:new" {
		t.Errorf("rule cleanup runs %s with %s, want cron:2 with the new image", aws.ToString(cron.EcsParameters.TaskDefinitionArn), image(td, "app"))
	}
	after, _ := e.sched.Schedule("default", "report")
	want := report
	tgt := *report.Target
	ecsp := *tgt.EcsParameters
	ecsp.TaskDefinitionArn = aws.String(tdARN("job:2"))
	tgt.EcsParameters = &ecsp
	want.Target = &tgt
	want.Arn, want.CreationDate, want.LastModificationDate = after.Arn, after.CreationDate, after.LastModificationDate
	if !reflect.DeepEqual(after, want) {
		t.Errorf("schedule report after the deploy:\n got %+v\nwant %+v", after, want)
	}
	if n := len(e.sched.Updates("default", "staging-report")) + len(e.sched.Updates("default", "a-unrelated")); n != 0 {
		t.Errorf("%d UpdateSchedule calls on schedules of another cluster or family", n)
	}
	for _, w := range []string{"scheduled: rule default/nightly target nightly-web: web:1 -> web:2", "scheduled: schedule default/report: job:1 -> job:2",
		"cron: registered cron:2 for scheduled tasks", "scheduled: searching every event bus: default\n",
		"scheduled tasks: 3 moved; left alone: 2 of a family this deploy does not change, 1 naming a family without a revision (ECS runs its latest ACTIVE one)\n"} {
		if !strings.Contains(e.out.String(), w) {
			t.Errorf("output lacks %q:\n%s", w, e.out)
		}
	}

	// The re-run is a no-op for the scheduled tasks too.
	puts, updates := e.events.Calls()["PutTargets"], e.sched.Calls()["UpdateSchedule"]
	e.out.Reset()
	e.events.Settle()
	e.sched.Settle()
	if err := e.d.Deploy(context.Background(), s); err != nil {
		t.Fatalf("re-run: %v\n%s", err, e.out)
	}
	if e.events.Calls()["PutTargets"] != puts || e.sched.Calls()["UpdateSchedule"] != updates {
		t.Errorf("the re-run moved scheduled tasks again:\n%s", e.out)
	}
	if !strings.Contains(e.out.String(), "scheduled tasks: 0 moved; left alone: 3 already on the new revision, 2 of a family") || strings.Contains(e.out.String(), "; left alone\n") {
		t.Errorf("re-run output:\n%s", e.out)
	}
}

func TestScheduledTasksLeftAloneOnRollback(t *testing.T) {
	e := newSchedEnv(t)
	e.events.AddRule("", "nightly", ruleTarget("n", cluster, "web:1"))
	e.sched.AddSchedule(fullSchedule("report", cluster, "job:1"))
	e.fake.Rollout(cluster, "web", ecsfake.Rollout{Outcome: ecsfake.CircuitBreaker})
	s := spec()
	s.Scheduled = ScheduleSpec{All: true}
	failure(t, e.d.Deploy(context.Background(), s), "FAILED", "restored")
	if e.events.Calls()["PutTargets"] != 0 || e.sched.Calls()["UpdateSchedule"] != 0 {
		t.Errorf("scheduled tasks changed by a failed deploy: %v %v", e.events.Calls(), e.sched.Calls())
	}
	if got := aws.ToString(e.events.Targets("", "nightly")[0].EcsParameters.TaskDefinitionArn); got != tdARN("web:1") {
		t.Errorf("rule runs %s", got)
	}
}

// A scheduled task that cannot be moved for good (a ValidationException)
// fails the deploy, but undoes nothing: the services are healthy on the new
// revision, the other scheduled tasks move, and the error says which task
// is left behind and that re-running the deploy moves it.
func TestSchedulePermanentFailureKeepsHealthyServices(t *testing.T) {
	e := newSchedEnv(t)
	nightly := ruleTarget("n", cluster, "web:1")
	e.events.AddRule("", "nightly", nightly)
	e.sched.AddSchedule(fullSchedule("report", cluster, "job:1"))
	e.sched.Reject = true
	s := spec()
	s.Migrate = nil
	s.Scheduled = ScheduleSpec{All: true}
	err := e.d.Deploy(context.Background(), s)
	failure(t, err, "the services are deployed (web web:2, job job:2), but 1 scheduled task(s) still run their old revision: "+
		"schedule default/report: UpdateSchedule: ValidationException: fake: this schedule cannot be updated (services and the tasks moved are left as they are: "+
		"run the same deploy again once the cause is fixed; it changes no service and moves these)")
	if got := e.events.Targets("", "nightly"); !reflect.DeepEqual(got, []evtypes.Target{withTaskDef(nightly, "web:2")}) {
		t.Errorf("rule nightly: %+v, want moved to web:2", got)
	}
	if n := e.sched.Calls()["UpdateSchedule"]; n != 1 {
		t.Errorf("%d UpdateSchedule calls for a permanent error, want 1", n)
	}
	e.wantRevision(t, "web", 2)
	e.wantRevision(t, "job", 2)
	if strings.Contains(e.out.String(), "rolling back") || strings.Contains(e.out.String(), "deregistered") {
		t.Errorf("a schedule error undid the deploy:\n%s", e.out)
	}
	// Once fixed, the same deploy moves it and changes no service.
	e.sched.Reject = false
	e.out.Reset()
	updates := e.fake.Calls()["UpdateService"]
	if err := e.d.Deploy(context.Background(), s); err != nil {
		t.Fatalf("re-run: %v\n%s", err, e.out)
	}
	if after, _ := e.sched.Schedule("default", "report"); aws.ToString(after.Target.EcsParameters.TaskDefinitionArn) != tdARN("job:2") || e.fake.Calls()["UpdateService"] != updates {
		t.Errorf("re-run: schedule runs %s, %d UpdateService calls\n%s", aws.ToString(after.Target.EcsParameters.TaskDefinitionArn), e.fake.Calls()["UpdateService"]-updates, e.out)
	}
}

func TestScheduledTasksDryRunAndNamed(t *testing.T) {
	e := newSchedEnv(t)
	e.events.AddRule("ops", "nightly", ruleTarget("n", cluster, "web:1"))
	e.sched.AddSchedule(fullSchedule("report", cluster, "job:1"))
	s := spec()
	s.DryRun = true
	s.Scheduled = ScheduleSpec{Rules: []string{"ops/nightly"}, Schedules: []string{"report"}}
	if err := e.d.Deploy(context.Background(), s); err != nil {
		t.Fatalf("Deploy: %v\n%s", err, e.out)
	}
	for _, w := range []string{"plan: scheduled: rule ops/nightly target n: web:1 -> new web revision", "plan: scheduled: schedule default/report: job:1 -> new job revision"} {
		if !strings.Contains(e.out.String(), w) {
			t.Errorf("dry run lacks %q:\n%s", w, e.out)
		}
	}
	if e.events.Calls()["PutTargets"]+e.sched.Calls()["UpdateSchedule"]+e.fake.MutatingCalls() != 0 {
		t.Errorf("dry run changed something")
	}
	// A named rule with no target in the cluster is an error before any change.
	e.events.AddRule("", "elsewhere", ruleTarget("x", "staging", "web:1"))
	s.DryRun = false
	s.Scheduled = ScheduleSpec{Rules: []string{"elsewhere"}}
	err := e.d.Deploy(context.Background(), s)
	if err == nil || !strings.Contains(err.Error(), "rule default/elsewhere (--rule): no ECS target in cluster prod") || e.fake.MutatingCalls() != 0 {
		t.Errorf("err = %v, %d mutating calls", err, e.fake.MutatingCalls())
	}
}

func TestUpdateScheduleInputCopiesEveryMember(t *testing.T) {
	var s scheduler.GetScheduleOutput
	fillValue(reflect.ValueOf(&s).Elem(), 0)
	in := updateScheduleInput(&s)
	v := reflect.ValueOf(*in)
	for i := 0; i < v.NumField(); i++ {
		f := v.Type().Field(i)
		if !f.IsExported() || f.Name == "ClientToken" { // the SDK makes one per call
			continue
		}
		if v.Field(i).IsZero() {
			t.Errorf("updateScheduleInput does not copy %s: UpdateSchedule would reset it", f.Name)
		}
	}
}

// `entry deploy rollback --schedules`: the scheduled tasks go back with
// the services, every other field kept.
func TestScheduledTasksFollowAManualRollback(t *testing.T) {
	e := newSchedEnv(t)
	nightly := ruleTarget("n", cluster, "web:1")
	e.events.AddRule("", "nightly", nightly)
	report := fullSchedule("report", cluster, "job:1")
	e.sched.AddSchedule(report)
	s := spec()
	s.Migrate = nil
	s.Scheduled = ScheduleSpec{All: true}
	ctx := context.Background()
	if err := e.d.Deploy(ctx, s); err != nil {
		t.Fatalf("Deploy: %v\n%s", err, e.out)
	}
	if err := e.d.Rollback(ctx, cluster, []string{"web", "job"}, 5*time.Second); err != nil {
		t.Fatalf("Rollback: %v\n%s", err, e.out)
	}
	e.out.Reset()
	if err := e.d.FollowServices(ctx, cluster, []string{"web", "job"}, ScheduleSpec{All: true}); err != nil {
		t.Fatalf("FollowServices: %v\n%s", err, e.out)
	}
	if got := e.events.Targets("", "nightly"); !reflect.DeepEqual(got, []evtypes.Target{nightly}) {
		t.Errorf("rule after the rollback: %+v", got)
	}
	after, _ := e.sched.Schedule("default", "report")
	report.Arn, report.CreationDate, report.LastModificationDate = after.Arn, after.CreationDate, after.LastModificationDate
	if !reflect.DeepEqual(after, report) {
		t.Errorf("schedule after the rollback:\n got %+v\nwant %+v", after, report)
	}
	if !strings.Contains(e.out.String(), "scheduled: rule default/nightly target n: web:2 -> web:1") {
		t.Errorf("output:\n%s", e.out)
	}
}
