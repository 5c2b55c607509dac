package deploy

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	evtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"
)

// Clients are the API clients of the features beyond ECS, each nil until
// a deploy needs it (so a container start never builds them).
type Clients struct {
	Events    *eventbridge.Client
	Scheduler *scheduler.Client
	Logs      *cloudwatchlogs.Client
}

// A ScheduleSpec says which scheduled tasks follow the deploy.
type ScheduleSpec struct {
	// All: every EventBridge rule (on EventBuses) and Scheduler schedule
	// (in ScheduleGroups, default all) whose ECS target is in the cluster.
	All bool
	// Rules ([BUS/]NAME) and Schedules ([GROUP/]NAME) named explicitly.
	Rules, Schedules []string
	EventBuses       []string
	ScheduleGroups   []string
}

// Enabled reports whether scheduled tasks are to follow the deploy.
func (s ScheduleSpec) Enabled() bool { return s.All || len(s.Rules) > 0 || len(s.Schedules) > 0 }

// A scheduledTask is one ECS target of a rule, or one schedule, that runs
// a revision of a family this deploy changes.
type scheduledTask struct {
	kind, name string // "rule" default/nightly, "schedule" default/report
	bus, rule  string
	target     evtypes.Target               // rule target, as listed
	sched      *scheduler.GetScheduleOutput // schedule, as read
	current    string                       // task definition ARN it runs
	fam        *family
}

// maxPages bounds every listing loop.
const maxPages = 1000

func (s *scheduledTask) label() string { return s.kind + " " + s.name }

// scheduled is what follows the services: the tasks found and the
// families only they use.
type scheduled struct {
	tasks  []*scheduledTask
	extra  []*family
	notes  []string
	moved  []*scheduledTask
	regged []string
}

// findScheduled finds the scheduled tasks of the cluster that run a family
// of fams, or a family only scheduled tasks use whose definition the spec's
// images change (built like a service's).
func (d *Deployer) findScheduled(ctx context.Context, spec Spec, clusterARN string, fams []*family) (*scheduled, error) {
	ss := spec.Scheduled
	sc := &scheduled{}
	byFamily := map[string]*family{}
	for _, f := range fams {
		byFamily[f.name] = f
	}
	var found []*scheduledTask
	explicit := map[*scheduledTask]bool{}
	if ss.All || len(ss.Rules) > 0 {
		if d.Events == nil {
			return nil, fmt.Errorf("scheduled tasks: no EventBridge client")
		}
		buses := ss.EventBuses
		if len(buses) == 0 {
			buses = []string{"default"}
		}
		if ss.All {
			for _, bus := range buses {
				names, err := d.ruleNames(ctx, bus, clusterARN)
				if err != nil {
					return nil, err
				}
				for _, name := range names {
					ts, err := d.ruleTasks(ctx, bus, name, clusterARN)
					if err != nil {
						return nil, err
					}
					found = append(found, ts...)
				}
			}
		}
		for _, ref := range ss.Rules {
			bus, name, ok := strings.Cut(ref, "/")
			if !ok {
				bus, name = buses[0], ref
			}
			ts, err := d.ruleTasks(ctx, bus, name, clusterARN)
			if err != nil {
				return nil, err
			}
			if len(ts) == 0 {
				return nil, fmt.Errorf("rule %s/%s (--rule): no ECS target in cluster %s", bus, name, lastPart(clusterARN))
			}
			for _, t := range ts {
				explicit[t] = true
			}
			found = append(found, ts...)
		}
	}
	if ss.All || len(ss.Schedules) > 0 {
		if d.Scheduler == nil {
			return nil, fmt.Errorf("scheduled tasks: no EventBridge Scheduler client")
		}
		var refs []string
		if ss.All {
			var err error
			if refs, err = d.scheduleNames(ctx, ss.ScheduleGroups, clusterARN); err != nil {
				return nil, err
			}
		}
		for _, ref := range ss.Schedules {
			if !strings.Contains(ref, "/") {
				ref = "default/" + ref
			}
			refs = append(refs, "!"+ref)
		}
		for _, ref := range refs {
			ref, named := strings.CutPrefix(ref, "!")
			t, err := d.scheduleTask(ctx, ref, clusterARN)
			if err != nil {
				return nil, err
			}
			if t == nil {
				if named {
					return nil, fmt.Errorf("schedule %s (--schedule): its target is not an ECS task in cluster %s", ref, lastPart(clusterARN))
				}
				continue
			}
			explicit[t] = named
			found = append(found, t)
		}
	}
	seen := map[string]bool{}
	extra := map[string]*family{}
	for _, t := range found {
		key := t.label() + " " + aws.ToString(t.target.Id)
		if seen[key] {
			continue // listed twice: found and named
		}
		seen[key] = true
		fname := familyOf(t.current)
		if !strings.Contains(shortARN(t.current), ":") {
			sc.notes = append(sc.notes, fmt.Sprintf("%s runs family %s without a revision (its latest ACTIVE one); left alone", t.label(), fname))
			continue
		}
		if f := byFamily[fname]; f != nil {
			t.fam = f
			sc.tasks = append(sc.tasks, t)
			continue
		}
		// A family only scheduled tasks use: build its new revision from
		// the newest revision they run.
		f := extra[fname]
		if f == nil || revisionOf(t.current) > int(f.base.Revision) {
			out, err := d.Client.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{
				TaskDefinition: aws.String(t.current), Include: []types.TaskDefinitionField{types.TaskDefinitionFieldTags},
			})
			if err != nil {
				return nil, callError(t.label(), "DescribeTaskDefinition", err)
			}
			nf := &family{name: fname, base: out.TaskDefinition, baseIn: registerInput(out.TaskDefinition, out.Tags)}
			files := map[string]*ecs.RegisterTaskDefinitionInput{}
			for _, in := range spec.TaskDefinitions {
				files[aws.ToString(in.Family)] = in
			}
			if err := d.buildFamily(spec, nf, files, map[string]bool{}); err != nil {
				if explicit[t] {
					return nil, fmt.Errorf("%s: %v", t.label(), err)
				}
				sc.notes = append(sc.notes, fmt.Sprintf("%s runs %s, which this deploy does not change; left alone", t.label(), shortARN(t.current)))
				continue
			}
			if nf.register {
				// A listing that lags behind the last deploy's writes still
				// shows the old revision: reuse the latest one if it
				// already has this definition.
				if latest, err := d.Client.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{
					TaskDefinition: aws.String(fname), Include: []types.TaskDefinitionField{types.TaskDefinitionFieldTags},
				}); err == nil && canonical(registerInput(latest.TaskDefinition, latest.Tags)) == canonical(nf.newIn) {
					nf.target, nf.register = aws.ToString(latest.TaskDefinition.TaskDefinitionArn), false
				}
			}
			if f == nil {
				sc.extra = append(sc.extra, nf)
			} else {
				*f = *nf
				nf = f
			}
			extra[fname] = nf
			f = nf
		}
		t.fam = f
		sc.tasks = append(sc.tasks, t)
	}
	return sc, nil
}

