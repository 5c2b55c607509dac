package ecsfake

import (
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// Another client acting on the cluster (deleting a service, stopping a
// task), and the task listing a deploy reads failure reasons from.

// DefaultDrain is how long a deleted service stays DRAINING before it is
// INACTIVE, when DeleteService is called through the API.
const DefaultDrain = 5 * DefaultTick

// DeleteService deletes a service as another client would (no call is
// counted): it is DRAINING, with desired count 0, for drain, then
// INACTIVE; DescribeServices still describes it either way, as ECS does
// for a while.
func (f *Fake) DeleteService(cluster, name string, drain time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now()
	f.deleteService(f.services[cluster+"/"+name], drain)
}

func (f *Fake) deleteService(s *service, drain time.Duration) {
	s.svc.Status = aws.String("DRAINING")
	s.svc.DesiredCount = 0
	s.inactiveAt = f.clock.Add(drain)
	f.event(s, "has begun draining connections on 0 tasks.")
	f.settleDeleted(s)
}

// settleDeleted makes a DRAINING service INACTIVE once its drain is over.
func (f *Fake) settleDeleted(s *service) {
	if aws.ToString(s.svc.Status) == "DRAINING" && !f.clock.Before(s.inactiveAt) {
		s.svc.Status = aws.String("INACTIVE")
		s.svc.RunningCount, s.svc.PendingCount = 0, 0
		for i := range s.svc.Deployments {
			s.svc.Deployments[i].DesiredCount, s.svc.Deployments[i].RunningCount, s.svc.Deployments[i].PendingCount = 0, 0, 0
		}
	}
}

func (f *Fake) apiDeleteService(in *ecs.DeleteServiceInput) (any, *apiError) {
	if !f.clusters[clusterName(aws.ToString(in.Cluster))] {
		return nil, &apiError{400, "ClusterNotFoundException", "Cluster not found."}
	}
	s, _ := f.findService(aws.ToString(in.Cluster), aws.ToString(in.Service))
	if s == nil || aws.ToString(s.svc.Status) == "INACTIVE" {
		return nil, &apiError{400, "ServiceNotFoundException", "Service not found."}
	}
	if s.svc.DesiredCount > 0 && !aws.ToBool(in.Force) {
		return nil, invalid("The service cannot be stopped while it is scaled above 0.")
	}
	f.deleteService(s, DefaultDrain)
	svc := copyService(s.svc)
	return ecs.DeleteServiceOutput{Service: &svc}, nil
}

// active reports whether a service can be updated.
func (s *service) active() bool { return aws.ToString(s.svc.Status) == "ACTIVE" }

func (f *Fake) listTasks(in *ecs.ListTasksInput) (any, *apiError) {
	cluster := clusterName(aws.ToString(in.Cluster))
	if !f.clusters[cluster] {
		return nil, &apiError{400, "ClusterNotFoundException", "Cluster not found."}
	}
	if in.ServiceName != nil && in.StartedBy != nil {
		return nil, invalid("startedBy and serviceName cannot both be given")
	}
	want := in.DesiredStatus
	if want == "" {
		want = types.DesiredStatusRunning
	}
	var arns []string
	for arn, t := range f.tasks {
		switch {
		case aws.ToString(t.t.ClusterArn) != f.arn("cluster", cluster),
			aws.ToString(t.t.DesiredStatus) != string(want),
			in.StartedBy != nil && aws.ToString(t.t.StartedBy) != *in.StartedBy,
			in.ServiceName != nil && aws.ToString(t.t.Group) != "service:"+aws.ToString(in.ServiceName),
			in.Family != nil && !strings.Contains(aws.ToString(t.t.TaskDefinitionArn), "task-definition/"+*in.Family+":"):
			continue
		}
		arns = append(arns, arn)
	}
	sort.Strings(arns)
	out := ecs.ListTasksOutput{}
	out.TaskArns, out.NextToken = page(arns, in.NextToken, in.MaxResults, 100)
	return out, nil
}

func (f *Fake) stopTask(in *ecs.StopTaskInput) (any, *apiError) {
	if !f.clusters[clusterName(aws.ToString(in.Cluster))] {
		return nil, &apiError{400, "ClusterNotFoundException", "Cluster not found."}
	}
	t := f.tasks[aws.ToString(in.Task)]
	if t == nil {
		return nil, invalid("The referenced task was not found.")
	}
	if aws.ToString(t.t.LastStatus) != "STOPPED" {
		t.t.DesiredStatus = aws.String("STOPPED")
		t.stopReason = aws.ToString(in.Reason)
		if t.stopReason == "" {
			t.stopReason = "Task stopped by user"
		}
	}
	return ecs.StopTaskOutput{Task: &t.t}, nil
}

// Tasks returns a snapshot of every task, in ARN order.
func (f *Fake) Tasks() []types.Task {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now()
	var arns []string
	for arn := range f.tasks {
		arns = append(arns, arn)
	}
	sort.Strings(arns)
	out := make([]types.Task, 0, len(arns))
	for _, arn := range arns {
		out = append(out, f.tasks[arn].t)
	}
	return out
}

// failedServiceTask records a task of deployment d that stopped as
// r.TaskFailure says, as ECS keeps a service's stopped tasks for a while
// (ListTasks with desiredStatus STOPPED finds them), and returns its id.
func (f *Fake) failedServiceTask(s *service, d *types.Deployment, r Rollout) string {
	o := TaskOutcome{}
	if r.TaskFailure != nil {
		o = *r.TaskFailure
	}
	td := f.lookup(aws.ToString(d.TaskDefinition))
	id := f.taskID()
	cluster := aws.ToString(s.svc.ClusterArn)
	arn := f.arn("task", cluster[strings.LastIndex(cluster, "/")+1:]+"/"+id)
	now := f.clock
	t := types.Task{
		TaskArn: aws.String(arn), ClusterArn: s.svc.ClusterArn, TaskDefinitionArn: d.TaskDefinition,
		LastStatus: aws.String("STOPPED"), DesiredStatus: aws.String("STOPPED"),
		StartedBy: d.Id, Group: aws.String("service:" + aws.ToString(s.svc.ServiceName)),
		LaunchType: s.svc.LaunchType, CreatedAt: &now, StoppedAt: &now,
		StopCode: types.TaskStopCodeEssentialContainerExited, StoppedReason: aws.String("Essential container in task exited"),
	}
	if o.FailToStart {
		t.StopCode, t.StoppedReason = types.TaskStopCodeTaskFailedToStart, aws.String(o.Reason)
	}
	if o.StopCode != "" {
		t.StopCode = o.StopCode
	}
	if o.StoppedReason != "" {
		t.StoppedReason = aws.String(o.StoppedReason)
	}
	for i, c := range td.def.ContainerDefinitions {
		name := aws.ToString(c.Name)
		ct := types.Container{Name: c.Name, Image: c.Image, LastStatus: aws.String("STOPPED"), TaskArn: aws.String(arn)}
		if !o.FailToStart {
			code, ok := o.ExitCodes[name]
			if !ok && i == 0 && o.ExitCodes == nil {
				code = 1
			}
			ct.ExitCode = aws.Int32(code)
		}
		if r, ok := o.ContainerReasons[name]; ok {
			ct.Reason = aws.String(r)
		} else if o.FailToStart {
			ct.Reason = aws.String(o.Reason)
		}
		t.Containers = append(t.Containers, ct)
	}
	f.tasks[arn] = &task{t: t, outcome: o, created: now, steps: 1 << 30}
	return id
}
