// Package ecsfake is an in-memory Amazon ECS for tests. It is an httptest
// server speaking ECS's awsJson1_1 protocol (POST /, X-Amz-Target:
// AmazonEC2ContainerServiceV20141113.<Op>, camelCase members, epoch-second
// timestamps, errors as {"__type": ...}), so the real aws-sdk-go-v2 client
// reaches it through its endpoint setting and its signing, serialization,
// retries and waiters run for real.
//
// The fake keeps clusters, task definitions (with tags), services with their
// deployments and events, and tasks with containers and exit codes. Time
// drives it, not the number of calls: deployments and tasks advance one step
// per Tick of real time (short, so tests stay fast), following the script a
// test sets (Rollout, TaskOutcome), however often or rarely they are
// described. Like the real service it can be unpleasant: a just-started
// task may be MISSING for a while (MissingFor), a just-updated service may
// be described as it was before (LagFor), a service may be caught in the
// middle of a rollout (StartRollout), placement may fail for a while
// (Rollout.PlacementFailures), any operation may be throttled (Throttle,
// ThrottleFor) or its connection dropped before (DropFor) or after
// (DropResponseFor) the fake acted on it. Every request and
// response is checked against ECS's published API model (see model.go);
// ModelErrors lists the violations. It counts calls per operation.
package ecsfake

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/entryhq/entry/internal/awsmodel"
)

// TargetPrefix is the X-Amz-Target prefix of every ECS operation.
const TargetPrefix = "AmazonEC2ContainerServiceV20141113."

// Region and Account are the fake's region and account, used in ARNs.
const (
	Region  = "us-east-1"
	Account = "123456789012"
)

// Outcome is how a service deployment ends.
type Outcome int

const (
	// Complete: tasks start, the old ones drain, the rollout COMPLETES.
	Complete Outcome = iota
	// CircuitBreaker: tasks fail to start (failedTasks grows each Tick).
	// With the service's circuit breaker on, the rollout FAILS after Steps;
	// with its rollback on too, ECS itself starts a deployment of the
	// previous task definition, which completes. Without a circuit breaker
	// the rollout stays IN_PROGRESS for ever.
	CircuitBreaker
	// Stall: tasks stay PENDING for ever; the rollout stays IN_PROGRESS.
	Stall
	// Unplaceable: like Stall, with an "unable to place a task" event.
	Unplaceable
	// Alarm: like Complete, but one of the service's deployment alarms
	// (Rollout.AlarmName, default the first) goes into ALARM at the end of
	// the bake time (Rollout.Bake, at least 1): the rollout FAILS, and
	// with the alarms' rollback on ECS rolls back as the circuit breaker
	// does.
	Alarm
)

// A Rollout scripts the next deployment of a service.
type Rollout struct {
	Outcome Outcome
	// Steps is the number of Ticks the outcome takes (default 3, at least
	// 2), however often the service is described.
	Steps int
	// PlacementFailures is the number of Ticks at the start during which
	// ECS cannot place the new tasks: each emits an "unable to place a
	// task" event and nothing progresses; then the outcome follows.
	PlacementFailures int
	// Bake is the number of Ticks a Complete rollout stays IN_PROGRESS
	// after the old deployments drained (ECS's bake time, while it watches
	// the deployment's alarms): one deployment, running == desired, not
	// COMPLETED yet.
	Bake int
	// RollbackAfter is the number of Ticks a FAILED deployment stays
	// PRIMARY before the circuit breaker's rollback deployment starts
	// (default 2; ECS takes a moment too).
	RollbackAfter int
	// TaskFailure is how the tasks of a CircuitBreaker rollout stop (each
	// failing step stops max(desired, 1) of them, started by the
	// deployment): ExitCodes, StopCode, StoppedReason, ContainerReasons,
	// or FailToStart with Reason. Default: the first container exits 1.
	TaskFailure *TaskOutcome
	// AlarmName is the alarm that fails an Alarm rollout.
	AlarmName string
}

// A TaskOutcome scripts the tasks RunTask starts.
type TaskOutcome struct {
	// ExitCodes by container name; containers not named exit 0.
	ExitCodes map[string]int32
	// FailToStart stops the task before any container runs, with stop code
	// TaskFailedToStart and Reason as stoppedReason.
	FailToStart bool
	Reason      string
	// Steps is the number of Ticks until STOPPED (default 3).
	Steps int
	// NeverStarts keeps the task PROVISIONING, then PENDING, for ever (no
	// capacity): it stops only when StopTask stops it.
	NeverStarts bool
	// StopCode, StoppedReason and ContainerReasons (by container name)
	// replace what ECS says of a task whose containers exited (default
	// EssentialContainerExited, "Essential container in task exited", no
	// container reason): an OutOfMemoryError, a Spot interruption.
	StopCode         types.TaskStopCode
	StoppedReason    string
	ContainerReasons map[string]string
}

// DefaultTick is the real time one step of a deployment or a task takes.
const DefaultTick = 20 * time.Millisecond

// Fake is the in-memory ECS. Its methods are safe for concurrent use.
type Fake struct {
	URL string
	srv *httptest.Server

	mu        sync.Mutex
	clock     time.Time // the time of the request being served
	tick      time.Duration
	seq       int
	clusters  map[string]bool
	families  map[string][]*taskDef
	services  map[string]*service // cluster/name
	tasks     map[string]*task    // by ARN
	tokens    map[string]string   // RunTask client token -> task ARN
	calls     map[string]int
	throttles map[string]int
	failRun   string
	outcome   TaskOutcome
	runInputs []ecs.RunTaskInput
	log       []string // operations in order
	failedAt  int      // len(log) when a FAILED rollout was first served; -1 before
	failedAtT time.Time

	missing       time.Duration        // how long a started task is MISSING
	lag           time.Duration        // how long an updated service is described as before
	throttleUntil map[string]time.Time // op ("" for every op) -> end of throttling
	dropUntil     map[string]time.Time // op ("" for every op) -> end of dropped connections
	dropRespUntil map[string]time.Time // op ("" for every op) -> end of dropped responses
	model         *awsmodel.Model
	modelErrs     []string
	hooks         map[string]func() // "op#n" -> run before the nth call of op
}

