package deploy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	evtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"
	sctypes "github.com/aws/aws-sdk-go-v2/service/scheduler/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// Clients are the API clients of the features beyond ECS, each nil until
// a deploy needs it (so a container start never builds them).
type Clients struct {
	Events    *eventbridge.Client
	Scheduler *scheduler.Client
	Logs      *cloudwatchlogs.Client
	ECR       *ecr.Client // the image check (images.go); nil: no check
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
	// Timeout bounds the retries of the scheduled tasks' writes after
	// `entry deploy rollback` (a deploy uses its own).
	Timeout time.Duration
}

// Enabled reports whether scheduled tasks are to follow the deploy.
func (s ScheduleSpec) Enabled() bool { return s.All || len(s.Rules) > 0 || len(s.Schedules) > 0 }

// A scheduledTask is one ECS target of a rule, or one schedule, that runs
// a revision of a family this deploy changes.
type scheduledTask struct {
	kind, name string // "rule" default/nightly, "schedule" default/report
	bus, rule  string
	id         string                       // the rule target's Id
	target     evtypes.Target               // rule target, as listed
	sched      *scheduler.GetScheduleOutput // schedule, as read
	current    string                       // task definition ARN it runs
	fam        *family
	explicit   bool // named by --rule or --schedule
	unreadable bool // its task definition cannot be described
}

// maxPages bounds every listing loop.
const maxPages = 1000

// label names the task in every line: a rule's target by its Id, since a
// rule may have several.
func (s *scheduledTask) label() string {
	if s.kind == "rule" {
		return "rule " + s.name + " target " + s.id
	}
	return s.kind + " " + s.name
}

// Why a scheduled task is left alone, in the order the summary lists them.
const (
	aloneOnTarget    = "already on the new revision"
	aloneOtherFamily = "of a family this deploy does not change"
	aloneNoRevision  = "naming a family without a revision (ECS runs its latest ACTIVE one)"
	aloneUnreadable  = "whose task definition cannot be read"
	aloneChanged     = "changed by someone else during the deploy"
	aloneGone        = "removed during the deploy"
)

var aloneOrder = []string{aloneOnTarget, aloneOtherFamily, aloneNoRevision, aloneUnreadable, aloneChanged, aloneGone}

// scheduled is what follows the services: the tasks found and the
// families only they use. Discovery may still be running (see
// findScheduled): join before reading anything else.
type scheduled struct {
	tasks    []*scheduledTask
	extra    []*family
	alone    map[string]int // reason -> count
	warnings []string       // one line each: a task the user must know about
	moved    []*scheduledTask
	regged   []string

	done chan struct{} // closed when discovery ended
	err  error
	stop context.CancelFunc
}

// join waits for discovery and returns its error.
func (sc *scheduled) join() error {
	<-sc.done
	return sc.err
}

// close stops a discovery still running (the deploy failed before the
// scheduled tasks were due).
func (sc *scheduled) close() {
	if sc != nil && sc.stop != nil {
		sc.stop()
		<-sc.done
	}
}

// leftAlone is the one-line summary of the tasks left alone, a count per
// reason; "" when there are none.
func (sc *scheduled) leftAlone() string {
	var parts []string
	for _, why := range aloneOrder {
		if n := sc.alone[why]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, why))
		}
	}
	return strings.Join(parts, ", ")
}

// A candidate is a rule or schedule that may run an ECS task in the
// cluster, from the listings: what discovery must know before the rollout
// starts.
type candidate struct {
	kind, bus, name string // name: RULE, or GROUP/NAME for a schedule
	explicit        bool
}

// findScheduled finds the scheduled tasks of the cluster that run a family
// of fams, or a family only scheduled tasks use whose definition the spec's
// images change (built like a service's).
//
// The listings (the candidate set, and what proves the permissions) are
// made before it returns; the per-rule and per-schedule reads and the
// task definitions go on in the background while the services roll out
// (every rule and schedule is read again just before it is written
// anyway). Tasks named with --rule or --schedule are resolved before it
// returns, so that a typo fails the deploy before anything changed.
func (d *Deployer) findScheduled(ctx context.Context, spec Spec, clusterARN string, fams []*family) (*scheduled, error) {
	cands, err := d.scheduleCandidates(ctx, spec.Scheduled, clusterARN)
	if err != nil {
		return nil, err
	}
	sc := &scheduled{alone: map[string]int{}, done: make(chan struct{})}
	explicit := false
	for _, c := range cands {
		explicit = explicit || c.explicit
	}
	if explicit {
		sc.err = d.quiet().resolveScheduled(ctx, spec, clusterARN, fams, cands, sc)
		close(sc.done)
		if sc.err != nil {
			return nil, sc.err
		}
		return sc, nil
	}
	rctx, cancel := context.WithCancel(ctx)
	sc.stop = cancel
	go func() {
		defer close(sc.done)
		sc.err = d.quiet().resolveScheduled(rctx, spec, clusterARN, fams, cands, sc)
	}()
	return sc, nil
}

