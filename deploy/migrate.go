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
			why := aws.ToString(c.Reason)
			if why == "" {
				why = reason
			}
			return fmt.Errorf("%s: container %s of task %s stopped without an exit code (%s: %s)", label, container, id, t.StopCode, why)
		}
		if *c.ExitCode != 0 {
			return &ExitError{Container: container, Task: id, Code: int(*c.ExitCode), Reason: reason}
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
		last := ""
		if lastErr != nil {
			last = "; the last poll failed: " + lastErr.Error()
		}
		if ctx.Err() != nil {
			return types.Task{}, fmt.Errorf("%s: %w while waiting for task %s, which is left running%s", label, errInterrupted, id, last)
		}
		return types.Task{}, fmt.Errorf("%s: task %s did not stop within %v; it is left running so that a migration is never cut in half (stop it with `aws ecs stop-task --cluster %s --task %s` if it hangs)%s", label, id, spec.Timeout, spec.Cluster, id, last)
	}
}