type taskDef struct {
	def  types.TaskDefinition
	tags []types.Tag
}

type service struct {
	svc      types.Service
	rollouts []Rollout
	steps    map[string]int // deployment id -> steps taken
	plans    map[string]Rollout
	started  map[string]time.Time // deployment id -> start
	// rollbackAt is when ECS starts the circuit breaker's rollback to
	// rollbackTo (zero: none due).
	rollbackAt time.Time
	// lastCompleted is the task definition of the last deployment that
	// COMPLETED: where ECS's rollbacks return.
	lastCompleted string
	// inactiveAt is when a deleted (DRAINING) service becomes INACTIVE.
	inactiveAt time.Time
	// stale is what DescribeServices answers until staleUntil: the
	// service as it was before the last UpdateService (LagFor).
	stale      *types.Service
	staleUntil time.Time
}

type task struct {
	t       types.Task
	outcome TaskOutcome
	steps   int
	created time.Time
	missing time.Duration
	// stopReason is StopTask's reason: the task stops at its next step.
	stopReason string
}

// New starts a fake with no clusters. Close it when done.
func New() *Fake {
	f := &Fake{
		clock:         time.Now(),
		tick:          DefaultTick,
		throttleUntil: map[string]time.Time{},
		dropUntil:     map[string]time.Time{},
		dropRespUntil: map[string]time.Time{},
		hooks:         map[string]func(){},
		model:         ECSModel(),
		clusters:      map[string]bool{},
		families:      map[string][]*taskDef{},
		services:      map[string]*service{},
		tasks:         map[string]*task{},
		tokens:        map[string]string{},
		calls:         map[string]int{},
		throttles:     map[string]int{},
		failedAt:      -1,
	}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serveHTTP))
	f.URL = f.srv.URL
	return f
}

// SetTick sets the real time one step takes (DefaultTick).
func (f *Fake) SetTick(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tick = d
}

// MissingFor makes DescribeTasks answer MISSING, for d after RunTask, for
// the tasks RunTask starts from now on: ECS is eventually consistent.
func (f *Fake) MissingFor(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.missing = d
}

// LagFor makes DescribeServices describe a service, for d after each
// UpdateService from now on, as it was before the update.
func (f *Fake) LagFor(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lag = d
}

// ThrottleFor makes every call of op ("" for every operation) fail with
// ThrottlingException for d from now.
func (f *Fake) ThrottleFor(op string, d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.throttleUntil[op] = time.Now().Add(d)
}

// DropFor makes the fake close the connection of every call of op ("" for
// every operation) without an answer, for d from now. The request is not
// acted on.
func (f *Fake) DropFor(op string, d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.dropUntil[op] = time.Now().Add(d)
}

// DropResponseFor makes the fake act on every call of op ("" for every
// operation) and then close the connection without an answer, for d from
// now: the caller cannot tell whether its request took effect.
func (f *Fake) DropResponseFor(op string, d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.dropRespUntil[op] = time.Now().Add(d)
}

// StartRollout starts a deployment of taskDef on a service as if someone
// had called UpdateService (no call is counted): the scenario starts in the
// middle of a rollout, a new PRIMARY IN_PROGRESS beside the ACTIVE old one.
func (f *Fake) StartRollout(cluster, name, taskDef string, r Rollout) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now()
	s := f.services[cluster+"/"+name]
	td := f.lookup(taskDef)
	if td == nil {
		panic("ecsfake: StartRollout: unknown task definition " + taskDef)
	}
	if r.Steps < 2 {
		r.Steps = 3
	}
	f.startDeployment(s, aws.ToString(td.def.TaskDefinitionArn), r)
}

// OnCall runs fn when the nth call of op arrives, before the fake serves
// it (so fn may set ThrottleFor, DropFor, ...), to make trouble start in
// the middle of a flow.
func (f *Fake) OnCall(op string, n int, fn func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.hooks[fmt.Sprintf("%s#%d", op, n)] = fn
}

// ModelErrors returns every violation of the ECS API model seen in a
// request or a response so far.
func (f *Fake) ModelErrors() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.modelErrs...)
}

// FirstFailedAt returns when the fake first answered a DescribeServices
// with a FAILED rollout, and whether it did.
func (f *Fake) FirstFailedAt() (time.Time, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.failedAtT, f.failedAt >= 0
}

// now sets the fake's clock to the real time and advances every service
// and task to it.
func (f *Fake) now() time.Time {
	f.clock = time.Now()
	for _, key := range sortedServiceKeys(f.services) {
		s := f.services[key]
		f.settleDeleted(s)
		for s.active() && len(s.svc.Deployments) > 0 {
			if !s.rollbackAt.IsZero() && !f.clock.Before(s.rollbackAt) {
				f.startRollback(s)
			}
			id := aws.ToString(s.svc.Deployments[0].Id)
			if _, ok := s.plans[id]; !ok || s.svc.Deployments[0].RolloutState != types.DeploymentRolloutStateInProgress {
				break
			}
			if int(f.clock.Sub(s.started[id])/f.tick) <= s.steps[id] {
				break
			}
			f.step(s)
		}
	}
	for _, t := range f.tasks {
		for aws.ToString(t.t.LastStatus) != "STOPPED" && int(f.clock.Sub(t.created)/f.tick) > t.steps {
			f.stepTask(t)
		}
	}
	return f.clock
}

