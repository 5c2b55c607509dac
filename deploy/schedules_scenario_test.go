package deploy

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	evtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"
	sctypes "github.com/aws/aws-sdk-go-v2/service/scheduler/types"

	"github.com/entryhq/entry/deploy/ecsfake"
)

// Scenarios of issue 20 §5 and §8: scheduled tasks on a real account.

func schedSpec() Spec {
	s := spec()
	s.Migrate = nil
	s.Scheduled = ScheduleSpec{All: true}
	return s
}

// EventBridge's ConcurrentModificationException ("Try again"), Scheduler's
// 409 ConflictException, a transient FailedEntries code and a dropped
// connection are retried until they pass: the deploy succeeds, nothing is
// rolled back or deregistered.
func TestScheduleTransientErrorsAreRetried(t *testing.T) {
	e := newSchedEnv(t)
	nightly := ruleTarget("n", cluster, "web:1")
	e.events.AddRule("", "nightly", nightly)
	e.events.AddRule("", "hourly", ruleTarget("h", cluster, "web:1"))
	e.sched.AddSchedule(fullSchedule("report", cluster, "job:1"))
	e.events.FailFor("PutTargets", 400, "ConcurrentModificationException", "Try again", 150*time.Millisecond)
	e.sched.FailFor("UpdateSchedule", 409, "ConflictException", "Conflict with a concurrent update", 150*time.Millisecond)
	e.events.DropFor("ListTargetsByRule", 50*time.Millisecond)
	if err := e.d.Deploy(context.Background(), schedSpec()); err != nil {
		t.Fatalf("Deploy: %v\n%s", err, e.out)
	}
	e.wantRevision(t, "web", 2)
	e.wantRevision(t, "job", 2)
	if got := e.events.Targets("", "nightly"); !reflect.DeepEqual(got, []evtypes.Target{withTaskDef(nightly, "web:2")}) {
		t.Errorf("rule nightly: %+v", got)
	}
	if after, _ := e.sched.Schedule("default", "report"); aws.ToString(after.Target.EcsParameters.TaskDefinitionArn) != tdARN("job:2") {
		t.Errorf("schedule report runs %s", aws.ToString(after.Target.EcsParameters.TaskDefinitionArn))
	}
	if e.events.Faulted("PutTargets") == 0 || e.sched.Faulted("UpdateSchedule") == 0 {
		t.Errorf("the faults were not met: %d %d", e.events.Faulted("PutTargets"), e.sched.Faulted("UpdateSchedule"))
	}
	e.wantOutput(t, "PutTargets: ConcurrentModificationException: Try again; retrying",
		"warning: schedule default/report: UpdateSchedule: ConflictException: Conflict with a concurrent update; retrying",
		"scheduled tasks: 3 moved\n")
	if strings.Contains(e.out.String(), "rolling back") || strings.Contains(e.out.String(), "deregistered") {
		t.Errorf("a transient schedule error undid work:\n%s", e.out)
	}

	// A partial failure: PutTargets answers 200 with FailedEntries whose
	// code is transient.
	e2 := newSchedEnv(t)
	e2.events.AddRule("", "nightly", nightly)
	e2.events.FailEntriesFor("ConcurrentModificationException", 100*time.Millisecond)
	if err := e2.d.Deploy(context.Background(), schedSpec()); err != nil {
		t.Fatalf("Deploy with FailedEntries: %v\n%s", err, e2.out)
	}
	if got := e2.events.Targets("", "nightly"); !reflect.DeepEqual(got, []evtypes.Target{withTaskDef(nightly, "web:2")}) || e2.events.FailedEntries() == 0 {
		t.Errorf("rule nightly: %+v after %d failed entries", got, e2.events.FailedEntries())
	}
	e2.wantOutput(t, "PutTargets: target n: ConcurrentModificationException: Try again (fake); retrying")
}

// A transient error that outlasts --timeout is a failure, but of the
// scheduled tasks only: the healthy services stay.
func TestScheduleTransientErrorUntilTheTimeout(t *testing.T) {
	e := newSchedEnv(t)
	e.sched.AddSchedule(fullSchedule("report", cluster, "job:1"))
	e.sched.FailFor("UpdateSchedule", 409, "ConflictException", "Conflict", time.Hour)
	s := schedSpec()
	s.Timeout = 2 * time.Second
	failure(t, e.d.Deploy(context.Background(), s), "the services are deployed (web web:2, job job:2), but 1 scheduled task(s) still run their old revision: "+
		"schedule default/report: UpdateSchedule: ConflictException: Conflict (still failing after 2s of retries)")
	e.wantRevision(t, "web", 2)
	e.wantRevision(t, "job", 2)
}

