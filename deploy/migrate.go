package deploy

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// migrationInput prepares the RunTask call of the migration, with the
// network configuration and launch type or capacity providers of the
// first service, and picks the container whose exit code decides. It
// returns nil when no migration is asked for.
func (d *Deployer) migrationInput(spec Spec, first *unit, svc types.Service) (*ecs.RunTaskInput, string, error) {
	if len(spec.Migrate) == 0 {
		return nil, "", nil
	}
	f := first.fam
	container := spec.MigrateContainer
	if container != "" {
		found := false
		for _, c := range f.newIn.ContainerDefinitions {
			found = found || aws.ToString(c.Name) == container
		}
		if !found {
			return nil, "", fmt.Errorf("migrate: family %s has no container %q (--migrate-container)", f.name, container)
		}
	} else {
		container = appContainer(f)
	}
	in := &ecs.RunTaskInput{
		Cluster:              aws.String(spec.Cluster),
		Count:                aws.Int32(1),
		NetworkConfiguration: svc.NetworkConfiguration,
		StartedBy:            aws.String("entry-deploy"),
		ClientToken:          aws.String(newToken()),
		Overrides: &types.TaskOverride{ContainerOverrides: []types.ContainerOverride{{
			Name: aws.String(container), Command: spec.Migrate,
		}}},
	}
	if len(svc.CapacityProviderStrategy) > 0 {
		in.CapacityProviderStrategy = svc.CapacityProviderStrategy
	} else {
		in.LaunchType = svc.LaunchType
	}
	if svc.LaunchType == types.LaunchTypeFargate || len(svc.CapacityProviderStrategy) > 0 {
		in.PlatformVersion = svc.PlatformVersion
	}
	return in, container, nil
}

// appContainer is the container a migration runs in by default: the first
// whose image changes, else the first essential one.
func appContainer(f *family) string {
	for i, c := range f.newIn.ContainerDefinitions {
		if i < len(f.baseIn.ContainerDefinitions) && aws.ToString(f.baseIn.ContainerDefinitions[i].Image) != aws.ToString(c.Image) {
			return aws.ToString(c.Name)
		}
	}
	for _, c := range f.newIn.ContainerDefinitions {
		if c.Essential == nil || *c.Essential {
			return aws.ToString(c.Name)
		}
	}
	return aws.ToString(f.newIn.ContainerDefinitions[0].Name)
}

// migrate runs the migration task, waits until it stopped and checks the
// exit code of its container, not a sidecar's. label starts its lines and
// errors: "migrate", or "run" for `entry deploy run`, which reuses it.
func (d *Deployer) migrate(ctx context.Context, label string, spec Spec, in *ecs.RunTaskInput, container string) (err error) {
	rev := shortARN(aws.ToString(in.TaskDefinition))
	// The same ClientToken on every attempt makes RunTask idempotent: an
	// attempt whose answer was lost returns the task it started, not a
	// second migration.
	var out *ecs.RunTaskOutput
	err = d.retryCall(ctx, spec.Timeout, rev, "RunTask", func(ctx context.Context, _ int) (err error) {
		out, err = d.Client.RunTask(ctx, in)
		return err
	})
	if err != nil {
		return fmt.Errorf("%s: %v", label, err)
	}
	if len(out.Failures) > 0 {
		var reasons []string
		for _, f := range out.Failures {
			r := aws.ToString(f.Reason)
			if f.Detail != nil {
				r += " (" + *f.Detail + ")"
			}
			if f.Arn != nil {
				r += " on " + *f.Arn
			}
			reasons = append(reasons, r)
		}
		return fmt.Errorf("%s: RunTask of %s: %s", label, rev, strings.Join(reasons, "; "))
	}
	if len(out.Tasks) != 1 {
		return fmt.Errorf("%s: RunTask of %s started %d tasks, not 1", label, rev, len(out.Tasks))
	}
	arn := aws.ToString(out.Tasks[0].TaskArn)
	id := lastPart(arn)
	d.out("%s: task %s of %s started: %s (container %s); waiting up to %v for it to stop", label, id, rev, quoteCommand(spec.Migrate), container, spec.Timeout)
	lf := d.followLogs(ctx, label, aws.ToString(in.TaskDefinition), container, arn)
	defer func() { lf.finish(ctx, err) }()

	t, err := d.waitTask(ctx, label, spec, arn)
	if err != nil {
		return err
	}
	reason := aws.ToString(t.StoppedReason)
	if t.StopCode == types.TaskStopCodeTaskFailedToStart {
		return fmt.Errorf("%s: task %s failed to start (TaskFailedToStart): %s", label, id, reason)
	}
	for _, c := range t.Containers {
		if aws.ToString(c.Name) != container {
			continue
		}
		if c.ExitCode == nil {
			return fmt.Errorf("%s: container %s of task %s stopped without an exit code (%s)", label, container, id, ecsSaid(t, c))
		}
		if *c.ExitCode != 0 {
			return &ExitError{Container: container, Task: id, Code: int(*c.ExitCode), Reason: ecsSaid(t, c)}
		}
		d.out("%s: container %s exited 0", label, container)
		return nil
	}
	return fmt.Errorf("%s: task %s has no container %s (%s)", label, id, container, reason)
}