// active reports whether a scripted condition (throttling, dropping) holds
// for op now.
func active(until map[string]time.Time, op string, now time.Time) bool {
	return now.Before(until[op]) || now.Before(until[""])
}

// Close shuts the server down.
func (f *Fake) Close() { f.srv.Close() }

// AddCluster creates a cluster.
func (f *Fake) AddCluster(name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.clusters[name] = true
}

// Register adds a task definition revision as RegisterTaskDefinition would,
// without counting a call, and returns its ARN.
func (f *Fake) Register(in *ecs.RegisterTaskDefinitionInput) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return aws.ToString(f.register(in).def.TaskDefinitionArn)
}

// A ServiceSpec describes a service to create, already steady.
type ServiceSpec struct {
	Cluster, Name, TaskDefinition string
	DesiredCount                  int32
	LaunchType                    types.LaunchType
	NetworkConfiguration          *types.NetworkConfiguration
	CapacityProviderStrategy      []types.CapacityProviderStrategyItem
	// CircuitBreaker and Rollback configure deploymentCircuitBreaker.
	CircuitBreaker, Rollback bool
	// DeploymentController is ECS unless set.
	DeploymentController types.DeploymentControllerType
	// Alarms and AlarmRollback configure deploymentConfiguration.alarms.
	Alarms        []string
	AlarmRollback bool
}

// AddService creates a steady service running spec.TaskDefinition.
func (f *Fake) AddService(spec ServiceSpec) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if td := f.lookup(spec.TaskDefinition); td != nil {
		spec.TaskDefinition = aws.ToString(td.def.TaskDefinitionArn)
	}
	now := f.now()
	s := &service{steps: map[string]int{}, plans: map[string]Rollout{}, started: map[string]time.Time{}}
	s.svc = types.Service{
		ServiceName:              aws.String(spec.Name),
		ServiceArn:               aws.String(f.arn("service", spec.Cluster+"/"+spec.Name)),
		ClusterArn:               aws.String(f.arn("cluster", spec.Cluster)),
		Status:                   aws.String("ACTIVE"),
		TaskDefinition:           aws.String(spec.TaskDefinition),
		DesiredCount:             spec.DesiredCount,
		RunningCount:             spec.DesiredCount,
		LaunchType:               spec.LaunchType,
		NetworkConfiguration:     spec.NetworkConfiguration,
		CapacityProviderStrategy: spec.CapacityProviderStrategy,
		CreatedAt:                &now,
		DeploymentConfiguration: &types.DeploymentConfiguration{
			DeploymentCircuitBreaker: &types.DeploymentCircuitBreaker{Enable: spec.CircuitBreaker, Rollback: spec.Rollback},
			MaximumPercent:           aws.Int32(200),
			MinimumHealthyPercent:    aws.Int32(100),
		},
	}
	if len(spec.Alarms) > 0 {
		s.svc.DeploymentConfiguration.Alarms = &types.DeploymentAlarms{AlarmNames: spec.Alarms, Enable: true, Rollback: spec.AlarmRollback}
	}
	if spec.DeploymentController == "" {
		spec.DeploymentController = types.DeploymentControllerTypeEcs
	}
	s.svc.DeploymentController = &types.DeploymentController{Type: spec.DeploymentController}
	d := f.newDeployment(&s.svc, spec.TaskDefinition)
	d.RolloutState = types.DeploymentRolloutStateCompleted
	d.RunningCount = spec.DesiredCount
	s.svc.Deployments = []types.Deployment{d}
	s.lastCompleted = spec.TaskDefinition
	f.services[spec.Cluster+"/"+spec.Name] = s
}

// Rollout queues scripts for the next deployments of a service; a
// deployment with no script left completes in 3 steps.
func (f *Fake) Rollout(cluster, name string, r ...Rollout) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.services[cluster+"/"+name]
	s.rollouts = append(s.rollouts, r...)
}

// SetTaskOutcome scripts the tasks that RunTask starts from now on.
func (f *Fake) SetTaskOutcome(o TaskOutcome) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.outcome = o
}

// Throttle makes the next n calls of op fail with ThrottlingException.
func (f *Fake) Throttle(op string, n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.throttles[op] = n
}

// FailRunTask makes the next RunTask return a failure with reason.
func (f *Fake) FailRunTask(reason string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failRun = reason
}

// Calls returns the number of requests per operation, throttled ones
// included.
func (f *Fake) Calls() map[string]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]int{}
	for k, v := range f.calls {
		out[k] = v
	}
	return out
}

// Total returns the number of requests of all operations.
func (f *Fake) Total() int {
	n := 0
	for _, v := range f.Calls() {
		n += v
	}
	return n
}

// Mutating lists the operations that change state.
var Mutating = []string{"RegisterTaskDefinition", "DeregisterTaskDefinition", "UpdateService", "RunTask", "StopTask", "TagResource", "CreateService", "DeleteService"}

// MutatingCalls returns the number of calls of state-changing operations.
func (f *Fake) MutatingCalls() int {
	c := f.Calls()
	n := 0
	for _, op := range Mutating {
		n += c[op]
	}
	return n
}

// CallsAfterFailed returns the operations called after the fake first
// answered a DescribeServices with a FAILED rollout, and whether it did.
func (f *Fake) CallsAfterFailed() ([]string, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failedAt < 0 {
		return nil, false
	}
	return append([]string(nil), f.log[f.failedAt:]...), true
}

// RunTaskInputs returns the accepted RunTask requests.
func (f *Fake) RunTaskInputs() []ecs.RunTaskInput {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]ecs.RunTaskInput(nil), f.runInputs...)
}

// Service returns a snapshot of a service as it is now (not as a lagging
// DescribeServices may show it).
func (f *Fake) Service(cluster, name string) types.Service {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now()
	return copyService(f.services[cluster+"/"+name].svc)
}

