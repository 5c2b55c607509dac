package deploy

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// tailLines is how many log lines are repeated with a failure, when the
// log was longer than that (a shorter one is all on screen already).
const tailLines = 20

// DefaultLogGrace is how long the log of a stopped one-off task must stay
// quiet before entry stops reading it: the awslogs driver sends its last
// batch when the container exits and CloudWatch Logs takes a moment more
// to make it readable, so the last lines (the error) arrive after ECS
// reports the task STOPPED. The grace is a time, whatever the poll
// interval; each new line (or failed read) starts it again, and 10 graces
// (at least a minute) bound the whole.
const DefaultLogGrace = 5 * time.Second

// A logFollower streams a one-off task's container log from CloudWatch
// Logs to Out while the task runs (GetLogEvents from the head, then
// following nextForwardToken) and keeps the last lines for the failure.
type logFollower struct {
	d             *Deployer
	logs          *cloudwatchlogs.Client // in the awslogs-region
	label         string
	container     string
	group, stream string
	region        string
	where         string // where the log is, for the failure message
	stop          chan struct{}
	done          chan struct{}

	mu    sync.Mutex
	token *string
	tail  []string
	lines int  // lines printed
	shown bool // a read error was reported
	gone  bool // the log group does not exist: stop reading
}

// followLogs starts following the log of container in task taskARN of
// revision taskDef. With no Logs client it does nothing; with a log driver
// other than awslogs it says where the logs are.
func (d *Deployer) followLogs(ctx context.Context, label, taskDef, container, taskARN string) *logFollower {
	lf := &logFollower{d: d, label: label, container: container}
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
		lf.where = fmt.Sprintf("container %s has no log configuration, so its output is only in the Docker logs of the instance that ran task %s", container, id)
		d.out("%s: %s", label, lf.where)
		return lf
	case lc.LogDriver != types.LogDriverAwslogs:
		lf.where = fmt.Sprintf("container %s logs with the %s driver (%s); its output is there", container, lc.LogDriver, options(lc.Options))
		d.out("%s: %s; entry streams only awslogs", label, lf.where)
		return lf
	}
	lf.group = lc.Options["awslogs-group"]
	prefix := lc.Options["awslogs-stream-prefix"]
	lf.region = lc.Options["awslogs-region"]
	lf.logs = d.Logs
	if lf.region == "" {
		lf.region = d.Logs.Options().Region
	} else if lf.region != d.Logs.Options().Region {
		// The log group lives where awslogs-region says, not where the
		// cluster is.
		lf.logs = cloudwatchlogs.New(d.Logs.Options(), func(o *cloudwatchlogs.Options) { o.Region = lf.region })
	}
	if lf.group == "" || prefix == "" {
		lf.where = fmt.Sprintf("CloudWatch Logs group %q in %s, the stream of task %s (no awslogs-stream-prefix, so entry cannot name it)", lf.group, lf.region, id)
		d.out("%s: container %s logs to %s", label, container, lf.where)
		lf.group = ""
		return lf
	}
	lf.stream = prefix + "/" + container + "/" + id
	lf.where = fmt.Sprintf("CloudWatch Logs group %s stream %s in %s", lf.group, lf.stream, lf.region)
	d.out("%s: following CloudWatch Logs %s %s (%s)", label, lf.group, lf.stream, lf.region)
	lf.stop, lf.done = make(chan struct{}), make(chan struct{})
	lo, _ := d.poll()
	go func() {
		defer close(lf.done)
		t := time.NewTicker(lo)
		defer t.Stop()
		for {
			if lf.read(ctx); lf.isGone() {
				return
			}
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

func (lf *logFollower) isGone() bool {
	lf.mu.Lock()
	defer lf.mu.Unlock()
	return lf.gone
}

func options(m map[string]string) string {
	var parts []string
	for _, k := range sortedKeys(m) {
		parts = append(parts, k+"="+m[k])
	}
	return strings.Join(parts, " ")
}

// read prints the events not printed yet, following nextForwardToken
// until it comes back unchanged (an empty page with a new token is not the
// end: CloudWatch may answer one while it scans forward). It returns
// whether it saw new events. A stream that does not exist yet (the
// container has not written) is not an error; a log group that does not
// exist is a configuration problem, reported at once.
func (lf *logFollower) read(ctx context.Context) (got, failed bool) {
	lf.mu.Lock()
	defer lf.mu.Unlock()
	for range maxPages {
		if lf.gone {
			return got, false
		}
		in := &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String(lf.group), LogStreamName: aws.String(lf.stream), StartFromHead: aws.Bool(true), NextToken: lf.token}
		out, err := lf.logs.GetLogEvents(ctx, in)
		var nf *cwtypes.ResourceNotFoundException
		switch {
		case errors.As(err, &nf) && strings.Contains(strings.ToLower(aws.ToString(nf.Message)), "log group"):
			lf.gone = true
			lf.d.out("%s: CloudWatch Logs group %s does not exist in %s (awslogs-group and awslogs-region of container %s): %v; its log cannot be shown: fix the task definition's log options or create the group",
				lf.label, lf.group, lf.region, lf.container, callError(lf.group, "GetLogEvents", err))
			return got, false
		case errors.As(err, &nf):
			return got, false // the stream is not there yet
		case err != nil:
			if !lf.shown && ctx.Err() == nil {
				lf.d.out("%s: warning: %v", lf.container, callError(lf.stream, "GetLogEvents", err))
				lf.shown = true
			}
			return got, true
		}
		for _, e := range out.Events {
			msg := strings.TrimRight(aws.ToString(e.Message), "\n")
			lf.d.out("%s | %s", lf.container, msg)
			lf.lines++
			lf.tail = append(lf.tail, msg)
			if len(lf.tail) > tailLines {
				lf.tail = lf.tail[1:]
			}
			got = true
		}
		// The same token back means the end of what is there now.
		if out.NextForwardToken == nil || aws.ToString(out.NextForwardToken) == aws.ToString(lf.token) {
			return got, false
		}
		lf.token = out.NextForwardToken
	}
	return got, false
}

// finish stops following and reads what arrives after the task stopped
// until the stream has been quiet for the log grace. When the task failed
// (err), it repeats the last lines beside the failure if the log was too
// long to be on screen, and an ExitError learns where the log is.
func (lf *logFollower) finish(ctx context.Context, err error) {
	var ee *ExitError
	if errors.As(err, &ee) && lf.where != "" {
		ee.Logs = lf.where
	}
	if lf.stop == nil {
		return
	}
	close(lf.stop)
	<-lf.done
	ctx = context.WithoutCancel(ctx)
	grace := orDefault(lf.d.LogGrace, DefaultLogGrace)
	lo, _ := lf.d.poll()
	every := max(min(lo, grace/5), time.Millisecond)
	// Quiet means a read begun a whole grace after the last news found
	// nothing new. A failed read (throttled) proves nothing, so it counts
	// as news; the bound ends it all the same.
	news, end := time.Now(), time.Now().Add(max(10*grace, time.Minute))
	for !lf.isGone() && time.Now().Before(end) {
		began := time.Now()
		got, failed := lf.read(ctx)
		switch {
		case got || failed:
			news = time.Now()
		case began.Sub(news) >= grace:
			lf.repeatTail(err)
			return
		}
		time.Sleep(min(every, max(grace-time.Since(news), time.Millisecond)))
	}
	lf.repeatTail(err)
}

// repeatTail repeats the last lines beside a failure when the log was too
// long to be on screen still.
func (lf *logFollower) repeatTail(err error) {
	if err != nil && lf.lines > tailLines {
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
	// Logs says where its log is ("" when entry cannot tell).
	Logs string
}

func (e *ExitError) Error() string {
	where := "see its logs"
	if e.Logs != "" {
		where = "its log: " + e.Logs
	}
	return fmt.Sprintf("migrate: container %s of task %s exited %d (%s); %s", e.Container, e.Task, e.Code, e.Reason, where)
}

// quoteCommand writes a command's words as a shell would need them to be
// written (SplitCommand reads them back): bin/rails runner 'Invoice.reconcile!'.
func quoteCommand(words []string) string {
	out := make([]string, len(words))
	for i, w := range words {
		out[i] = w
		if w == "" || strings.IndexFunc(w, func(r rune) bool {
			return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("_@%+=:,./-", r))
		}) >= 0 {
			out[i] = "'" + strings.ReplaceAll(w, "'", `'\''`) + "'"
		}
	}
	return strings.Join(out, " ")
}