// waitTask polls DescribeTasks until the task stopped. ECS is eventually
// consistent: a task RunTask just started may be reported MISSING for a
// while, which is "not visible yet" for MissingGrace. A poll that fails
// for a transient reason (throttling, a dropped connection) is retried
// with backoff until spec.Timeout.
func (d *Deployer) waitTask(ctx context.Context, label string, spec Spec, arn string) (types.Task, error) {
	id := lastPart(arn)
	grace := orDefault(d.MissingGrace, DefaultMissingGrace)
	wctx, cancel := context.WithTimeout(ctx, spec.Timeout)
	defer cancel()
	lo, hi := d.poll()
	interval := lo
	start := time.Now()
	var lastErr error
	saidMissing := false
	var last types.Task // as last described; LastStatus "" until seen
	for {
		out, err := d.Client.DescribeTasks(wctx, &ecs.DescribeTasksInput{Cluster: aws.String(spec.Cluster), Tasks: []string{arn}})
		backoff := false
		switch {
		case err != nil && wctx.Err() != nil:
			// Decided below.
		case err != nil:
			lastErr = callError("task "+id, "DescribeTasks", err)
			if permanent(err) {
				return types.Task{}, fmt.Errorf("%s: %v", label, lastErr)
			}
			d.out("warning: %s: %v; polling again", label, lastErr)
			backoff = true
		case len(out.Failures) > 0:
			lastErr = nil
			reason := aws.ToString(out.Failures[0].Reason)
			waited := time.Since(start)
			if reason != "MISSING" || waited >= grace {
				return types.Task{}, fmt.Errorf("%s: DescribeTasks: task %s: %s (%v after RunTask)", label, id, reason, waited.Round(time.Millisecond))
			}
			if !saidMissing {
				d.out("%s: task %s is not visible yet (MISSING); ECS is eventually consistent, waiting up to %v for it", label, id, grace)
				saidMissing = true
			}
			backoff = true
		case len(out.Tasks) == 1 && aws.ToString(out.Tasks[0].LastStatus) == "STOPPED":
			return out.Tasks[0], nil
		default:
			lastErr = nil
			if len(out.Tasks) == 1 {
				last = out.Tasks[0]
			}
		}
		if backoff {
			interval = min(interval*2, hi)
		} else {
			interval = min(interval*3/2, hi)
		}
		t := time.NewTimer(interval)
		select {
		case <-wctx.Done():
			t.Stop()
		case <-t.C:
			continue
		}
		failed := ""
		if lastErr != nil {
			failed = "; the last poll failed: " + lastErr.Error()
		}
		why := fmt.Sprintf("did not start within %v", spec.Timeout)
		if ctx.Err() != nil {
			why = "had not started when the deploy was interrupted"
		}
		// The last poll may be old (or cut short by the cancel): look again.
		cctx, ccancel := d.cleanup(ctx)
		if out, err := d.Client.DescribeTasks(cctx, &ecs.DescribeTasksInput{Cluster: aws.String(spec.Cluster), Tasks: []string{arn}}); err == nil && len(out.Tasks) == 1 {
			last = out.Tasks[0]
		}
		ccancel()
		if neverStarted(last) {
			return types.Task{}, d.stopUnstarted(ctx, label, spec, arn, last, why)
		}
		if ctx.Err() != nil {
			return types.Task{}, fmt.Errorf("%s: %w while waiting for task %s, which is left running%s", label, errInterrupted, id, failed)
		}
		return types.Task{}, fmt.Errorf("%s: task %s did not stop within %v; it is left running so that a migration is never cut in half (stop it with `aws ecs stop-task --cluster %s --task %s` if it hangs)%s", label, id, spec.Timeout, spec.Cluster, id, failed)
	}
}