// copyService copies the parts of a service the fake changes in place.
func copyService(s types.Service) types.Service {
	s.Deployments = append([]types.Deployment(nil), s.Deployments...)
	s.Events = append([]types.ServiceEvent(nil), s.Events...)
	return s
}

// TaskDefinition returns a revision ("family:rev" or ARN) and its tags.
func (f *Fake) TaskDefinition(ref string) (types.TaskDefinition, []types.Tag, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	td := f.lookup(ref)
	if td == nil {
		return types.TaskDefinition{}, nil, false
	}
	return td.def, td.tags, true
}

// Revisions returns the ACTIVE revision numbers of family, ascending.
func (f *Fake) Revisions(family string) []int32 {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []int32
	for _, td := range f.families[family] {
		if td.def.Status == types.TaskDefinitionStatusActive {
			out = append(out, td.def.Revision)
		}
	}
	return out
}

// ---- HTTP ----

type apiError struct {
	status int
	typ    string
	msg    string
}

func (f *Fake) serveHTTP(w http.ResponseWriter, r *http.Request) {
	target := r.Header.Get("X-Amz-Target")
	op, ok := strings.CutPrefix(target, TargetPrefix)
	body, err := io.ReadAll(r.Body)
	if err != nil {
		// The client gave up while sending (its deadline passed): ECS never
		// saw a request, so there is nothing to answer or to check.
		return
	}
	f.mu.Lock()
	hook := f.hooks[fmt.Sprintf("%s#%d", op, f.calls[op]+1)]
	f.mu.Unlock()
	if hook != nil {
		hook()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	now := f.now()
	f.calls[op]++
	f.log = append(f.log, op)
	if ok && active(f.dropUntil, op, now) && hangUp(w) {
		return // a connection reset before ECS saw the request
	}
	if ok {
		if _, known := f.model.Op(op); known {
			f.modelErrs = append(f.modelErrs, violations(f.model.CheckInput(op, body, nil))...)
		}
	}
	var out any
	var aerr *apiError
	switch {
	case r.Method != http.MethodPost || !ok:
		aerr = &apiError{400, "UnknownOperationException", "no such operation " + target}
	case r.Header.Get("Content-Type") != "application/x-amz-json-1.1":
		aerr = &apiError{400, "SerializationException", "content type must be application/x-amz-json-1.1"}
	case !strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 Credential="):
		aerr = &apiError{403, "MissingAuthenticationTokenException", "request is not signed"}
	case f.throttles[op] > 0:
		f.throttles[op]--
		aerr = &apiError{400, "ThrottlingException", "Rate exceeded"}
	case active(f.throttleUntil, op, now):
		aerr = &apiError{400, "ThrottlingException", "Rate exceeded"}
	default:
		out, aerr = f.dispatch(op, body)
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-RequestId", fmt.Sprintf("req-%d", len(f.log)))
	if aerr != nil {
		w.Header().Set("X-Amzn-ErrorType", aerr.typ)
		w.WriteHeader(aerr.status)
		fmt.Fprintf(w, `{"__type":%q,"message":%q}`, "com.amazonaws.ecs#"+aerr.typ, aerr.msg)
		return
	}
	if active(f.dropRespUntil, op, now) && hangUp(w) {
		return // a connection reset after ECS acted on the request
	}
	resp := marshal(out)
	if o, known := f.model.Op(op); known {
		resp = marshalShape(f.model, o.Output.Shape, out)
		f.modelErrs = append(f.modelErrs, violations(f.model.CheckOutput(op, resp))...)
	}
	w.Write(resp)
}

// hangUp closes the connection of a request without an answer.
func hangUp(w http.ResponseWriter) bool {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			conn.Close()
			return true
		}
	}
	return false
}

func decode[T any](body []byte) (*T, *apiError) {
	v := new(T)
	if err := json.Unmarshal(body, v); err != nil {
		return nil, &apiError{400, "SerializationException", err.Error()}
	}
	return v, nil
}

func invalid(format string, args ...any) *apiError {
	return &apiError{400, "InvalidParameterException", fmt.Sprintf(format, args...)}
}

