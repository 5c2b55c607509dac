package deploy

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/smithy-go"
)

// A watch follows one service until its deployment of target is done.
//
// ServicesStable is not enough: it reports success once running equals
// desired with one deployment left, which is also the state after the
// circuit breaker rolled the new revision back. A watch succeeds only when
// the PRIMARY deployment is the one it started, runs target, has
// rolloutState COMPLETED (where ECS reports one) and is the only
// deployment with running == desired.
type watch struct {
	name         string
	target, prev string // ARNs: the revision wanted, the one replaced
	deploymentID string // "" until the deployment running target is known
	seen         map[string]bool
	last         string    // last state printed
	lastPrint    time.Time // when it was printed
	state        string    // last state seen
	done         bool
	// ecsRolledBack: ECS's circuit breaker is rolling back (or has rolled
	// back) to prev, so entry must not issue its own rollback.
	ecsRolledBack bool

	// visible: a DescribeServices showed the deployment; until then, and
	// for lagGrace after since (the UpdateService), its absence is ECS's
	// eventual consistency, not a replacement.
	visible  bool
	since    time.Time
	lagGrace time.Duration
	// placeSince is the first "unable to place" event of the current run
	// of them (reset when a task of the deployment starts running);
	// placeGrace bounds such a run.
	placeSince  time.Time
	placeMsg    string
	placeGrace  time.Duration
	lastRunning int32
	served      bool // the deployment was seen running tasks
	// failedTasks is the deployment's failedTasks as last seen; failed,
	// that the watch ended in a failure.
	failedTasks int32
	failed      bool
	// alarmsSeen: the service's deployment alarms named in its events.
	alarmsSeen []string
}

// newWatch starts watching a service; updated says whether UpdateService
// has just started the deployment (so that a describe may lag).
func (d *Deployer) newWatch(name, target, prev string, svc types.Service, updated bool) *watch {
	w := &watch{name: name, target: target, prev: prev, seen: map[string]bool{}, since: time.Now(), visible: !updated,
		lagGrace: orDefault(d.LagGrace, DefaultLagGrace), placeGrace: orDefault(d.PlacementGrace, DefaultPlacementGrace)}
	for _, e := range svc.Events {
		w.seen[aws.ToString(e.Id)] = true
	}
	for _, dep := range svc.Deployments {
		if aws.ToString(dep.Status) == "PRIMARY" && aws.ToString(dep.TaskDefinition) == target {
			w.deploymentID = aws.ToString(dep.Id)
		}
	}
	return w
}

func findWatch(ws []*watch, name string) *watch {
	for _, w := range ws {
		if w.name == name {
			return w
		}
	}
	return nil
}

// deploymentLines is the progress of each deployment, PRIMARY first:
// "web: PRIMARY rev 42 desired 2 pending 1 running 1 IN_PROGRESS".
func deploymentLines(name string, svc types.Service) string {
	var lines []string
	for _, dep := range svc.Deployments {
		line := fmt.Sprintf("%s: %s rev %d desired %d pending %d running %d", name, aws.ToString(dep.Status),
			revisionOf(aws.ToString(dep.TaskDefinition)), dep.DesiredCount, dep.PendingCount, dep.RunningCount)
		if dep.FailedTasks > 0 {
			line += fmt.Sprintf(" failed %d", dep.FailedTasks)
		}
		if dep.RolloutState != "" {
			line += " " + string(dep.RolloutState)
		}
		lines = append(lines, line)
	}
	return strings.Join(lines, "\n")
}

// newEvents returns the service events not printed yet, oldest first.
func (w *watch) newEvents(svc types.Service) []string {
	var msgs []string
	for _, e := range svc.Events { // newest first
		id := aws.ToString(e.Id)
		if w.seen[id] {
			continue
		}
		w.seen[id] = true
		msgs = append(msgs, strings.TrimPrefix(aws.ToString(e.Message), "(service "+aws.ToString(svc.ServiceName)+") "))
	}
	for i, j := 0, len(msgs)-1; i < j; i, j = i+1, j-1 {
		msgs[i], msgs[j] = msgs[j], msgs[i]
	}
	return msgs
}