// A rule target and a schedule edited by someone else while the services
// roll out keep that edit: each is read again just before it is written,
// and only its task definition changes. One moved to another revision
// meanwhile is left alone, and the output says so.
func TestScheduleEditedMidRollout(t *testing.T) {
	e := newSchedEnv(t)
	nightly := ruleTarget("n", cluster, "web:1")
	e.events.AddRule("", "nightly", nightly, ruleTarget("other", cluster, "web:1"))
	e.sched.AddSchedule(fullSchedule("report", cluster, "job:1"))
	web2 := e.fake.Register(webDef()) // a revision someone else points a target at; the deploy's is web:3
	e.fake.Rollout(cluster, "web", ecsfake.Rollout{Outcome: ecsfake.Complete, Steps: 6})
	// Mid-rollout: after the scheduled tasks were found, before any moves
	// (a count of DescribeServices polls is not: on a busy machine the
	// rollout may end first).
	e.fake.OnCall("UpdateService", 1, func() {
		e.sched.Edit("default", "report", func(s *scheduler.GetScheduleOutput) {
			s.State = sctypes.ScheduleStateDisabled
			s.ScheduleExpression = aws.String("cron(30 4 * * ? *)")
		})
		e.events.Edit("", "nightly", "n", func(t *evtypes.Target) { t.Input = aws.String(`{"edited":true}`) })
		e.events.Edit("", "nightly", "other", func(t *evtypes.Target) {
			p := *t.EcsParameters
			p.TaskDefinitionArn = aws.String(web2)
			t.EcsParameters = &p
		})
	})
	if err := e.d.Deploy(context.Background(), schedSpec()); err != nil {
		t.Fatalf("Deploy: %v\n%s", err, e.out)
	}
	after, _ := e.sched.Schedule("default", "report")
	if after.State != sctypes.ScheduleStateDisabled || aws.ToString(after.ScheduleExpression) != "cron(30 4 * * ? *)" ||
		aws.ToString(after.Target.EcsParameters.TaskDefinitionArn) != tdARN("job:2") {
		t.Errorf("schedule report: state %s, expression %s, runs %s; want the edit kept and job:2", after.State,
			aws.ToString(after.ScheduleExpression), aws.ToString(after.Target.EcsParameters.TaskDefinitionArn))
	}
	targets := e.events.Targets("", "nightly")
	want := withTaskDef(nightly, "web:3")
	want.Input = aws.String(`{"edited":true}`)
	if !reflect.DeepEqual(targets[0], want) {
		t.Errorf("target n: %+v\nwant %+v", targets[0], want)
	}
	if got := aws.ToString(targets[1].EcsParameters.TaskDefinitionArn); got != web2 {
		t.Errorf("target other runs %s, want %s (someone else's choice)", got, web2)
	}
	e.wantOutput(t, "scheduled: rule default/nightly target other: now runs web:2, not web:1 as when the deploy started: changed by someone else; left alone",
		"scheduled tasks: 2 moved; left alone: 1 changed by someone else during the deploy\n")
}

// --schedules searches every event bus and names them; with --event-bus it
// names those it did not search.
func TestRuleOnAnotherBus(t *testing.T) {
	e := newSchedEnv(t)
	e.events.AddRule("ops", "nightly", ruleTarget("n", cluster, "web:1"))
	e.events.AddBus("partner")
	if err := e.d.Deploy(context.Background(), schedSpec()); err != nil {
		t.Fatalf("Deploy: %v\n%s", err, e.out)
	}
	if got := aws.ToString(e.events.Targets("ops", "nightly")[0].EcsParameters.TaskDefinitionArn); got != tdARN("web:2") {
		t.Errorf("rule on bus ops runs %s", got)
	}
	e.wantOutput(t, "scheduled: searching every event bus: default, ops, partner\n", "scheduled: rule ops/nightly target n: web:1 -> web:2")

	e2 := newSchedEnv(t)
	e2.events.AddRule("ops", "nightly", ruleTarget("n", cluster, "web:1"))
	s := schedSpec()
	s.DryRun = true
	s.Scheduled.EventBuses = []string{"default"}
	if err := e2.d.Deploy(context.Background(), s); err != nil {
		t.Fatalf("Deploy: %v\n%s", err, e2.out)
	}
	e2.wantOutput(t, "scheduled: searching event bus(es) default (--event-bus); not searched: ops\n", "plan: scheduled tasks: 0 to move\n")
}

// The dry run's last line is the one that says nothing changed, after the
// plan it refers to, the scheduled tasks' part included.
func TestDryRunLineComesLast(t *testing.T) {
	e := newSchedEnv(t)
	e.events.AddRule("", "nightly", ruleTarget("n", cluster, "web:1"))
	s := schedSpec()
	s.DryRun = true
	for _, noop := range []bool{false, true} {
		e.out.Reset()
		if noop {
			s.Image = "repo/app:old"
		}
		if err := e.d.Deploy(context.Background(), s); err != nil {
			t.Fatalf("Deploy: %v\n%s", err, e.out)
		}
		lines := strings.Split(strings.TrimSpace(e.out.String()), "\n")
		if lines[len(lines)-1] != "dry run: nothing was changed" || strings.Count(e.out.String(), "dry run: nothing was changed") != 1 {
			t.Errorf("noop %v: the dry-run line is not the last one:\n%s", noop, e.out)
		}
	}
}