// quiet is d printing nothing: discovery runs beside the rollout, whose
// lines it must not interleave with; what it finds is printed later.
func (d *Deployer) quiet() *Deployer {
	q := *d
	q.Out = io.Discard
	return &q
}

// scheduleCandidates lists the rules and schedules whose target is the
// cluster, and those named explicitly.
func (d *Deployer) scheduleCandidates(ctx context.Context, ss ScheduleSpec, clusterARN string) ([]candidate, error) {
	var cands []candidate
	if ss.All || len(ss.Rules) > 0 {
		if d.Events == nil {
			return nil, fmt.Errorf("scheduled tasks: no EventBridge client")
		}
		defaultBus := "default"
		if len(ss.EventBuses) > 0 {
			defaultBus = ss.EventBuses[0]
		}
		if ss.All {
			for _, bus := range d.eventBuses(ctx, ss.EventBuses) {
				names, err := d.ruleNames(ctx, bus, clusterARN)
				if err != nil {
					return nil, err
				}
				for _, name := range names {
					cands = append(cands, candidate{kind: "rule", bus: bus, name: name})
				}
			}
		}
		for _, ref := range ss.Rules {
			bus, name, ok := strings.Cut(ref, "/")
			if !ok {
				bus, name = defaultBus, ref
			}
			cands = append(cands, candidate{kind: "rule", bus: bus, name: name, explicit: true})
		}
	}
	if ss.All || len(ss.Schedules) > 0 {
		if d.Scheduler == nil {
			return nil, fmt.Errorf("scheduled tasks: no EventBridge Scheduler client")
		}
		if ss.All {
			refs, err := d.scheduleNames(ctx, ss.ScheduleGroups, clusterARN)
			if err != nil {
				return nil, err
			}
			for _, ref := range refs {
				cands = append(cands, candidate{kind: "schedule", name: ref})
			}
		}
		for _, ref := range ss.Schedules {
			if !strings.Contains(ref, "/") {
				ref = "default/" + ref
			}
			cands = append(cands, candidate{kind: "schedule", name: ref, explicit: true})
		}
	}
	return cands, nil
}

// eventBuses returns the buses --schedules searches, and says which: every
// bus of the account and region, or those named with --event-bus (and
// then which others exist). A bus list that cannot be read
// (events:ListEventBuses not allowed) is no reason to fail: the buses
// named, or the default one, are searched, and the line says so.
func (d *Deployer) eventBuses(ctx context.Context, named []string) []string {
	var all []string
	var listErr error
	in := &eventbridge.ListEventBusesInput{Limit: aws.Int32(100)}
	for range maxPages {
		out, err := d.Events.ListEventBuses(ctx, in)
		if err != nil {
			listErr = callError("event buses", "ListEventBuses", err)
			break
		}
		for _, b := range out.EventBuses {
			all = append(all, aws.ToString(b.Name))
		}
		if aws.ToString(out.NextToken) == "" {
			break
		}
		in.NextToken = out.NextToken
	}
	switch {
	case len(named) > 0:
		var others []string
		for _, b := range all {
			if !slices.Contains(named, b) {
				others = append(others, b)
			}
		}
		line := fmt.Sprintf("scheduled: searching event bus(es) %s (--event-bus)", strings.Join(named, ", "))
		if len(others) > 0 {
			line += "; not searched: " + strings.Join(others, ", ")
		}
		d.out("%s", line)
		return named
	case listErr != nil:
		d.out("scheduled: warning: cannot list the event buses (%v); searching only the default bus (name others with --event-bus)", listErr)
		return []string{"default"}
	}
	d.out("scheduled: searching every event bus: %s", strings.Join(all, ", "))
	return all
}