func (d *Deployer) ruleNames(ctx context.Context, bus, clusterARN string) ([]string, error) {
	var names []string
	in := &eventbridge.ListRuleNamesByTargetInput{TargetArn: aws.String(clusterARN), EventBusName: aws.String(bus)}
	for range maxPages {
		page, err := d.Events.ListRuleNamesByTarget(ctx, in)
		if err != nil {
			return nil, callError("event bus "+bus, "ListRuleNamesByTarget", err)
		}
		names = append(names, page.RuleNames...)
		if aws.ToString(page.NextToken) == "" {
			return names, nil
		}
		in.NextToken = page.NextToken
	}
	return nil, fmt.Errorf("event bus %s: ListRuleNamesByTarget: more than %d pages", bus, maxPages)
}

// ruleTasks lists the ECS targets of a rule in the cluster.
func (d *Deployer) ruleTasks(ctx context.Context, bus, name, clusterARN string) ([]*scheduledTask, error) {
	var out []*scheduledTask
	in := &eventbridge.ListTargetsByRuleInput{Rule: aws.String(name), EventBusName: aws.String(bus)}
	for range maxPages {
		page, err := d.Events.ListTargetsByRule(ctx, in)
		if err != nil {
			return nil, callError("rule "+bus+"/"+name, "ListTargetsByRule", err)
		}
		for _, t := range page.Targets {
			if t.EcsParameters == nil || !sameCluster(aws.ToString(t.Arn), clusterARN) {
				continue
			}
			out = append(out, &scheduledTask{kind: "rule", name: bus + "/" + name, bus: bus, rule: name, target: t,
				current: aws.ToString(t.EcsParameters.TaskDefinitionArn)})
		}
		if aws.ToString(page.NextToken) == "" {
			return out, nil
		}
		in.NextToken = page.NextToken
	}
	return nil, fmt.Errorf("rule %s/%s: ListTargetsByRule: more than %d pages", bus, name, maxPages)
}