// At a company's scale: many rules and schedules, most left alone; one
// names a revision that no longer exists, of a family this deploy does not
// touch. The deploy goes on; that task is reported and skipped; one of a
// family the deploy changes that names a missing revision moves all the
// same; each task definition is described once; what is left alone is
// counted, not listed.
func TestScheduledTasksAtScale(t *testing.T) {
	e := newSchedEnv(t)
	e.events.PageSize, e.sched.PageSize = 100, 100
	e.fake.Register(&ecs.RegisterTaskDefinitionInput{Family: aws.String("backup"),
		ContainerDefinitions: []ecstypes.ContainerDefinition{{Name: aws.String("pgdump"), Image: aws.String("postgres:16")}}})
	e.fake.Register(&ecs.RegisterTaskDefinitionInput{Family: aws.String("cron"),
		ContainerDefinitions: []ecstypes.ContainerDefinition{{Name: aws.String("app"), Image: aws.String("repo/app:old")}}})
	for i := range 60 {
		e.events.AddRule("", fmt.Sprintf("backup-%02d", i), ruleTarget("b", cluster, "backup:1"))
		e.sched.AddSchedule(fullSchedule(fmt.Sprintf("backup-%02d", i), cluster, "backup:1"))
	}
	e.events.AddRule("", "old-report", ruleTarget("r", cluster, "old-report:3")) // no such task definition
	e.events.AddRule("", "nightly", ruleTarget("n", cluster, "web:7"))           // deployed family, revision gone
	e.events.AddRule("", "cron-a", ruleTarget("c", cluster, "cron:1"))
	e.events.AddRule("", "cron-b", ruleTarget("c", cluster, "cron:9")) // gone; its family is built from cron:1
	e.sched.AddSchedule(fullSchedule("report", cluster, "job:1"))
	before := e.fake.Calls()["DescribeTaskDefinition"]
	if err := e.d.Deploy(context.Background(), schedSpec()); err != nil {
		t.Fatalf("Deploy: %v\n%s", err, e.out)
	}
	if got := aws.ToString(e.events.Targets("", "nightly")[0].EcsParameters.TaskDefinitionArn); got != tdARN("web:2") {
		t.Errorf("rule nightly runs %s, want web:2", got)
	}
	for _, r := range []string{"cron-a", "cron-b"} {
		if got := aws.ToString(e.events.Targets("", r)[0].EcsParameters.TaskDefinitionArn); got != tdARN("cron:2") {
			t.Errorf("rule %s runs %s, want cron:2", r, got)
		}
	}
	e.wantOutput(t, "scheduled: rule default/old-report target r runs old-report:3, which cannot be read (old-report:3: DescribeTaskDefinition: ClientException: ",
		"scheduled: rule default/cron-b target c runs cron:9, which cannot be read (",
		"; it follows the new revision of family cron all the same",
		"scheduled tasks: 4 moved; left alone: 120 of a family this deploy does not change, 1 whose task definition cannot be read\n")
	if n := strings.Count(e.out.String(), "left alone"); n != 2 { // the summary, the one warning
		t.Errorf("%d lines say left alone:\n%s", n, e.out)
	}
	// web and job (plan), backup:1, old-report:3, cron:1, cron:9, cron
	// (the latest-revision check): each once.
	if n := e.fake.Calls()["DescribeTaskDefinition"] - before; n > 7 {
		t.Errorf("%d DescribeTaskDefinition calls, want each task definition described once", n)
	}
}

// Discovery reads the rules and schedules beside the rollout: the first
// UpdateService does not wait for a rule whose reads are throttled.
func TestDiscoveryDoesNotHoldTheRolloutBack(t *testing.T) {
	e := newSchedEnv(t)
	e.events.AddRule("", "nightly", ruleTarget("n", cluster, "web:1"))
	e.events.FailFor("ListTargetsByRule", 400, "ThrottlingException", "Rate exceeded", 2*time.Second)
	read := -1
	e.fake.OnCall("UpdateService", 1, func() {
		read = e.events.Calls()["ListTargetsByRule"] - e.events.Faulted("ListTargetsByRule")
	})
	if err := e.d.Deploy(context.Background(), schedSpec()); err != nil {
		t.Fatalf("Deploy: %v\n%s", err, e.out)
	}
	if read != 0 {
		t.Errorf("the rollout started after %d successful rule reads, want 0: discovery held it back", read)
	}
	if got := aws.ToString(e.events.Targets("", "nightly")[0].EcsParameters.TaskDefinitionArn); got != tdARN("web:2") {
		t.Errorf("rule nightly runs %s", got)
	}
}
