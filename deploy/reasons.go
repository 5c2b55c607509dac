package deploy

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// maxStoppedTasks bounds the stopped tasks of one deployment entry reads
// to explain a failed rollout: one ListTasks page, one DescribeTasks call.
const maxStoppedTasks = 100

// stoppedTasks says why the tasks of the failed deployments stopped —
// what a CI user otherwise looks up in the console: for each watch that
// failed (or saw failed tasks), the deployment's stopped tasks (ECS marks
// a service's tasks startedBy with the deployment id), grouped by what ECS
// said of them, with counts, most frequent first. It prints one line a
// group and returns "; web: 3 tasks of web:2 stopped: 2× …, 1× …" for the
// summary, "" when there is nothing to say or ECS cannot be asked (the
// failure is reported all the same).
func (d *Deployer) stoppedTasks(ctx context.Context, cluster string, watches []*watch) string {
	var summary strings.Builder
	for _, w := range watches {
		if w.deploymentID == "" || (!w.failed && w.failedTasks == 0) {
			continue
		}
		groups, n := d.stoppedTaskGroups(ctx, cluster, w.deploymentID)
		if n == 0 {
			continue
		}
		d.out("%s: %d stopped tasks of %s (deployment %s):", w.name, n, shortARN(w.target), w.deploymentID)
		var parts []string
		for _, g := range groups {
			d.out("  %d× %s", g.count, g.what)
			parts = append(parts, fmt.Sprintf("%d× %s", g.count, g.what))
		}
		fmt.Fprintf(&summary, "; %s: %d tasks of %s stopped: %s", w.name, n, shortARN(w.target), strings.Join(parts, ", "))
	}
	return summary.String()
}

type taskGroup struct {
	what  string
	count int
}

func (d *Deployer) stoppedTaskGroups(ctx context.Context, cluster, deployment string) ([]taskGroup, int) {
	cctx, cancel := d.cleanup(ctx)
	defer cancel()
	list, err := d.Client.ListTasks(cctx, &ecs.ListTasksInput{Cluster: aws.String(cluster), StartedBy: aws.String(deployment),
		DesiredStatus: types.DesiredStatusStopped, MaxResults: aws.Int32(maxStoppedTasks)})
	if err != nil {
		d.out("warning: could not read why the tasks stopped: %v", callError(deployment, "ListTasks", err))
		return nil, 0
	}
	if len(list.TaskArns) == 0 {
		return nil, 0
	}
	out, err := d.Client.DescribeTasks(cctx, &ecs.DescribeTasksInput{Cluster: aws.String(cluster), Tasks: list.TaskArns})
	if err != nil {
		d.out("warning: could not read why the tasks stopped: %v", callError(deployment, "DescribeTasks", err))
		return nil, 0
	}
	counts := map[string]int{}
	for _, t := range out.Tasks {
		counts[taskStopSummary(t)]++
	}
	var groups []taskGroup
	for what, n := range counts {
		groups = append(groups, taskGroup{what, n})
	}
	sort.Slice(groups, func(i, j int) bool {
		if groups[i].count != groups[j].count {
			return groups[i].count > groups[j].count
		}
		return groups[i].what < groups[j].what
	})
	return groups, len(out.Tasks)
}

// taskStopSummary is what ECS said of one stopped task: its stop code and
// reason, and each container that exited non-zero or has a reason.
func taskStopSummary(t types.Task) string {
	what := aws.ToString(t.StoppedReason)
	if t.StopCode != "" && t.StopCode != types.TaskStopCodeEssentialContainerExited {
		what = strings.TrimSuffix(string(t.StopCode)+": "+what, ": ")
	}
	var cs []string
	for _, c := range t.Containers {
		reason := aws.ToString(c.Reason)
		switch {
		case c.ExitCode != nil && *c.ExitCode != 0 && reason != "":
			cs = append(cs, fmt.Sprintf("container %s exited %d: %s", aws.ToString(c.Name), *c.ExitCode, reason))
		case c.ExitCode != nil && *c.ExitCode != 0:
			cs = append(cs, fmt.Sprintf("container %s exited %d", aws.ToString(c.Name), *c.ExitCode))
		case reason != "" && reason != aws.ToString(t.StoppedReason):
			cs = append(cs, fmt.Sprintf("container %s: %s", aws.ToString(c.Name), reason))
		}
	}
	if len(cs) > 0 {
		what += " (" + strings.Join(cs, "; ") + ")"
	}
	if what == "" {
		return "no reason given"
	}
	return what
}