// scheduleNames lists GROUP/NAME of the schedules whose target is the
// cluster.
func (d *Deployer) scheduleNames(ctx context.Context, groups []string, clusterARN string) ([]string, error) {
	if len(groups) == 0 {
		groups = []string{""} // every group
	}
	var refs []string
	for _, g := range groups {
		in := &scheduler.ListSchedulesInput{}
		if g != "" {
			in.GroupName = aws.String(g)
		}
		p := scheduler.NewListSchedulesPaginator(d.Scheduler, in)
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				return nil, callError("schedules", "ListSchedules", err)
			}
			for _, s := range page.Schedules {
				// The listing lags behind writes; GetSchedule has the truth.
				if s.Target != nil && sameCluster(aws.ToString(s.Target.Arn), clusterARN) {
					refs = append(refs, aws.ToString(s.GroupName)+"/"+aws.ToString(s.Name))
				}
			}
		}
	}
	return refs, nil
}

// scheduleTask reads GROUP/NAME; nil when its target is not an ECS task
// of the cluster.
func (d *Deployer) scheduleTask(ctx context.Context, ref, clusterARN string) (*scheduledTask, error) {
	group, name, _ := strings.Cut(ref, "/")
	s, err := d.Scheduler.GetSchedule(ctx, &scheduler.GetScheduleInput{Name: aws.String(name), GroupName: aws.String(group)})
	if err != nil {
		return nil, callError("schedule "+ref, "GetSchedule", err)
	}
	if s.Target == nil || s.Target.EcsParameters == nil || !sameCluster(aws.ToString(s.Target.Arn), clusterARN) {
		return nil, nil
	}
	return &scheduledTask{kind: "schedule", name: ref, sched: s, current: aws.ToString(s.Target.EcsParameters.TaskDefinitionArn)}, nil
}

func sameCluster(arn, clusterARN string) bool {
	return arn == clusterARN || (strings.Contains(arn, ":cluster/") && lastPart(arn) == lastPart(clusterARN) && !strings.Contains(clusterARN, ":"))
}

// updateScheduleInput copies every member UpdateSchedule takes from a
// schedule as GetSchedule returns it: UpdateSchedule replaces the whole
// schedule, so a member left out would be reset.
// TestUpdateScheduleInputCopiesEveryMember fails when the SDK grows one
// this function does not copy.
func updateScheduleInput(s *scheduler.GetScheduleOutput) *scheduler.UpdateScheduleInput {
	return &scheduler.UpdateScheduleInput{
		ActionAfterCompletion:      s.ActionAfterCompletion,
		Description:                s.Description,
		EndDate:                    s.EndDate,
		FlexibleTimeWindow:         s.FlexibleTimeWindow,
		GroupName:                  s.GroupName,
		KmsKeyArn:                  s.KmsKeyArn,
		Name:                       s.Name,
		ScheduleExpression:         s.ScheduleExpression,
		ScheduleExpressionTimezone: s.ScheduleExpressionTimezone,
		StartDate:                  s.StartDate,
		State:                      s.State,
		Target:                     s.Target,
	}
}

// point makes t run arn, changing nothing else.
func (d *Deployer) point(ctx context.Context, t *scheduledTask, arn string) error {
	if t.kind == "rule" {
		target := t.target
		ecsp := *target.EcsParameters
		ecsp.TaskDefinitionArn = aws.String(arn)
		target.EcsParameters = &ecsp
		out, err := d.Events.PutTargets(ctx, &eventbridge.PutTargetsInput{
			Rule: aws.String(t.rule), EventBusName: aws.String(t.bus), Targets: []evtypes.Target{target},
		})
		if err != nil {
			return callError(t.label(), "PutTargets", err)
		}
		if out.FailedEntryCount > 0 {
			e := out.FailedEntries[0]
			return fmt.Errorf("%s: PutTargets: target %s: %s: %s", t.label(), aws.ToString(e.TargetId), aws.ToString(e.ErrorCode), aws.ToString(e.ErrorMessage))
		}
		return nil
	}
	in := updateScheduleInput(t.sched)
	target := *in.Target
	ecsp := *target.EcsParameters
	ecsp.TaskDefinitionArn = aws.String(arn)
	target.EcsParameters = &ecsp
	in.Target = &target
	if _, err := d.Scheduler.UpdateSchedule(ctx, in); err != nil {
		return callError(t.label(), "UpdateSchedule", err)
	}
	return nil
}