// resolveScheduled reads the candidates (rule targets, schedules) and
// classifies them into sc: to move, or left alone and why. Each task
// definition is described once.
func (d *Deployer) resolveScheduled(ctx context.Context, spec Spec, clusterARN string, fams []*family, cands []candidate, sc *scheduled) error {
	byFamily := map[string]*family{}
	for _, f := range fams {
		byFamily[f.name] = f
	}
	timeout := orDefault(spec.Timeout, DefaultTimeout)
	var found []*scheduledTask
	for _, c := range cands {
		if c.kind == "rule" {
			var ts []*scheduledTask
			err := d.retryUnless(ctx, timeout, "rule "+c.bus+"/"+c.name, "ListTargetsByRule", permanentScheduleError, func(ctx context.Context, _ int) (err error) {
				ts, err = d.ruleTasks(ctx, c.bus, c.name, clusterARN)
				return err
			})
			if err != nil {
				return err
			}
			if len(ts) == 0 && c.explicit {
				return fmt.Errorf("rule %s/%s (--rule): no ECS target in cluster %s", c.bus, c.name, lastPart(clusterARN))
			}
			for _, t := range ts {
				t.explicit = c.explicit
			}
			found = append(found, ts...)
			continue
		}
		var t *scheduledTask
		err := d.retryUnless(ctx, timeout, "schedule "+c.name, "GetSchedule", permanentScheduleError, func(ctx context.Context, _ int) (err error) {
			t, err = d.scheduleTask(ctx, c.name, clusterARN)
			return err
		})
		if err != nil {
			return err
		}
		if t == nil {
			if c.explicit {
				return fmt.Errorf("schedule %s (--schedule): its target is not an ECS task in cluster %s", c.name, lastPart(clusterARN))
			}
			continue
		}
		t.explicit = c.explicit
		found = append(found, t)
	}
	type described struct {
		out *ecs.DescribeTaskDefinitionOutput
		err error
	}
	cache := map[string]described{}
	describe := func(ref string) (*ecs.DescribeTaskDefinitionOutput, error) {
		if r, ok := cache[ref]; ok {
			return r.out, r.err
		}
		var out *ecs.DescribeTaskDefinitionOutput
		err := d.retryCall(ctx, timeout, shortARN(ref), "DescribeTaskDefinition", func(ctx context.Context, _ int) (err error) {
			out, err = d.Client.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{
				TaskDefinition: aws.String(ref), Include: []types.TaskDefinitionField{types.TaskDefinitionFieldTags},
			})
			return err
		})
		cache[ref] = described{out, err}
		return out, err
	}
	seen := map[string]bool{}
	extra := map[string][]*scheduledTask{} // family only scheduled tasks use -> its tasks
	var extraOrder []string
	for _, t := range found {
		if seen[t.label()] {
			continue // listed twice: found and named
		}
		seen[t.label()] = true
		fname := familyOf(t.current)
		switch {
		case !strings.Contains(shortARN(t.current), ":"):
			sc.alone[aloneNoRevision]++
		case byFamily[fname] != nil:
			t.fam = byFamily[fname]
			sc.tasks = append(sc.tasks, t)
		default:
			if extra[fname] == nil {
				extraOrder = append(extraOrder, fname)
			}
			extra[fname] = append(extra[fname], t)
		}
	}
	files := map[string]*ecs.RegisterTaskDefinitionInput{}
	for _, in := range spec.TaskDefinitions {
		files[aws.ToString(in.Family)] = in
	}
	// A family only scheduled tasks use: build its new revision from the
	// newest revision they run that can be read.
	for _, fname := range extraOrder {
		ts := extra[fname]
		var arns []string
		for _, t := range ts {
			if !slices.Contains(arns, t.current) {
				arns = append(arns, t.current)
			}
		}
		sort.Slice(arns, func(i, j int) bool { return revisionOf(arns[i]) > revisionOf(arns[j]) })
		var base *ecs.DescribeTaskDefinitionOutput
		for _, arn := range arns {
			if out, err := describe(arn); err == nil {
				base = out
				break
			}
		}
		for _, t := range ts {
			if _, err := describe(t.current); err != nil {
				t.unreadable = true
				if base == nil {
					if t.explicit {
						return fmt.Errorf("%s: %v", t.label(), err)
					}
					sc.alone[aloneUnreadable]++
					sc.warnings = append(sc.warnings, fmt.Sprintf("%s runs %s, which cannot be read (%v); left alone", t.label(), shortARN(t.current), err))
				}
			}
		}
		if base == nil {
			continue
		}
		nf := &family{name: fname, base: base.TaskDefinition, baseIn: registerInput(base.TaskDefinition, base.Tags)}
		if err := d.buildFamily(spec, nf, files, map[string]bool{}); err != nil {
			for _, t := range ts {
				if t.explicit {
					return fmt.Errorf("%s: %v", t.label(), err)
				}
				sc.alone[aloneOtherFamily]++
			}
			continue
		}
		if nf.register {
			// A listing that lags behind the last deploy's writes still
			// shows the old revision: reuse the latest one if it already
			// has this definition.
			if latest, err := describe(fname); err == nil && canonical(registerInput(latest.TaskDefinition, latest.Tags)) == canonical(nf.newIn) {
				nf.target, nf.register = aws.ToString(latest.TaskDefinition.TaskDefinitionArn), false
			}
		}
		sc.extra = append(sc.extra, nf)
		for _, t := range ts {
			t.fam = nf
			sc.tasks = append(sc.tasks, t)
			if t.unreadable {
				sc.warnings = append(sc.warnings, fmt.Sprintf("%s runs %s, which cannot be read (%v); it follows the new revision of family %s all the same",
					t.label(), shortARN(t.current), cache[t.current].err, fname))
			}
		}
	}
	return nil
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
			out = append(out, &scheduledTask{kind: "rule", name: bus + "/" + name, bus: bus, rule: name, id: aws.ToString(t.Id), target: t,
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

// A failedEntryError is a PutTargets entry EventBridge did not write.
type failedEntryError struct{ id, code, msg string }

func (e *failedEntryError) Error() string {
	return fmt.Sprintf("target %s: %s: %s", e.id, e.code, e.msg)
}

// transientCodes are the error codes of a write that succeeds when tried
// again: EventBridge's ConcurrentModificationException ("Try again") and
// Scheduler's 409 ConflictException mean another write to the same rule
// or schedule was in flight; the others are throttling and the service's
// own trouble.
var transientCodes = []string{"ConcurrentModificationException", "ConflictException", "ThrottlingException", "Throttling",
	"TooManyRequestsException", "InternalException", "InternalServerException", "InternalFailure", "ServiceUnavailable",
	"ServiceUnavailableException", "RequestTimeout", "RequestTimeoutException"}

// permanentScheduleError reports whether a read or write of a rule or
// schedule failed for a reason retrying cannot cure. Transient: the codes
// above (also as a PutTargets FailedEntries code), any 5xx, and a call
// that got no answer at all (a dropped connection, a timeout).
func permanentScheduleError(err error) bool {
	var fe *failedEntryError
	if errors.As(err, &fe) {
		return !slices.Contains(transientCodes, fe.code)
	}
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		return errors.Is(err, context.Canceled)
	}
	if slices.Contains(transientCodes, ae.ErrorCode()) || ae.ErrorFault() == smithy.FaultServer {
		return false
	}
	var re *smithyhttp.ResponseError
	return !(errors.As(err, &re) && re.HTTPStatusCode() >= 500)
}

// repoint reads t again and, when it still runs from, points it at to,
// changing nothing else: a rule or schedule edited (disabled, rescheduled)
// while the services rolled out keeps that edit. It returns why it left t
// alone, or "" when t runs to now. attempt > 1 means an earlier attempt
// may have taken effect.
func (d *Deployer) repoint(ctx context.Context, t *scheduledTask, from, to string, attempt int) (string, error) {
	if t.kind == "rule" {
		fresh, err := d.ruleTarget(ctx, t)
		if err != nil || fresh == nil {
			return aloneGone, err
		}
		if fresh.EcsParameters == nil {
			return d.compare(t, "", from, to, attempt), nil
		}
		if why := d.compare(t, aws.ToString(fresh.EcsParameters.TaskDefinitionArn), from, to, attempt); why != "-" {
			return why, nil
		}
		ecsp := *fresh.EcsParameters
		ecsp.TaskDefinitionArn = aws.String(to)
		fresh.EcsParameters = &ecsp
		out, err := d.Events.PutTargets(ctx, &eventbridge.PutTargetsInput{
			Rule: aws.String(t.rule), EventBusName: aws.String(t.bus), Targets: []evtypes.Target{*fresh},
		})
		if err != nil {
			return "", callError(t.label(), "PutTargets", err)
		}
		if out.FailedEntryCount > 0 && len(out.FailedEntries) > 0 {
			e := out.FailedEntries[0]
			return "", callError(t.label(), "PutTargets", &failedEntryError{aws.ToString(e.TargetId), aws.ToString(e.ErrorCode), aws.ToString(e.ErrorMessage)})
		}
		return "", nil
	}
	group, name, _ := strings.Cut(t.name, "/")
	fresh, err := d.Scheduler.GetSchedule(ctx, &scheduler.GetScheduleInput{Name: aws.String(name), GroupName: aws.String(group)})
	var nf *sctypes.ResourceNotFoundException
	if errors.As(err, &nf) {
		return aloneGone, nil
	}
	if err != nil {
		return "", callError(t.label(), "GetSchedule", err)
	}
	now := ""
	if fresh.Target != nil && fresh.Target.EcsParameters != nil {
		now = aws.ToString(fresh.Target.EcsParameters.TaskDefinitionArn)
	}
	if why := d.compare(t, now, from, to, attempt); why != "-" {
		return why, nil
	}
	in := updateScheduleInput(fresh)
	target := *in.Target
	p := *target.EcsParameters
	p.TaskDefinitionArn = aws.String(to)
	target.EcsParameters = &p
	in.Target = &target
	if _, err := d.Scheduler.UpdateSchedule(ctx, in); err != nil {
		return "", callError(t.label(), "UpdateSchedule", err)
	}
	return "", nil
}

// compare checks what a fresh read of t runs against what discovery saw:
// "-" to go on and write, "" when an earlier attempt already did, or why
// t is left alone.
func (d *Deployer) compare(t *scheduledTask, now, from, to string, attempt int) string {
	switch {
	case now == from:
		return "-"
	case now == to && attempt > 1:
		return "" // the answer to an earlier attempt was lost
	case now == to:
		return aloneOnTarget
	}
	if now == "" {
		now = "no ECS task"
	}
	d.out("scheduled: %s: now runs %s, not %s as when the deploy started: changed by someone else; left alone", t.label(), shortARN(now), shortARN(from))
	return aloneChanged
}

// ruleTarget reads t's target again (nil when it is gone).
func (d *Deployer) ruleTarget(ctx context.Context, t *scheduledTask) (*evtypes.Target, error) {
	in := &eventbridge.ListTargetsByRuleInput{Rule: aws.String(t.rule), EventBusName: aws.String(t.bus)}
	for range maxPages {
		page, err := d.Events.ListTargetsByRule(ctx, in)
		var nf *evtypes.ResourceNotFoundException
		if errors.As(err, &nf) {
			return nil, nil
		}
		if err != nil {
			return nil, callError(t.label(), "ListTargetsByRule", err)
		}
		for _, x := range page.Targets {
			if aws.ToString(x.Id) == t.id {
				return &x, nil
			}
		}
		if aws.ToString(page.NextToken) == "" {
			return nil, nil
		}
		in.NextToken = page.NextToken
	}
	return nil, fmt.Errorf("%s: ListTargetsByRule: more than %d pages", t.label(), maxPages)
}

// followSchedules registers the new revisions of the families only
// scheduled tasks use and points every scheduled task at its family's new
// revision, each read again just before it is written. Transient errors
// are retried with backoff for up to timeout. A task that fails for good
// does not stop the others, and undoes nothing: the services are healthy
// on the new revision. The error lists the tasks left on their old
// revisions; running the same deploy again moves them.
func (d *Deployer) followSchedules(ctx context.Context, sc *scheduled, timeout time.Duration) error {
	if sc == nil {
		return nil
	}
	if err := sc.join(); err != nil {
		return fmt.Errorf("scheduled tasks: %v; no scheduled task was moved", err)
	}
	timeout = orDefault(timeout, DefaultTimeout)
	deadline := time.Now().Add(timeout)
	for _, w := range sc.warnings {
		d.out("scheduled: %s", w)
	}
	var failed []string
	broken := map[*family]bool{}
	for _, f := range sc.extra {
		if !f.register || f.target != "" {
			continue
		}
		arn, _, err := d.register(ctx, time.Until(deadline), f)
		if err != nil {
			failed = append(failed, err.Error())
			broken[f] = true
			continue
		}
		f.target = arn
		sc.regged = append(sc.regged, f.target)
		d.out("%s: registered %s for scheduled tasks (%s)", f.name, shortARN(f.target), strings.Join(f.changed, ", "))
	}
	var moved []string
	used := map[string]bool{}
	for _, t := range sc.tasks {
		if ctx.Err() != nil {
			failed = append(failed, t.label()+": not tried ("+errInterrupted.Error()+")")
			continue
		}
		if broken[t.fam] {
			failed = append(failed, t.label()+": no new revision of family "+t.fam.name)
			continue
		}
		if t.current == t.fam.target {
			sc.alone[aloneOnTarget]++
			continue
		}
		var why string
		err := d.retryUnless(ctx, max(time.Until(deadline).Round(time.Millisecond), time.Millisecond), t.label(), "", permanentScheduleError, func(ctx context.Context, attempt int) (err error) {
			why, err = d.repoint(ctx, t, t.current, t.fam.target, attempt)
			return err
		})
		switch {
		case err != nil:
			failed = append(failed, err.Error())
		case why != "":
			sc.alone[why]++
		default:
			sc.moved = append(sc.moved, t)
			used[t.fam.target] = true
			d.out("scheduled: %s: %s -> %s", t.label(), shortARN(t.current), shortARN(t.fam.target))
			moved = append(moved, t.label())
		}
	}
	// A revision registered for scheduled tasks none of which moved to it
	// never ran: drop it, as a failed service revision is.
	var drop []string
	for _, arn := range sc.regged {
		if !used[arn] {
			drop = append(drop, arn)
		}
	}
	d.dropRevisions(ctx, drop, nil, nil)
	summary := fmt.Sprintf("scheduled tasks: %d moved", len(moved))
	if alone := sc.leftAlone(); alone != "" {
		summary += "; left alone: " + alone
	}
	d.out("%s", summary)
	if len(failed) > 0 {
		return fmt.Errorf("%d scheduled task(s) still run their old revision: %s (services and the tasks moved are left as they are: run the same deploy again once the cause is fixed; it changes no service and moves these)",
			len(failed), strings.Join(failed, "; "))
	}
	return nil
}

// schedulesWhenNoop handles the scheduled tasks when every service is
// already up to date: a re-run after a deploy whose scheduled tasks did not
// follow moves them, and otherwise changes nothing.
func (d *Deployer) schedulesWhenNoop(ctx context.Context, spec Spec, sc *scheduled) error {
	if spec.DryRun {
		if err := d.printSchedulePlan(sc); err != nil {
			return err
		}
		d.out("dry run: nothing was changed")
		return nil
	}
	if err := d.followSchedules(ctx, sc, spec.Timeout); err != nil {
		return &Failure{Summary: err.Error()}
	}
	return nil
}

// printSchedulePlan is the --dry-run part for scheduled tasks: what
// changes, one line each, and a count of what is left alone.
func (d *Deployer) printSchedulePlan(sc *scheduled) error {
	if sc == nil {
		return nil
	}
	if err := sc.join(); err != nil {
		return err
	}
	for _, w := range sc.warnings {
		d.out("plan: scheduled: %s", w)
	}
	for _, f := range sc.extra {
		if f.register {
			d.out("plan: %s: register a new revision from %s for scheduled tasks (%s)", f.name, shortARN(aws.ToString(f.base.TaskDefinitionArn)), strings.Join(f.changed, ", "))
		}
	}
	alone := map[string]int{}
	for k, v := range sc.alone {
		alone[k] = v
	}
	n := 0
	for _, t := range sc.tasks {
		if t.current == t.fam.target {
			alone[aloneOnTarget]++
			continue
		}
		n++
		d.out("plan: scheduled: %s: %s -> new %s revision, after every service is stable", t.label(), shortARN(t.current), t.fam.name)
	}
	line := fmt.Sprintf("plan: scheduled tasks: %d to move", n)
	if s := (&scheduled{alone: alone}).leftAlone(); s != "" {
		line += "; left alone: " + s
	}
	d.out("%s", line)
	return nil
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
	sc, err := d.findScheduled(ctx, Spec{Cluster: cluster, Scheduled: ss, Timeout: ss.Timeout}, clusterARN, fams)
	if err != nil {
		return err
	}
	if err := sc.join(); err != nil {
		return err
	}
	sc.extra = nil // no image to build them with
	return d.followSchedules(ctx, sc, ss.Timeout)
}