// evaluate decides from one description whether the watch succeeded,
// failed or goes on.
func (w *watch) evaluate(svc types.Service, events []string) (bool, error) {
	if alarms := deploymentAlarms(svc); alarms != nil {
		for _, msg := range events {
			for _, name := range alarms.AlarmNames {
				if strings.Contains(msg, name) && !slices.Contains(w.alarmsSeen, name) {
					w.alarmsSeen = append(w.alarmsSeen, name)
				}
			}
		}
	}
	var primary, ours *types.Deployment
	for i := range svc.Deployments {
		dep := &svc.Deployments[i]
		if aws.ToString(dep.Status) == "PRIMARY" {
			primary = dep
		}
		if w.deploymentID != "" && aws.ToString(dep.Id) == w.deploymentID {
			ours = dep
		}
	}
	if w.deploymentID == "" {
		if primary == nil || aws.ToString(primary.TaskDefinition) != w.target {
			if time.Since(w.since) < w.lagGrace {
				return false, nil // ECS does not show the deployment yet
			}
			return false, fmt.Errorf("no deployment of %s appeared within %v", shortARN(w.target), w.lagGrace)
		}
		ours = primary
		w.deploymentID = aws.ToString(primary.Id)
	}
	if ours == nil && !w.visible {
		if time.Since(w.since) < w.lagGrace {
			return false, nil // UpdateService's deployment not visible yet
		}
		return false, fmt.Errorf("the deployment of %s that UpdateService started did not appear in DescribeServices within %v", shortARN(w.target), w.lagGrace)
	}
	if ours != nil {
		w.visible = true
		if ours.RunningCount > 0 {
			w.served = true
		}
		w.failedTasks = ours.FailedTasks
	}
	if ours != nil && ours.RolloutState == types.DeploymentRolloutStateFailed {
		msg := fmt.Sprintf("rollout of %s FAILED: %s", shortARN(w.target), aws.ToString(ours.RolloutStateReason))
		// ECS rolls back when the breaker's rollback is on (the FAILED
		// deployment may stay PRIMARY a while first), or has already
		// made the previous revision PRIMARY. A redeploy of the revision
		// the service ran has nothing older to go back to.
		cb := circuitBreaker(svc)
		rollback, who := cb != nil && cb.Rollback, "the circuit breaker"
		if alarms := deploymentAlarms(svc); alarms != nil && strings.Contains(strings.ToLower(aws.ToString(ours.RolloutStateReason)), "alarm") {
			// A CloudWatch alarm failed it, not the breaker: name it.
			msg = fmt.Sprintf("rollout of %s FAILED: CloudWatch alarm %s went into ALARM (%s)", shortARN(w.target), w.alarmNames(alarms), aws.ToString(ours.RolloutStateReason))
			rollback, who = alarms.Rollback, "ECS (the alarms' rollback)"
		}
		backToPrev := primary != nil && aws.ToString(primary.TaskDefinition) == w.prev && aws.ToString(primary.Id) != w.deploymentID
		if w.prev != w.target && (rollback || backToPrev) {
			w.ecsRolledBack = true
			msg += fmt.Sprintf(" (%s rolls back to %s)", who, shortARN(w.prev))
		}
		return false, errors.New(msg)
	}
	if ours == nil || aws.ToString(ours.Status) != "PRIMARY" {
		now := "none"
		if primary != nil {
			now = shortARN(aws.ToString(primary.TaskDefinition))
			if aws.ToString(primary.TaskDefinition) == w.prev {
				w.ecsRolledBack = true
				return false, fmt.Errorf("ECS rolled the deployment of %s back to %s (deployment circuit breaker)", shortARN(w.target), now)
			}
		}
		if primary == nil {
			return false, fmt.Errorf("the deployment of %s is gone and the service has no PRIMARY deployment", shortARN(w.target))
		}
		r := &Replaced{Service: w.name, Target: w.target, By: aws.ToString(primary.TaskDefinition), Deployment: aws.ToString(primary.Id)}
		if primary.CreatedAt != nil {
			r.At = *primary.CreatedAt
		}
		return false, r
	}
	// Without a circuit breaker ECS replaces failing tasks for ever; stop
	// where the breaker would have.
	if cb := circuitBreaker(svc); (cb == nil || !cb.Enable) && ours.FailedTasks >= breakerThreshold(ours.DesiredCount) {
		return false, fmt.Errorf("%d tasks of %s failed to start or stay healthy (the service has no deployment circuit breaker; entry stops at the threshold the breaker would use, %d)",
			ours.FailedTasks, shortARN(w.target), breakerThreshold(ours.DesiredCount))
	}
	// Placement failures are progress information while ECS retries; a
	// task of the deployment starting ends the run of them.
	if ours.RunningCount > w.lastRunning {
		w.placeSince = time.Time{}
	}
	w.lastRunning = ours.RunningCount
	// ECS suppresses repeated events, so a run lasts until progress, not
	// only while events come.
	for _, msg := range events {
		if strings.Contains(msg, "unable to place a task") {
			w.placeMsg = msg
			if w.placeSince.IsZero() {
				w.placeSince = time.Now()
			}
		}
	}
	if !w.placeSince.IsZero() && time.Since(w.placeSince) >= w.placeGrace {
		return false, fmt.Errorf("ECS has been unable to place tasks of %s for %v: %s", shortARN(w.target), w.placeGrace, w.placeMsg)
	}
	complete := ours.RolloutState == "" || ours.RolloutState == types.DeploymentRolloutStateCompleted
	return complete && len(svc.Deployments) == 1 && ours.RunningCount == ours.DesiredCount && svc.RunningCount == svc.DesiredCount, nil
}