func (f *Fake) dispatch(op string, body []byte) (any, *apiError) {
	switch op {
	case "RegisterTaskDefinition":
		in, err := decode[ecs.RegisterTaskDefinitionInput](body)
		if err != nil {
			return nil, err
		}
		if aws.ToString(in.Family) == "" || len(in.ContainerDefinitions) == 0 {
			return nil, invalid("family and containerDefinitions are required")
		}
		td := f.register(in)
		return ecs.RegisterTaskDefinitionOutput{TaskDefinition: &td.def, Tags: td.tags}, nil
	case "DescribeTaskDefinition":
		in, err := decode[ecs.DescribeTaskDefinitionInput](body)
		if err != nil {
			return nil, err
		}
		td := f.lookup(aws.ToString(in.TaskDefinition))
		if td == nil {
			return nil, &apiError{400, "ClientException", "Unable to describe task definition."}
		}
		out := ecs.DescribeTaskDefinitionOutput{TaskDefinition: &td.def}
		for _, inc := range in.Include {
			if inc == types.TaskDefinitionFieldTags {
				out.Tags = td.tags
			}
		}
		return out, nil
	case "DeregisterTaskDefinition":
		in, err := decode[ecs.DeregisterTaskDefinitionInput](body)
		if err != nil {
			return nil, err
		}
		td := f.lookup(aws.ToString(in.TaskDefinition))
		if td == nil || !strings.Contains(aws.ToString(in.TaskDefinition), ":") {
			return nil, invalid("task definition %q: a revision is required", aws.ToString(in.TaskDefinition))
		}
		td.def.Status = types.TaskDefinitionStatusInactive
		now := f.clock
		td.def.DeregisteredAt = &now
		return ecs.DeregisterTaskDefinitionOutput{TaskDefinition: &td.def}, nil
	case "ListTaskDefinitions":
		in, err := decode[ecs.ListTaskDefinitionsInput](body)
		if err != nil {
			return nil, err
		}
		return f.listTaskDefinitions(in), nil
	case "DescribeServices":
		in, err := decode[ecs.DescribeServicesInput](body)
		if err != nil {
			return nil, err
		}
		return f.describeServices(in)
	case "UpdateService":
		in, err := decode[ecs.UpdateServiceInput](body)
		if err != nil {
			return nil, err
		}
		return f.updateService(in)
	case "ListServices":
		in, err := decode[ecs.ListServicesInput](body)
		if err != nil {
			return nil, err
		}
		cluster := clusterName(aws.ToString(in.Cluster))
		if !f.clusters[cluster] {
			return nil, &apiError{400, "ClusterNotFoundException", "Cluster not found."}
		}
		out := ecs.ListServicesOutput{}
		for _, key := range sortedServiceKeys(f.services) {
			if strings.HasPrefix(key, cluster+"/") {
				out.ServiceArns = append(out.ServiceArns, aws.ToString(f.services[key].svc.ServiceArn))
			}
		}
		return out, nil
	case "RunTask":
		in, err := decode[ecs.RunTaskInput](body)
		if err != nil {
			return nil, err
		}
		return f.runTask(in)
	case "DeleteService":
		in, err := decode[ecs.DeleteServiceInput](body)
		if err != nil {
			return nil, err
		}
		return f.apiDeleteService(in)
	case "ListTasks":
		in, err := decode[ecs.ListTasksInput](body)
		if err != nil {
			return nil, err
		}
		return f.listTasks(in)
	case "StopTask":
		in, err := decode[ecs.StopTaskInput](body)
		if err != nil {
			return nil, err
		}
		return f.stopTask(in)
	case "DescribeTasks":
		in, err := decode[ecs.DescribeTasksInput](body)
		if err != nil {
			return nil, err
		}
		return f.describeTasks(in)
	}
	return nil, &apiError{400, "UnknownOperationException", "the fake does not implement " + op}
}

// ---- task definitions ----

func (f *Fake) arn(kind, name string) string {
	return fmt.Sprintf("arn:aws:ecs:%s:%s:%s/%s", Region, Account, kind, name)
}

func (f *Fake) register(in *ecs.RegisterTaskDefinitionInput) *taskDef {
	family := aws.ToString(in.Family)
	rev := int32(len(f.families[family]) + 1)
	now := f.clock
	def := types.TaskDefinition{
		Family:                  in.Family,
		Revision:                rev,
		TaskDefinitionArn:       aws.String(f.arn("task-definition", fmt.Sprintf("%s:%d", family, rev))),
		Status:                  types.TaskDefinitionStatusActive,
		RegisteredAt:            &now,
		RegisteredBy:            aws.String("arn:aws:iam::" + Account + ":user/ci"),
		ContainerDefinitions:    in.ContainerDefinitions,
		Cpu:                     in.Cpu,
		EnableFaultInjection:    in.EnableFaultInjection,
		EphemeralStorage:        in.EphemeralStorage,
		ExecutionRoleArn:        in.ExecutionRoleArn,
		InferenceAccelerators:   in.InferenceAccelerators,
		IpcMode:                 in.IpcMode,
		Memory:                  in.Memory,
		NetworkMode:             in.NetworkMode,
		PidMode:                 in.PidMode,
		PlacementConstraints:    in.PlacementConstraints,
		ProxyConfiguration:      in.ProxyConfiguration,
		RequiresCompatibilities: in.RequiresCompatibilities,
		RuntimePlatform:         in.RuntimePlatform,
		TaskRoleArn:             in.TaskRoleArn,
		Volumes:                 in.Volumes,
		Compatibilities:         []types.Compatibility{types.CompatibilityEc2, types.CompatibilityFargate},
	}
	if def.NetworkMode == "" {
		def.NetworkMode = types.NetworkModeBridge
	}
	td := &taskDef{def: def, tags: in.Tags}
	f.families[family] = append(f.families[family], td)
	return td
}

// lookup finds "family", "family:rev" or an ARN; a bare family means its
// latest ACTIVE revision.
func (f *Fake) lookup(ref string) *taskDef {
	if i := strings.LastIndex(ref, "task-definition/"); i >= 0 {
		ref = ref[i+len("task-definition/"):]
	}
	family, rev, hasRev := strings.Cut(ref, ":")
	revs := f.families[family]
	if !hasRev {
		for i := len(revs) - 1; i >= 0; i-- {
			if revs[i].def.Status == types.TaskDefinitionStatusActive {
				return revs[i]
			}
		}
		return nil
	}
	var n int
	if _, err := fmt.Sscanf(rev, "%d", &n); err != nil || n < 1 || n > len(revs) {
		return nil
	}
	return revs[n-1]
}

