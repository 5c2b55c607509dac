package deploy

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// tailLines is how many log lines are repeated with a failure.
const tailLines = 20

// A logFollower streams a one-off task's container log from CloudWatch
// Logs to Out while the task runs (GetLogEvents from the head, then
// following nextForwardToken) and keeps the last lines for the failure.
type logFollower struct {
	d             *Deployer
	container     string
	group, stream string
	stop          chan struct{}
	done          chan struct{}

	mu    sync.Mutex
	token *string
	tail  []string
	shown bool
}

// followLogs starts following the log of container in task taskARN of
// revision taskDef. With no Logs client it does nothing; with a log driver
// other than awslogs it says where the logs are.
func (d *Deployer) followLogs(ctx context.Context, label, taskDef, container, taskARN string) *logFollower {
	lf := &logFollower{d: d, container: container}
	if d.Logs == nil {
		return lf
	}
	out, err := d.Client.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(taskDef)})
	if err != nil {
		d.out("%s: warning: cannot read the log configuration: %v", label, callError(shortARN(taskDef), "DescribeTaskDefinition", err))
		return lf
	}
	var lc *types.LogConfiguration
	for _, c := range out.TaskDefinition.ContainerDefinitions {
		if aws.ToString(c.Name) == container {
			lc = c.LogConfiguration
		}
	}
	id := lastPart(taskARN)
	switch {
	case lc == nil:
		d.out("%s: container %s has no log configuration; its output is in the Docker logs of the instance that ran task %s", label, container, id)
		return lf
	case lc.LogDriver != types.LogDriverAwslogs:
		d.out("%s: container %s logs with the %s driver (%s); entry streams only awslogs", label, container, lc.LogDriver, options(lc.Options))
		return lf
	}
	lf.group = lc.Options["awslogs-group"]
	prefix := lc.Options["awslogs-stream-prefix"]
	if lf.group == "" || prefix == "" {
		d.out("%s: container %s logs to CloudWatch Logs group %q without awslogs-stream-prefix; find the stream of task %s there", label, container, lf.group, id)
		lf.group = ""
		return lf
	}
	lf.stream = prefix + "/" + container + "/" + id
	d.out("%s: following CloudWatch Logs %s %s", label, lf.group, lf.stream)
	lf.stop, lf.done = make(chan struct{}), make(chan struct{})
	lo, _ := d.poll()
	go func() {
		defer close(lf.done)
		t := time.NewTicker(lo)
		defer t.Stop()
		for {
			lf.read(ctx)
			select {
			case <-lf.stop:
				return
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return lf
}

func options(m map[string]string) string {
	var parts []string
	for _, k := range sortedKeys(m) {
		parts = append(parts, k+"="+m[k])
	}
	return strings.Join(parts, " ")
}

// read prints the events not printed yet. It returns whether it saw new
// ones. A stream that does not exist yet (the container has not written)
// is not an error.
func (lf *logFollower) read(ctx context.Context) bool {
	lf.mu.Lock()
	defer lf.mu.Unlock()
	got := false
	for range maxPages {
		in := &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String(lf.group), LogStreamName: aws.String(lf.stream), StartFromHead: aws.Bool(true), NextToken: lf.token}
		out, err := lf.d.Logs.GetLogEvents(ctx, in)
		if err != nil {
			if !strings.Contains(err.Error(), "ResourceNotFoundException") && !lf.shown {
				lf.d.out("%s: warning: %v", lf.container, callError(lf.stream, "GetLogEvents", err))
				lf.shown = true
			}
			return got
		}
		for _, e := range out.Events {
			msg := strings.TrimRight(aws.ToString(e.Message), "\n")
			lf.d.out("%s | %s", lf.container, msg)
			lf.tail = append(lf.tail, msg)
			if len(lf.tail) > tailLines {
				lf.tail = lf.tail[1:]
			}
			got = true
		}
		// The same token back means the end of what is there now.
		if out.NextForwardToken == nil || aws.ToString(out.NextForwardToken) == aws.ToString(lf.token) {
			return got
		}
		lf.token = out.NextForwardToken
		if len(out.Events) == 0 {
			return got
		}
	}
	return got
}

// finish stops following, reads what arrived after the task stopped (the
// last events reach CloudWatch Logs a little later) and, when the task
// failed, prints the last lines again beside the failure.
func (lf *logFollower) finish(ctx context.Context, failed bool) {
	if lf.stop == nil {
		return
	}
	close(lf.stop)
	<-lf.done
	ctx = context.WithoutCancel(ctx)
	lo, _ := lf.d.poll()
	for i := 0; i < 3; i++ {
		if !lf.read(ctx) && i > 0 {
			break
		}
		time.Sleep(lo)
	}
	if failed && len(lf.tail) > 0 {
		lf.d.out("last %d lines of %s's log (%s %s):", len(lf.tail), lf.container, lf.group, lf.stream)
		for _, l := range lf.tail {
			lf.d.out("  %s", l)
		}
	}
}

// An ExitError is a one-off task whose container exited non-zero.
type ExitError struct {
	Container, Task, Reason string
	Code                    int
}

func (e *ExitError) Error() string {
	return fmt.Sprintf("migrate: container %s of task %s exited %d (%s); see its logs", e.Container, e.Task, e.Code, e.Reason)
}