// deploymentAlarms is the service's enabled deployment alarms, or nil.
func deploymentAlarms(svc types.Service) *types.DeploymentAlarms {
	if c := svc.DeploymentConfiguration; c != nil && c.Alarms != nil && c.Alarms.Enable && len(c.Alarms.AlarmNames) > 0 {
		return c.Alarms
	}
	return nil
}

// alarmNames names the alarm that failed a rollout: those of the
// service's deployment alarms that its events named, else all of them
// ("a or b": ECS's rollout reason does not say which).
func (w *watch) alarmNames(alarms *types.DeploymentAlarms) string {
	if len(w.alarmsSeen) > 0 {
		return strings.Join(w.alarmsSeen, ", ")
	}
	return strings.Join(alarms.AlarmNames, " or ")
}

// breakerThreshold is the number of failed tasks at which ECS's deployment
// circuit breaker trips: half the desired count, at least 3, at most 200.
func breakerThreshold(desired int32) int32 {
	return min(max((desired+1)/2, 3), 200)
}

func circuitBreaker(svc types.Service) *types.DeploymentCircuitBreaker {
	if svc.DeploymentConfiguration == nil {
		return nil
	}
	return svc.DeploymentConfiguration.DeploymentCircuitBreaker
}

// wait polls until every watch is done, one watch fails, or timeout. It
// calls DescribeServices once per poll for up to 10 services, and acts on
// a failure in the poll that reports it.
func (d *Deployer) wait(ctx context.Context, cluster string, watches []*watch, timeout time.Duration) error {
	if len(watches) == 0 {
		return nil
	}
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	lo, hi := d.poll()
	interval := lo
	var lastErr error // of the last poll, if it failed
	every := d.ProgressEvery
	if every == 0 {
		every = DefaultProgressEvery
	}
	for {
		var active []*watch
		for _, w := range watches {
			if !w.done {
				active = append(active, w)
			}
		}
		if len(active) == 0 {
			return nil
		}
		changed, pollFailed := false, false
		for start := 0; start < len(active); start += 10 {
			batch := active[start:min(start+10, len(active))]
			names := make([]string, len(batch))
			for i, w := range batch {
				names[i] = w.name
			}
			out, err := d.Client.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(cluster), Services: names})
			if err != nil {
				if ctx.Err() != nil {
					return waitError(parent, batch, timeout, lastErr)
				}
				cerr := callError(strings.Join(names, ","), "DescribeServices", err)
				if permanent(err) {
					return cerr
				}
				// A poll that fails is not a deployment that failed:
				// poll again, slower, until the timeout.
				d.out("warning: %v; polling again", cerr)
				lastErr, pollFailed = cerr, true
				continue
			}
			lastErr = nil
			for _, f := range out.Failures {
				if aws.ToString(f.Reason) == "MISSING" {
					return &ServiceGone{Service: lastPart(aws.ToString(f.Arn)), Status: "MISSING"}
				}
				return fmt.Errorf("%s: DescribeServices: %s", lastPart(aws.ToString(f.Arn)), aws.ToString(f.Reason))
			}
			for _, svc := range out.Services {
				w := findWatch(batch, aws.ToString(svc.ServiceName))
				if w == nil {
					continue
				}
				if st := aws.ToString(svc.Status); st != "ACTIVE" {
					// DRAINING, then INACTIVE: someone deleted it.
					d.out("%s: the service is %s: it was deleted", w.name, st)
					return &ServiceGone{Service: w.name, Status: st}
				}
				events := w.newEvents(svc)
				for _, e := range events {
					d.out("%s: %s", w.name, e)
				}
				state := deploymentLines(w.name, svc)
				if state != w.state {
					changed = true
					w.state = state
				}
				ok, ferr := w.evaluate(svc, events)
				if w.state != w.last && (ok || ferr != nil || time.Since(w.lastPrint) >= every) {
					d.out("%s", w.state)
					w.last, w.lastPrint = w.state, time.Now()
				}
				if w.state == w.last && time.Since(w.lastPrint) >= heartbeat {
					// Long rollouts: show a sign of life for CI systems
					// that kill silent jobs.
					d.out("%s (still waiting)", strings.ReplaceAll(w.state, "\n", "; "))
					w.lastPrint = time.Now()
				}
				var r *Replaced
				if errors.As(ferr, &r) {
					r.Images = d.images(ctx, r.By)
					return r
				}
				if ferr != nil {
					w.failed = true
					return fmt.Errorf("%s: %v", w.name, ferr)
				}
				if ok {
					w.done = true
					d.out("%s: %s is serving", w.name, shortARN(w.target))
				}
			}
		}
		switch {
		case pollFailed:
			interval = min(interval*2, hi)
		case changed:
			interval = lo
		default:
			interval = min(interval*3/2, hi)
		}
		t := time.NewTimer(interval)
		select {
		case <-ctx.Done():
			t.Stop()
			return waitError(parent, active, timeout, lastErr)
		case <-t.C:
		}
	}
}