// neverStarted: the task was seen, and it had not reached RUNNING (still
// PROVISIONING or PENDING: no capacity, an image still pulling). Its
// containers have not run a line of the command.
func neverStarted(t types.Task) bool {
	switch aws.ToString(t.LastStatus) {
	case "PROVISIONING", "PENDING", "ACTIVATING":
		return t.StartedAt == nil
	}
	return false
}

// stopUnstarted stops a one-off task that never started: left there, it
// would run the migration whenever capacity appears, after the deploy
// was given up. A task that runs is never stopped (a migration is never
// cut in half).
func (d *Deployer) stopUnstarted(ctx context.Context, label string, spec Spec, arn string, t types.Task, why string) error {
	id := lastPart(arn)
	rev := shortARN(aws.ToString(t.TaskDefinitionArn))
	status := aws.ToString(t.LastStatus)
	cctx, cancel := d.cleanup(ctx)
	defer cancel()
	reason := fmt.Sprintf("entry deploy %s of %s: stopped before it started (%s); the deploy was abandoned", label, rev, why)
	_, err := d.Client.StopTask(cctx, &ecs.StopTaskInput{Cluster: aws.String(spec.Cluster), Task: aws.String(arn), Reason: aws.String(reason)})
	if err != nil {
		return fmt.Errorf("%s: task %s %s (still %s) and could not be stopped: %v; stop it with `aws ecs stop-task --cluster %s --task %s`, or it runs whenever capacity appears",
			label, id, why, status, callError("task "+id, "StopTask", err), spec.Cluster, id)
	}
	d.out("%s: task %s %s (still %s); stopped it so that it cannot run later", label, id, why, status)
	return fmt.Errorf("%s: task %s %s (still %s: no capacity to place it?); entry stopped it (StopTask) so that it cannot run after this deploy was given up", label, id, why, status)
}

// ecsSaid is what ECS said of a stopped task and one of its containers:
// the container's reason (OutOfMemoryError: Container killed due to
// memory usage), the task's stop code when it is not the ordinary one
// (SpotInterruption, UserInitiated, ...) and its stoppedReason.
func ecsSaid(t types.Task, c types.Container) string {
	var parts []string
	if r := aws.ToString(c.Reason); r != "" {
		parts = append(parts, r)
	}
	task := aws.ToString(t.StoppedReason)
	if t.StopCode != "" && t.StopCode != types.TaskStopCodeEssentialContainerExited {
		task = strings.TrimSuffix(string(t.StopCode)+": "+task, ": ")
	}
	if task != "" {
		parts = append(parts, task)
	}
	if len(parts) == 0 {
		return "ECS gave no reason"
	}
	return strings.Join(parts, "; ")
}