func (f *Fake) listTaskDefinitions(in *ecs.ListTaskDefinitionsInput) ecs.ListTaskDefinitionsOutput {
	status := in.Status
	if status == "" {
		status = types.TaskDefinitionStatusActive
	}
	var names []string
	for name := range f.families {
		if strings.HasPrefix(name, aws.ToString(in.FamilyPrefix)) {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	var arns []string
	for _, name := range names {
		for _, td := range f.families[name] {
			if td.def.Status == status {
				arns = append(arns, aws.ToString(td.def.TaskDefinitionArn))
			}
		}
	}
	if in.Sort == types.SortOrderDesc {
		for i, j := 0, len(arns)-1; i < j; i, j = i+1, j-1 {
			arns[i], arns[j] = arns[j], arns[i]
		}
	}
	// One page of at most maxResults (default 100), so callers must page.
	out := ecs.ListTaskDefinitionsOutput{}
	out.TaskDefinitionArns, out.NextToken = page(arns, in.NextToken, in.MaxResults, 100)
	return out
}

// ---- services and deployments ----

func (f *Fake) newDeployment(svc *types.Service, taskDef string) types.Deployment {
	f.seq++
	now := f.clock
	return types.Deployment{
		Id:                       aws.String(fmt.Sprintf("ecs-svc/%019d", f.seq)),
		Status:                   aws.String("PRIMARY"),
		TaskDefinition:           aws.String(taskDef),
		DesiredCount:             svc.DesiredCount,
		RolloutState:             types.DeploymentRolloutStateInProgress,
		RolloutStateReason:       aws.String("ECS deployment " + fmt.Sprintf("ecs-svc/%019d", f.seq) + " in progress."),
		LaunchType:               svc.LaunchType,
		NetworkConfiguration:     svc.NetworkConfiguration,
		CapacityProviderStrategy: svc.CapacityProviderStrategy,
		CreatedAt:                &now,
		UpdatedAt:                &now,
	}
}

func (f *Fake) findService(clusterRef, name string) (*service, string) {
	cluster := clusterName(clusterRef)
	if i := strings.LastIndex(name, "/"); i >= 0 {
		name = name[i+1:]
	}
	return f.services[cluster+"/"+name], cluster
}

func clusterName(ref string) string {
	if ref == "" {
		return "default"
	}
	if i := strings.LastIndex(ref, "/"); i >= 0 {
		return ref[i+1:]
	}
	return ref
}

func (f *Fake) describeServices(in *ecs.DescribeServicesInput) (any, *apiError) {
	if !f.clusters[clusterName(aws.ToString(in.Cluster))] {
		return nil, &apiError{400, "ClusterNotFoundException", "Cluster not found."}
	}
	if len(in.Services) == 0 || len(in.Services) > 10 {
		return nil, invalid("services must hold 1 to 10 names, not %d", len(in.Services))
	}
	out := ecs.DescribeServicesOutput{}
	for _, name := range in.Services {
		s, cluster := f.findService(aws.ToString(in.Cluster), name)
		if s == nil {
			out.Failures = append(out.Failures, types.Failure{Arn: aws.String(f.arn("service", cluster+"/"+name)), Reason: aws.String("MISSING")})
			continue
		}
		svc := copyService(s.svc)
		if s.stale != nil && f.clock.Before(s.staleUntil) {
			svc = copyService(*s.stale)
		}
		if len(svc.Events) > 100 {
			svc.Events = svc.Events[:100]
		}
		for _, d := range svc.Deployments {
			if d.RolloutState == types.DeploymentRolloutStateFailed && f.failedAt < 0 {
				f.failedAt = len(f.log)
				f.failedAtT = f.clock
			}
		}
		out.Services = append(out.Services, svc)
	}
	return out, nil
}

func (f *Fake) updateService(in *ecs.UpdateServiceInput) (any, *apiError) {
	if !f.clusters[clusterName(aws.ToString(in.Cluster))] {
		return nil, &apiError{400, "ClusterNotFoundException", "Cluster not found."}
	}
	s, _ := f.findService(aws.ToString(in.Cluster), aws.ToString(in.Service))
	if s == nil {
		return nil, &apiError{400, "ServiceNotFoundException", "Service not found."}
	}
	if !s.active() {
		return nil, &apiError{400, "ServiceNotActiveException", "Service was not ACTIVE."}
	}
	if in.TaskDefinition != nil && s.svc.DeploymentController.Type != types.DeploymentControllerTypeEcs {
		return nil, invalid("Cannot update a service using the %s deployment controller this way.", s.svc.DeploymentController.Type)
	}
	if f.lag > 0 {
		old := copyService(s.svc)
		s.stale, s.staleUntil = &old, f.clock.Add(f.lag)
	}
	if in.DesiredCount != nil {
		s.svc.DesiredCount = *in.DesiredCount
	}
	if in.TaskDefinition != nil {
		td := f.lookup(aws.ToString(in.TaskDefinition))
		if td == nil || td.def.Status != types.TaskDefinitionStatusActive {
			return nil, invalid("TaskDefinition not found or inactive: %s", aws.ToString(in.TaskDefinition))
		}
		arn := aws.ToString(td.def.TaskDefinitionArn)
		if arn != aws.ToString(s.svc.TaskDefinition) || in.ForceNewDeployment {
			f.startDeployment(s, arn, f.nextRollout(s))
		}
	}
	return ecs.UpdateServiceOutput{Service: &s.svc}, nil
}

func (f *Fake) nextRollout(s *service) Rollout {
	r := Rollout{Outcome: Complete}
	if len(s.rollouts) > 0 {
		r, s.rollouts = s.rollouts[0], s.rollouts[1:]
	}
	if r.Steps < 2 {
		r.Steps = 3
	}
	return r
}

// startDeployment makes a new PRIMARY deployment; the previous ones become
// ACTIVE and drain as the new one starts.
func (f *Fake) startDeployment(s *service, arn string, r Rollout) {
	for i := range s.svc.Deployments {
		s.svc.Deployments[i].Status = aws.String("ACTIVE")
	}
	d := f.newDeployment(&s.svc, arn)
	s.svc.Deployments = append([]types.Deployment{d}, s.svc.Deployments...)
	s.svc.TaskDefinition = aws.String(arn)
	s.plans[aws.ToString(d.Id)] = r
	s.steps[aws.ToString(d.Id)] = 0
	s.started[aws.ToString(d.Id)] = f.clock
}

func (f *Fake) event(s *service, format string, args ...any) {
	f.seq++
	now := f.clock
	msg := fmt.Sprintf("(service %s) ", aws.ToString(s.svc.ServiceName)) + fmt.Sprintf(format, args...)
	e := types.ServiceEvent{Id: aws.String(fmt.Sprintf("ev-%d", f.seq)), CreatedAt: &now, Message: aws.String(msg)}
	s.svc.Events = append([]types.ServiceEvent{e}, s.svc.Events...)
}

// step advances the PRIMARY deployment of s by one step (one Tick) of its
// script.
func (f *Fake) step(s *service) {
	if len(s.svc.Deployments) == 0 {
		return
	}
	d := &s.svc.Deployments[0]
	id := aws.ToString(d.Id)
	r, scripted := s.plans[id]
	if !scripted || d.RolloutState != types.DeploymentRolloutStateInProgress {
		return
	}
	s.steps[id]++
	n := s.steps[id]
	now := f.clock
	d.UpdatedAt = &now
	desired := s.svc.DesiredCount
	d.DesiredCount = desired
	if n <= r.PlacementFailures {
		f.event(s, unplaceable)
		return
	}
	n -= r.PlacementFailures
	switch r.Outcome {
	case Stall, Unplaceable:
		if r.Outcome == Unplaceable {
			// ECS goes on trying, and saying so.
			f.event(s, unplaceable)
		} else if n == 1 {
			d.PendingCount = desired
			f.event(s, "has started %d tasks: (task %s).", desired, f.taskID())
		}
	case Alarm:
		bake := max(r.Bake, 1)
		switch {
		case n == 1:
			d.PendingCount = desired
			f.event(s, "has started %d tasks: (task %s).", desired, f.taskID())
		case n < r.Steps+bake:
			d.PendingCount, d.RunningCount = 0, desired
			if len(s.svc.Deployments) > 1 {
				s.svc.Deployments = s.svc.Deployments[:1]
				f.event(s, "has stopped 1 running tasks: (task %s).", f.taskID())
			}
		default:
			alarms := s.svc.DeploymentConfiguration.Alarms
			name := r.AlarmName
			if name == "" && alarms != nil && len(alarms.AlarmNames) > 0 {
				name = alarms.AlarmNames[0]
			}
			d.RolloutState = types.DeploymentRolloutStateFailed
			d.RolloutStateReason = aws.String("ECS deployment " + id + " failed: alarm detected.")
			f.event(s, "(deployment %s) deployment failed: alarm %s in ALARM state.", id, name)
			if alarms != nil && alarms.Rollback {
				f.scheduleRollback(s, r)
			}
		}
	case Complete:
		switch {
		case n == 1:
			d.PendingCount = desired
			f.event(s, "has started %d tasks: (task %s).", desired, f.taskID())
		case n < r.Steps:
			d.PendingCount, d.RunningCount = 0, desired
			for i := 1; i < len(s.svc.Deployments); i++ {
				s.svc.Deployments[i].RunningCount = 0
			}
			f.event(s, "has stopped 1 running tasks: (task %s).", f.taskID())
		case n < r.Steps+r.Bake:
			// Baking: the old tasks are gone, ECS still watches.
			d.PendingCount, d.RunningCount = 0, desired
			if len(s.svc.Deployments) > 1 {
				s.svc.Deployments = s.svc.Deployments[:1]
				f.event(s, "has stopped 1 running tasks: (task %s).", f.taskID())
			}
		default:
			d.PendingCount, d.RunningCount = 0, desired
			d.RolloutState = types.DeploymentRolloutStateCompleted
			d.RolloutStateReason = aws.String("ECS deployment " + id + " completed.")
			s.lastCompleted = aws.ToString(d.TaskDefinition)
			s.svc.Deployments = s.svc.Deployments[:1]
			f.event(s, "(deployment %s) deployment completed.", id)
			f.event(s, "has reached a steady state.")
		}
	case CircuitBreaker:
		cb := s.svc.DeploymentConfiguration.DeploymentCircuitBreaker
		switch {
		case n < r.Steps || cb == nil || !cb.Enable:
			// Without a circuit breaker ECS goes on starting tasks that
			// fail, for ever.
			d.PendingCount = 0
			d.FailedTasks += max(desired, 1)
			var id string
			for range max(desired, 1) {
				id = f.failedServiceTask(s, d, r)
			}
			f.event(s, "(task %s) failed container health checks.", id)
		default:
			d.PendingCount = 0
			d.RolloutState = types.DeploymentRolloutStateFailed
			d.RolloutStateReason = aws.String("ECS deployment circuit breaker: tasks failed to start.")
			f.event(s, "(deployment %s) deployment failed: tasks failed to start.", id)
			if cb.Rollback {
				f.scheduleRollback(s, r)
			}
		}
	}
	s.svc.PendingCount = s.svc.Deployments[0].PendingCount
	running := int32(0)
	for _, d := range s.svc.Deployments {
		running += d.RunningCount
	}
	s.svc.RunningCount = running
}

// scheduleRollback makes ECS roll back, RollbackAfter Ticks from now, to
// the last deployment that completed: the circuit breaker (or the alarms'
// rollback) returns to the last deployment that reached a steady state,
// even one already gone from the list (drained during a bake time).
func (f *Fake) scheduleRollback(s *service, r Rollout) {
	if s.lastCompleted == "" {
		return
	}
	after := r.RollbackAfter
	if after <= 0 {
		after = 2
	}
	s.rollbackAt = f.clock.Add(time.Duration(after) * f.tick)
}

// startRollback starts the rollback deployment.
func (f *Fake) startRollback(s *service) {
	s.rollbackAt = time.Time{}
	f.event(s, "rolling back to %s.", shortTaskDef(s.lastCompleted))
	f.startDeployment(s, s.lastCompleted, Rollout{Outcome: Complete, Steps: 3})
}

func shortTaskDef(arn string) string {
	return arn[strings.LastIndex(arn, "/")+1:]
}

const unplaceable = "was unable to place a task because no container instance met all of its requirements. Reason: No Container Instances were found in your cluster."

func (f *Fake) taskID() string {
	f.seq++
	return fmt.Sprintf("%032x", f.seq)
}

// ---- tasks ----

func (f *Fake) runTask(in *ecs.RunTaskInput) (any, *apiError) {
	cluster := clusterName(aws.ToString(in.Cluster))
	if !f.clusters[cluster] {
		return nil, &apiError{400, "ClusterNotFoundException", "Cluster not found."}
	}
	td := f.lookup(aws.ToString(in.TaskDefinition))
	if td == nil || td.def.Status != types.TaskDefinitionStatusActive {
		return nil, invalid("TaskDefinition not found or inactive: %s", aws.ToString(in.TaskDefinition))
	}
	if in.ClientToken != nil {
		if arn, ok := f.tokens[*in.ClientToken]; ok {
			return ecs.RunTaskOutput{Tasks: []types.Task{f.tasks[arn].t}}, nil
		}
	}
	f.runInputs = append(f.runInputs, *in)
	if f.failRun != "" {
		reason := f.failRun
		f.failRun = ""
		return ecs.RunTaskOutput{Failures: []types.Failure{{Arn: aws.String(f.arn("container-instance", cluster)), Reason: aws.String(reason)}}}, nil
	}
	now := f.clock
	arn := f.arn("task", cluster+"/"+f.taskID())
	t := types.Task{
		TaskArn:           aws.String(arn),
		ClusterArn:        aws.String(f.arn("cluster", cluster)),
		TaskDefinitionArn: td.def.TaskDefinitionArn,
		LastStatus:        aws.String("PROVISIONING"),
		DesiredStatus:     aws.String("RUNNING"),
		LaunchType:        in.LaunchType,
		StartedBy:         in.StartedBy,
		Group:             aws.String("family:" + aws.ToString(td.def.Family)),
		Overrides:         in.Overrides,
		CreatedAt:         &now,
	}
	for _, c := range td.def.ContainerDefinitions {
		t.Containers = append(t.Containers, types.Container{
			Name: c.Name, Image: c.Image, LastStatus: aws.String("PENDING"), TaskArn: aws.String(arn),
		})
	}
	o := f.outcome
	if o.Steps < 2 {
		o.Steps = 3
	}
	f.tasks[arn] = &task{t: t, outcome: o, created: now, missing: f.missing}
	if in.ClientToken != nil {
		f.tokens[*in.ClientToken] = arn
	}
	return ecs.RunTaskOutput{Tasks: []types.Task{t}}, nil
}

func (f *Fake) describeTasks(in *ecs.DescribeTasksInput) (any, *apiError) {
	if !f.clusters[clusterName(aws.ToString(in.Cluster))] {
		return nil, &apiError{400, "ClusterNotFoundException", "Cluster not found."}
	}
	out := ecs.DescribeTasksOutput{}
	for _, ref := range in.Tasks {
		t := f.tasks[ref]
		if t == nil || f.clock.Sub(t.created) < t.missing {
			out.Failures = append(out.Failures, types.Failure{Arn: aws.String(ref), Reason: aws.String("MISSING")})
			continue
		}
		out.Tasks = append(out.Tasks, t.t)
	}
	return out, nil
}

func (f *Fake) stepTask(t *task) {
	if aws.ToString(t.t.LastStatus) == "STOPPED" {
		return
	}
	t.steps++
	now := f.clock
	o := t.outcome
	setAll := func(status string) {
		for i := range t.t.Containers {
			t.t.Containers[i].LastStatus = aws.String(status)
		}
	}
	switch {
	case t.stopReason != "":
		started := t.t.StartedAt != nil
		t.t.LastStatus, t.t.DesiredStatus = aws.String("STOPPED"), aws.String("STOPPED")
		t.t.StopCode = types.TaskStopCodeUserInitiated
		t.t.StoppedReason = aws.String(t.stopReason)
		t.t.StoppedAt = &now
		setAll("STOPPED")
		if started {
			for i := range t.t.Containers {
				t.t.Containers[i].ExitCode = aws.Int32(143)
			}
		}
	case o.NeverStarts:
		if t.steps >= 2 {
			t.t.LastStatus = aws.String("PENDING")
		}
	case o.FailToStart && t.steps >= 2:
		t.t.LastStatus, t.t.DesiredStatus = aws.String("STOPPED"), aws.String("STOPPED")
		t.t.StopCode = types.TaskStopCodeTaskFailedToStart
		t.t.StoppedReason = aws.String(o.Reason)
		t.t.StoppedAt = &now
		setAll("STOPPED")
		for i := range t.t.Containers {
			t.t.Containers[i].Reason = aws.String(o.Reason)
		}
	case t.steps >= o.Steps:
		t.t.LastStatus, t.t.DesiredStatus = aws.String("STOPPED"), aws.String("STOPPED")
		t.t.StopCode = types.TaskStopCodeEssentialContainerExited
		t.t.StoppedReason = aws.String("Essential container in task exited")
		if o.StopCode != "" {
			t.t.StopCode = o.StopCode
		}
		if o.StoppedReason != "" {
			t.t.StoppedReason = aws.String(o.StoppedReason)
		}
		t.t.StoppedAt = &now
		setAll("STOPPED")
		for i := range t.t.Containers {
			name := aws.ToString(t.t.Containers[i].Name)
			t.t.Containers[i].ExitCode = aws.Int32(o.ExitCodes[name])
			if r, ok := o.ContainerReasons[name]; ok {
				t.t.Containers[i].Reason = aws.String(r)
			}
		}
	case t.steps == 1:
		t.t.LastStatus = aws.String("PENDING")
	default:
		t.t.LastStatus = aws.String("RUNNING")
		t.t.StartedAt = &now
		setAll("RUNNING")
	}
}

func sortedServiceKeys(m map[string]*service) []string {
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