// heartbeat is how often an unchanged state is printed again.
const heartbeat = time.Minute

// errInterrupted marks a wait cut short by the caller (a signal), as
// opposed to the timeout.
var errInterrupted = errors.New("interrupted")

// permanent reports an error that polling again cannot cure: one ECS
// rejected as the caller's fault (access denied, cluster not found), not a
// throttle. Network errors, server errors and throttling are transient.
func permanent(err error) bool {
	if connectionRefused(err) {
		return true // a wrong endpoint: see NewRetryer
	}
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorFault() != smithy.FaultClient {
		return false
	}
	switch ae.ErrorCode() {
	case "ThrottlingException", "Throttling", "TooManyRequestsException", "RequestLimitExceeded", "RequestTimeout", "RequestTimeoutException":
		return false
	}
	return true
}

func waitError(parent context.Context, active []*watch, timeout time.Duration, lastErr error) error {
	var parts []string
	for _, w := range active {
		if w.done {
			continue
		}
		st := w.state
		if st == "" {
			st = w.name + ": no description yet"
		}
		parts = append(parts, strings.ReplaceAll(st, "\n", "; "))
	}
	last := ""
	if lastErr != nil {
		last = "; the last poll failed: " + lastErr.Error()
	}
	if parent.Err() != nil {
		return fmt.Errorf("%w while waiting (%s%s)", errInterrupted, strings.Join(parts, "; "), last)
	}
	return fmt.Errorf("not stable after %v (%s%s)", timeout, strings.Join(parts, "; "), last)
}