// followSchedules registers the new revisions of the families only
// scheduled tasks use and points every scheduled task at its family's new
// revision. On an error it restores the tasks it already moved.
func (d *Deployer) followSchedules(ctx context.Context, sc *scheduled) error {
	if sc == nil {
		return nil
	}
	for _, n := range sc.notes {
		d.out("scheduled: %s", n)
	}
	for _, f := range sc.extra {
		if !f.register || f.target != "" {
			continue
		}
		out, err := d.Client.RegisterTaskDefinition(ctx, f.newIn)
		if err != nil {
			return d.unmove(ctx, sc, callError(f.name, "RegisterTaskDefinition", err))
		}
		f.target = aws.ToString(out.TaskDefinition.TaskDefinitionArn)
		sc.regged = append(sc.regged, f.target)
		d.out("%s: registered %s for scheduled tasks (%s)", f.name, shortARN(f.target), strings.Join(f.changed, ", "))
	}
	var moved []string
	for _, t := range sc.tasks {
		if t.current == t.fam.target {
			continue
		}
		if err := d.point(ctx, t, t.fam.target); err != nil {
			return d.unmove(ctx, sc, err)
		}
		sc.moved = append(sc.moved, t)
		d.out("scheduled: %s: %s -> %s", t.label(), shortARN(t.current), shortARN(t.fam.target))
		moved = append(moved, t.label()+" "+shortARN(t.fam.target))
	}
	if len(moved) > 0 {
		d.out("scheduled tasks moved: %s", strings.Join(moved, ", "))
	} else if len(sc.tasks) > 0 {
		d.out("scheduled tasks already run the new revisions")
	} else {
		d.out("scheduled tasks: none runs a family this deploy changes")
	}
	return nil
}

// unmove puts the moved tasks back on their revisions and drops the
// revisions registered only for them, then returns cause.
func (d *Deployer) unmove(ctx context.Context, sc *scheduled, cause error) error {
	ctx = context.WithoutCancel(ctx)
	msg := "scheduled tasks: " + cause.Error()
	for _, t := range sc.moved {
		if err := d.point(ctx, t, t.current); err != nil {
			msg += fmt.Sprintf("; RESTORE FAILED: %v", err)
			continue
		}
		d.out("scheduled: %s: restored %s", t.label(), shortARN(t.current))
	}
	sc.moved = nil
	d.dropRevisions(ctx, sc.regged, nil, nil)
	return fmt.Errorf("%s", msg)
}

// schedulesWhenNoop handles the scheduled tasks when every service is
// already up to date: a re-run after a deploy whose scheduled tasks did not
// follow moves them, and otherwise changes nothing.
func (d *Deployer) schedulesWhenNoop(ctx context.Context, spec Spec, sc *scheduled) error {
	if spec.DryRun {
		d.printSchedulePlan(sc)
		return nil
	}
	return d.followSchedules(ctx, sc)
}

// printSchedulePlan is the --dry-run part for scheduled tasks.
func (d *Deployer) printSchedulePlan(sc *scheduled) {
	if sc == nil {
		return
	}
	for _, n := range sc.notes {
		d.out("plan: scheduled: %s", n)
	}
	for _, f := range sc.extra {
		if f.register {
			d.out("plan: %s: register a new revision from %s for scheduled tasks (%s)", f.name, shortARN(aws.ToString(f.base.TaskDefinitionArn)), strings.Join(f.changed, ", "))
		}
	}
	for _, t := range sc.tasks {
		if t.current == t.fam.target {
			d.out("plan: scheduled: %s already runs %s; left alone", t.label(), shortARN(t.current))
			continue
		}
		d.out("plan: scheduled: %s: %s -> new %s revision, after every service is stable", t.label(), shortARN(t.current), t.fam.name)
	}
}

// FollowServices points the scheduled tasks that run another revision of
// a family the services run at the services' live revision: after `entry
// deploy rollback`, they go back with the services. A family only
// scheduled tasks use is left alone.
func (d *Deployer) FollowServices(ctx context.Context, cluster string, services []string, ss ScheduleSpec) error {
	if !ss.Enabled() {
		return nil
	}
	svcs, err := d.describeServices(ctx, cluster, services)
	if err != nil {
		return err
	}
	var fams []*family
	seen := map[string]bool{}
	clusterARN := ""
	for _, name := range services {
		s := svcs[name]
		clusterARN = aws.ToString(s.ClusterArn)
		live := aws.ToString(s.TaskDefinition)
		if fam := familyOf(live); !seen[fam] {
			seen[fam] = true
			fams = append(fams, &family{name: fam, target: live})
		}
	}
	sc, err := d.findScheduled(ctx, Spec{Cluster: cluster, Scheduled: ss}, clusterARN, fams)
	if err != nil {
		return err
	}
	sc.extra = nil // no image to build them with
	return d.followSchedules(ctx, sc)
}
