package deploy

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// Default timings. Polling starts at PollInterval and backs off by half
// while nothing changes, up to PollMax; any change brings it back.
const (
	DefaultTimeout       = 10 * time.Minute
	DefaultPollInterval  = 5 * time.Second
	DefaultPollMax       = 15 * time.Second
	DefaultProgressEvery = 5 * time.Second
)

// Grace periods for ECS's eventual consistency and transient trouble (see
// docs/deploy.md):
//   - DefaultMissingGrace: how long DescribeTasks may answer MISSING for
//     the task RunTask just started (ECS's RunTask reference tells callers
//     to retry with backoff);
//   - DefaultLagGrace: how long DescribeServices may not show the
//     deployment UpdateService just started;
//   - DefaultPlacementGrace: how long "unable to place a task" events may
//     go on, with no new task running, before entry gives up on a rollout
//     (ECS retries placement; a Fargate capacity shortage is often brief);
//   - DefaultCleanupTimeout: the bound of each clean-up call (rollback,
//     deregistration), which runs on its own context so that an expired or
//     cancelled deploy still cleans up.
const (
	DefaultMissingGrace   = time.Minute
	DefaultLagGrace       = time.Minute
	DefaultPlacementGrace = 5 * time.Minute
	DefaultCleanupTimeout = 2 * time.Minute
)

// A Deployer drives one cluster's services through the ECS API.
type Deployer struct {
	Client *ecs.Client
	// Out receives progress lines, one event a line.
	Out io.Writer
	// PollInterval and PollMax bound the polling interval (defaults
	// above); ProgressEvery is the least time between two progress lines
	// of a service.
	PollInterval, PollMax, ProgressEvery time.Duration
	// Grace periods and the clean-up bound; 0 means the default above.
	MissingGrace, LagGrace, PlacementGrace, CleanupTimeout time.Duration
	// LogGrace: how long a stopped one-off task's log must stay quiet
	// (DefaultLogGrace when 0; see logs.go).
	LogGrace time.Duration
	Clients  // EventBridge, Scheduler, CloudWatch Logs: see schedules.go
}

func orDefault(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// cleanup returns the context of a clean-up call: not cancelled with the
// deploy's (a cancelled CI job or an expired wait still cleans up), bounded
// on its own.
func (d *Deployer) cleanup(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), orDefault(d.CleanupTimeout, DefaultCleanupTimeout))
}

// A Spec says what to deploy.
type Spec struct {
	Cluster  string
	Services []string

	// The new images: Image (for Containers, or every container whose
	// repository matches), ImageDefinitions, or whole TaskDefinitions
	// (one per family). Exactly one must be set.
	Image            string
	Containers       []string
	ImageDefinitions []ImageDefinition
	TaskDefinitions  []*ecs.RegisterTaskDefinitionInput

	// Migrate is the migration command (exec form) run as a one-off task
	// of the first service's new revision, in MigrateContainer (default:
	// the first container whose image changed).
	Migrate          []string
	MigrateContainer string

	// Timeout bounds each wait: the migration, the rollout, the rollback.
	Timeout    time.Duration
	Keep       int
	NoRollback bool
	DryRun     bool
	// Scheduled says which scheduled tasks follow the services.
	Scheduled ScheduleSpec
	// KeepZero keeps a service scaled to 0 at 0 (the new revision is set,
	// no task runs); by default a desired count of 0 becomes 1, as the
	// original set-ups did ("keep desired, at least 1").
	KeepZero bool
	// OtherDeploys says what to do when another deployment is rolling a
	// service out: OthersReplace ("" too), OthersRefuse or OthersWait.
	OtherDeploys string
	// SkipImageCheck skips the check that the ECR images exist
	// (images.go).
	SkipImageCheck bool
}

// Validate checks the spec before any API call.
func (s *Spec) Validate() error {
	if s.Cluster == "" {
		return errors.New("no cluster (--cluster)")
	}
	if len(s.Services) == 0 {
		return errors.New("no service (--service, repeatable)")
	}
	if err := checkServices(s.Services); err != nil {
		return err
	}
	if s.Timeout < 0 {
		return fmt.Errorf("--timeout %v: give a positive duration such as 10m", s.Timeout)
	}
	seen := map[string]bool{}
	for _, name := range s.Services {
		if seen[name] {
			return fmt.Errorf("service %q named twice", name)
		}
		seen[name] = true
	}
	n := 0
	for _, set := range []bool{s.Image != "", len(s.ImageDefinitions) > 0, len(s.TaskDefinitions) > 0} {
		if set {
			n++
		}
	}
	if n != 1 {
		return errors.New("name the new image with exactly one of --image, --image-definitions or --task-definition")
	}
	if s.Image != "" {
		if err := checkImage("--image", s.Image); err != nil {
			return err
		}
	}
	for _, def := range s.ImageDefinitions {
		if err := checkImage("image definitions: container "+def.Name+": imageUri", def.ImageURI); err != nil {
			return err
		}
	}
	if err := CheckScheduled(s.Scheduled); err != nil {
		return err
	}
	if len(s.Containers) > 0 && s.Image == "" {
		return errors.New("--container goes with --image")
	}
	if s.Keep < 0 {
		return errors.New("--keep must be 0 (keep all) or more")
	}
	switch s.OtherDeploys {
	case "", OthersReplace, OthersRefuse, OthersWait:
	default:
		return fmt.Errorf("--other-deploys %q: give replace, refuse or wait", s.OtherDeploys)
	}
	return nil
}

// imageHasTagOrDigest reports whether an image reference names one image:
// a tag after its last path element (a registry's :port does not count) or
// an @digest.
func imageHasTagOrDigest(ref string) bool {
	if strings.Contains(ref, "@") {
		return true
	}
	last := ref[strings.LastIndex(ref, "/")+1:]
	name, tag, ok := strings.Cut(last, ":")
	return ok && name != "" && tag != ""
}

// A Failure is a deploy that did not reach its goal. Its message is the
// summary of what failed and what was restored.
type Failure struct {
	Summary string
	cause   error // what made it fail, when the caller may ask (Replaced, ServiceGone)
}

func (f *Failure) Error() string { return f.Summary }
func (f *Failure) Unwrap() error { return f.cause }

// family is one task definition family being deployed, shared by the
// services that run it.
type family struct {
	name     string
	base     *types.TaskDefinition // the live revision the new one is built from
	baseIn   *ecs.RegisterTaskDefinitionInput
	newIn    *ecs.RegisterTaskDefinitionInput
	target   string // ARN of the revision to deploy
	register bool   // whether the target still has to be registered
	changed  []string
}

// unit is one service being deployed.
type unit struct {
	name    string
	svc     types.Service
	fam     *family
	current string // ARN of its PRIMARY deployment now
	// serving is the ARN of the revision that serves now, the one to roll
	// back to: the PRIMARY's when it is settled, else the ACTIVE
	// deployment's that runs the most tasks.
	serving string
	updated bool // UpdateService done, or a rollout adopted
	noop    bool // settled on the target
	adopt   bool // its in-flight rollout already carries the target
}

// outMu keeps lines whole: a one-off task's log is printed by its follower
// while the wait prints its own.
var outMu sync.Mutex

func (d *Deployer) out(format string, args ...any) {
	outMu.Lock()
	defer outMu.Unlock()
	fmt.Fprintf(d.Out, format+"\n", args...)
}

func (d *Deployer) poll() (lo, hi time.Duration) {
	lo, hi = d.PollInterval, d.PollMax
	if lo <= 0 {
		lo = DefaultPollInterval
	}
	if hi <= 0 {
		hi = 3 * lo
	}
	return lo, max(lo, hi)
}

// Deploy runs the whole flow: build and register the new revisions, run
// the migration, update the services, wait, roll back on failure and
// deregister old revisions.
func (d *Deployer) Deploy(ctx context.Context, spec Spec) error {
	if err := spec.Validate(); err != nil {
		return err
	}
	if spec.Timeout <= 0 {
		spec.Timeout = DefaultTimeout
	}
	svcs, units, fams, err := d.prepare(ctx, spec)
	if err != nil {
		return err
	}
	// Before anything is read for the scheduled tasks or registered: an
	// image that is not there fails the deploy now, not by a rollout.
	var changing []*family
	for _, u := range units {
		if !u.noop && !slices.Contains(changing, u.fam) {
			changing = append(changing, u.fam)
		}
	}
	if err := d.checkImages(ctx, spec, changing); err != nil {
		return err
	}
	var sched *scheduled
	if spec.Scheduled.Enabled() {
		if sched, err = d.findScheduled(ctx, spec, aws.ToString(units[0].svc.ClusterArn), fams); err != nil {
			return err
		}
		defer sched.close()
	}
	var todo []*unit
	for _, u := range units {
		if !u.noop {
			todo = append(todo, u)
		}
	}
	if len(todo) == 0 {
		var revs []string
		for _, u := range units {
			revs = append(revs, u.name+" "+shortARN(u.current))
		}
		d.out("every service already runs these images (%s); nothing to do", strings.Join(revs, ", "))
		return d.schedulesWhenNoop(ctx, spec, sched)
	}
	migrateIn, migrateContainer, err := d.migrationInput(spec, units[0], svcs[units[0].name])
	if err != nil {
		return err
	}
	if spec.DryRun {
		d.printPlan(spec, units, fams, migrateContainer)
		if err := d.printSchedulePlan(sched); err != nil {
			return err
		}
		d.out("dry run: nothing was changed")
		return nil
	}

	var registered []string
	for _, f := range fams {
		if !f.register {
			continue
		}
		arn, reused, err := d.register(ctx, spec.Timeout, f)
		if err != nil {
			d.dropRevisions(ctx, registered, nil, nil)
			return err
		}
		f.target = arn
		registered = append(registered, f.target)
		again := ""
		if reused {
			again = "; the answer to an earlier attempt was lost, so the revision it created is used"
		}
		d.out("%s: registered %s (%s)%s", f.name, shortARN(f.target), strings.Join(f.changed, ", "), again)
	}

	update := false
	for _, u := range todo {
		update = update || !u.adopt
	}
	if migrateIn != nil && !update {
		// Every service already rolls out the new revision: entry updates
		// services only after a migration succeeded, so it ran.
		d.out("migrate: skipped; the services already roll out %s, which entry deploys only after its migration succeeded", shortARN(units[0].fam.target))
	} else if migrateIn != nil {
		migrateIn.TaskDefinition = aws.String(units[0].fam.target)
		if err := d.migrate(ctx, "migrate", spec, migrateIn, migrateContainer); err != nil {
			d.dropRevisions(ctx, registered, nil, nil)
			return &Failure{Summary: err.Error() + "; no service was changed"}
		}
	}

	watches, err := d.update(ctx, spec, todo)
	if err == nil {
		err = d.wait(ctx, spec.Cluster, watches, spec.Timeout)
	}
	if err != nil {
		return d.fail(ctx, spec, todo, watches, registered, err)
	}
	// The services are healthy on the new revision: nothing that happens
	// to the scheduled tasks rolls them back (see followSchedules).
	schedErr := d.followSchedules(ctx, sched, spec.Timeout)
	var done []string
	for _, u := range todo {
		done = append(done, fmt.Sprintf("%s %s", u.name, shortARN(u.fam.target)))
	}
	d.out("deployed: %s", strings.Join(done, ", "))
	if spec.Keep > 0 {
		if err := d.housekeep(ctx, spec, units); err != nil {
			d.out("warning: housekeeping: %v (the deploy itself succeeded)", err)
		}
	}
	if schedErr != nil {
		return &Failure{Summary: fmt.Sprintf("the services are deployed (%s), but %v", strings.Join(done, ", "), schedErr)}
	}
	return nil
}

// prepare describes the services, checks them and plans the deploy. A
// service another deployment is rolling out is deployed over (the other
// deploy stops, see Replaced), or refused, or waited for, as
// spec.OtherDeploys says.
func (d *Deployer) prepare(ctx context.Context, spec Spec) (map[string]types.Service, []*unit, []*family, error) {
	start := time.Now()
	lo, hi := d.poll()
	interval := lo
	said := false
	for {
		svcs, err := d.describeServices(ctx, spec.Cluster, spec.Services)
		if err != nil {
			return nil, nil, nil, err
		}
		if err := preflight(spec, svcs); err != nil {
			return nil, nil, nil, err
		}
		units, fams, err := d.plan(ctx, spec, svcs)
		if err != nil {
			return nil, nil, nil, err
		}
		busy := busyServices(units)
		if len(busy) == 0 {
			return svcs, units, fams, nil
		}
		switch spec.OtherDeploys {
		case OthersRefuse:
			return nil, nil, nil, &Busy{Services: busy}
		case OthersWait:
			if time.Since(start) >= spec.Timeout {
				return nil, nil, nil, &Busy{Services: busy, Waited: spec.Timeout}
			}
			if !said {
				d.out("another deployment is in flight (%s); waiting up to %v for it to finish (--other-deploys=wait)", strings.Join(busy, "; "), spec.Timeout)
				said = true
			}
			t := time.NewTimer(min(interval, max(spec.Timeout-time.Since(start), 0)))
			select {
			case <-ctx.Done():
				t.Stop()
				return nil, nil, nil, fmt.Errorf("%w while waiting for another deployment to finish (%s); nothing was changed", errInterrupted, strings.Join(busy, "; "))
			case <-t.C:
			}
			interval = min(interval*3/2, hi)
			continue
		}
		d.out("warning: another deployment is in flight (%s); deploying over it (the deploy that made it will stop without rolling back; --other-deploys=refuse or wait to avoid this)", strings.Join(busy, "; "))
		return svcs, units, fams, nil
	}
}

// describeServices describes services, at most 10 a call, and fails on a
// missing or inactive one.
func (d *Deployer) describeServices(ctx context.Context, cluster string, names []string) (map[string]types.Service, error) {
	out := map[string]types.Service{}
	for start := 0; start < len(names); start += 10 {
		batch := names[start:min(start+10, len(names))]
		resp, err := d.Client.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(cluster), Services: batch})
		var cnf *types.ClusterNotFoundException
		if errors.As(err, &cnf) {
			return nil, fmt.Errorf("cluster %s not found (%v); check --cluster and the region; nothing was changed", cluster, callError(strings.Join(batch, ","), "DescribeServices", err))
		}
		if err != nil {
			return nil, callError(strings.Join(batch, ","), "DescribeServices", err)
		}
		for _, f := range resp.Failures {
			return nil, fmt.Errorf("%s: DescribeServices: service not found in cluster %s (%s)", lastPart(aws.ToString(f.Arn)), cluster, aws.ToString(f.Reason))
		}
		for _, s := range resp.Services {
			out[aws.ToString(s.ServiceName)] = s
		}
	}
	for _, name := range names {
		s, ok := out[name]
		if !ok {
			return nil, fmt.Errorf("%s: DescribeServices: service not found in cluster %s", name, cluster)
		}
		if st := aws.ToString(s.Status); st != "ACTIVE" {
			return nil, fmt.Errorf("%s: DescribeServices: service is %s in cluster %s, not ACTIVE", name, st, cluster)
		}
	}
	return out, nil
}

// plan builds each family's new definition and decides which services
// need a deployment.
func (d *Deployer) plan(ctx context.Context, spec Spec, svcs map[string]types.Service) ([]*unit, []*family, error) {
	files := map[string]*ecs.RegisterTaskDefinitionInput{}
	for _, in := range spec.TaskDefinitions {
		files[aws.ToString(in.Family)] = in
	}
	described := map[string]*ecs.DescribeTaskDefinitionOutput{}
	describe := func(service, arn string) (*ecs.DescribeTaskDefinitionOutput, error) {
		if out, ok := described[arn]; ok {
			return out, nil
		}
		var out *ecs.DescribeTaskDefinitionOutput
		err := d.retryCall(ctx, spec.Timeout, service, "DescribeTaskDefinition", func(ctx context.Context, _ int) (err error) {
			out, err = d.Client.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{
				TaskDefinition: aws.String(arn), Include: []types.TaskDefinitionField{types.TaskDefinitionFieldTags},
			})
			return err
		})
		if err != nil {
			return nil, err
		}
		described[arn] = out
		return out, nil
	}
	var units []*unit
	byFamily := map[string]*family{}
	var fams []*family
	for _, name := range spec.Services {
		s := svcs[name]
		cur := aws.ToString(s.TaskDefinition)
		out, err := describe(name, cur)
		if err != nil {
			return nil, nil, err
		}
		fname := aws.ToString(out.TaskDefinition.Family)
		f := byFamily[fname]
		if f == nil {
			f = &family{name: fname}
			byFamily[fname] = f
			fams = append(fams, f)
		}
		// Services that share a family share one new revision, built
		// from the newest revision any of them runs.
		if f.base == nil || out.TaskDefinition.Revision > f.base.Revision {
			if f.base != nil {
				d.out("warning: services of family %s run different revisions; building on the newest, %s", fname, shortARN(cur))
			}
			f.base = out.TaskDefinition
			f.baseIn = registerInput(out.TaskDefinition, out.Tags)
		}
		units = append(units, &unit{name: name, svc: s, fam: f, current: cur})
	}
	used := map[string]bool{}
	for _, f := range fams {
		if err := d.buildFamily(spec, f, files, used); err != nil {
			return nil, nil, err
		}
	}
	for _, def := range spec.ImageDefinitions {
		if !used[def.Name] {
			return nil, nil, fmt.Errorf("image definitions: no container named %q in the task definitions of %s", def.Name, strings.Join(spec.Services, ", "))
		}
	}
	for fam := range files {
		if byFamily[fam] == nil {
			return nil, nil, fmt.Errorf("task definition file for family %s: none of the services (%s) runs that family", fam, strings.Join(spec.Services, ", "))
		}
	}
	for _, u := range units {
		u.serving = servingRevision(u.svc)
		// Up to date: the service is settled on the target. A rollout of
		// the target still in flight is adopted: it may yet fail.
		if u.current == u.fam.target && !rolloutFailed(u.svc) {
			if settled(u.svc) {
				u.noop = true
			} else {
				u.adopt = true
			}
		}
	}
	return units, fams, nil
}

// preflight checks, before anything changes, what would otherwise fail
// half way: entry drives ECS rolling updates only.
func preflight(spec Spec, svcs map[string]types.Service) error {
	for _, name := range spec.Services {
		s := svcs[name]
		if dc := s.DeploymentController; dc != nil && dc.Type != "" && dc.Type != types.DeploymentControllerTypeEcs {
			return fmt.Errorf("%s: its deployment controller is %s; entry deploys services whose controller is ECS (rolling update) only; nothing was changed", name, dc.Type)
		}
	}
	return nil
}

// settled: one deployment, COMPLETED (where ECS reports a rollout state),
// running == desired.
func settled(s types.Service) bool {
	if len(s.Deployments) != 1 {
		return false
	}
	dep := s.Deployments[0]
	return (dep.RolloutState == "" || dep.RolloutState == types.DeploymentRolloutStateCompleted) &&
		dep.RunningCount == dep.DesiredCount && s.RunningCount == s.DesiredCount
}

// servingRevision is the revision to roll back to: the one that last
// served settled, before this run. That is the PRIMARY's when the service
// is settled, else that of the newest deployment whose rollout COMPLETED
// (ECS keeps the state on the ACTIVE deployment a rollout replaces) —
// never another deploy's revision still in flight. "" when no deployment
// completed (nothing settled to go back to). Where ECS reports no rollout
// states at all, the ACTIVE deployment running the most tasks.
func servingRevision(s types.Service) string {
	cur := aws.ToString(s.TaskDefinition)
	if settled(s) {
		return cur
	}
	var best *types.Deployment
	states := false
	for i := range s.Deployments {
		dep := &s.Deployments[i]
		states = states || dep.RolloutState != ""
		if dep.RolloutState == types.DeploymentRolloutStateCompleted && (best == nil || newer(dep, best)) {
			best = dep
		}
	}
	if best != nil {
		return aws.ToString(best.TaskDefinition)
	}
	if states {
		return ""
	}
	most := int32(-1)
	for i := range s.Deployments {
		dep := &s.Deployments[i]
		if aws.ToString(dep.Status) == "ACTIVE" && dep.RunningCount > most {
			best, most = dep, dep.RunningCount
		}
	}
	if best == nil {
		return cur
	}
	return aws.ToString(best.TaskDefinition)
}

func newer(a, b *types.Deployment) bool {
	return a.CreatedAt != nil && (b.CreatedAt == nil || a.CreatedAt.After(*b.CreatedAt))
}

func rolloutFailed(s types.Service) bool {
	for _, dep := range s.Deployments {
		if aws.ToString(dep.Status) == "PRIMARY" && dep.RolloutState == types.DeploymentRolloutStateFailed {
			return true
		}
	}
	return false
}

// buildFamily computes f.newIn and f.target.
func (d *Deployer) buildFamily(spec Spec, f *family, files map[string]*ecs.RegisterTaskDefinitionInput, used map[string]bool) error {
	baseARN := aws.ToString(f.base.TaskDefinitionArn)
	if len(spec.TaskDefinitions) > 0 {
		in, ok := files[f.name]
		if !ok {
			return fmt.Errorf("%s: no --task-definition file for family %s", shortARN(baseARN), f.name)
		}
		sum := digest(in)
		n := *in
		n.Tags = append(withoutTag(in.Tags, DigestTag), types.Tag{Key: aws.String(DigestTag), Value: aws.String(sum)})
		f.newIn = &n
		f.changed = []string{"from file"}
		if tagValue(f.baseIn.Tags, DigestTag) == sum || canonical(f.baseIn) == canonical(in) {
			f.target = baseARN
		} else {
			f.register = true
		}
		return nil
	}
	n := *f.baseIn
	n.ContainerDefinitions = append([]types.ContainerDefinition(nil), f.baseIn.ContainerDefinitions...)
	n.Tags = withoutTag(f.baseIn.Tags, DigestTag) // the definition no longer matches a file
	matched := 0
	for i := range n.ContainerDefinitions {
		c := &n.ContainerDefinitions[i]
		name, image := aws.ToString(c.Name), aws.ToString(c.Image)
		want := ""
		switch {
		case spec.Image != "" && len(spec.Containers) > 0:
			for _, cn := range spec.Containers {
				if cn == name {
					want = spec.Image
					used[cn] = true
				}
			}
		case spec.Image != "":
			if repository(image) == repository(spec.Image) {
				want = spec.Image
			}
		default:
			for _, def := range spec.ImageDefinitions {
				if def.Name == name {
					want = def.ImageURI
					used[name] = true
				}
			}
		}
		if want == "" {
			continue
		}
		matched++
		if want != image {
			c.Image = aws.String(want)
			f.changed = append(f.changed, fmt.Sprintf("%s: %s", name, want))
		}
	}
	if matched == 0 {
		switch {
		case len(spec.Containers) > 0:
			return fmt.Errorf("%s: no container named %s", shortARN(baseARN), strings.Join(spec.Containers, " or "))
		case spec.Image != "":
			return fmt.Errorf("%s: no container runs an image of repository %s (name the containers with --container)", shortARN(baseARN), repository(spec.Image))
		default:
			return fmt.Errorf("%s: none of its containers is named in the image definitions", shortARN(baseARN))
		}
	}
	f.newIn = &n
	if canonical(&n) == canonical(f.baseIn) {
		f.target = baseARN
	} else {
		f.register = true
	}
	return nil
}

// update calls UpdateService for each unit and returns what to watch.
func (d *Deployer) update(ctx context.Context, spec Spec, units []*unit) ([]*watch, error) {
	var watches []*watch
	for _, u := range units {
		if u.adopt {
			u.updated = true
			if u.serving == "" {
				d.out("%s: a rollout of %s is already in progress; adopting it: waiting for it (no deployment of the service completed before it, so there is nothing settled to roll back to)",
					u.name, shortARN(u.fam.target))
			} else {
				d.out("%s: a rollout of %s is already in progress (replacing %s); adopting it: waiting for it, rolling back to %s if it fails",
					u.name, shortARN(u.fam.target), shortARN(u.serving), shortARN(u.serving))
			}
			watches = append(watches, d.newWatch(u.name, u.fam.target, u.serving, u.svc, false))
			continue
		}
		in := &ecs.UpdateServiceInput{
			Cluster:        aws.String(spec.Cluster),
			Service:        aws.String(u.name),
			TaskDefinition: aws.String(u.fam.target),
		}
		if u.current == u.fam.target {
			in.ForceNewDeployment = true // redeploying after a failed rollout
		}
		switch {
		case u.svc.DesiredCount == 0 && spec.KeepZero:
			d.out("%s: desired count 0 kept (--keep-scaled-to-zero): the service moves to the new revision, no task of it runs", u.name)
		case u.svc.DesiredCount == 0:
			d.out("warning: %s: desired count is 0; setting it to 1 so that the new revision runs (--keep-scaled-to-zero keeps 0)", u.name)
			in.DesiredCount = aws.Int32(1)
		}
		// UpdateService to a given revision is idempotent: repeating one
		// whose answer was lost starts no second deployment.
		var out *ecs.UpdateServiceOutput
		err := d.retryCall(ctx, spec.Timeout, u.name, "UpdateService", func(ctx context.Context, _ int) (err error) {
			out, err = d.Client.UpdateService(ctx, in)
			return err
		})
		if err != nil {
			return watches, err
		}
		u.updated = true
		d.out("%s: updating %s -> %s", u.name, shortARN(u.current), shortARN(u.fam.target))
		watches = append(watches, d.newWatch(u.name, u.fam.target, u.serving, *out.Service, true))
	}
	return watches, nil
}

// fail rolls the updated services back (unless told not to) and returns
// the summary.
func (d *Deployer) fail(ctx context.Context, spec Spec, units []*unit, watches []*watch, registered []string, cause error) error {
	if interference(cause) {
		return interferenceSummary(cause, units, registered)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "deploy failed: %v", cause)
	var updated []*unit
	for _, u := range units {
		if u.updated {
			updated = append(updated, u)
		}
	}
	served := map[string]bool{}
	for _, w := range watches {
		if w.served {
			served[w.target] = true
		}
	}
	if len(updated) == 0 {
		d.dropRevisions(ctx, registered, nil, served)
		b.WriteString("; no service was changed")
		return &Failure{Summary: b.String()}
	}
	if spec.NoRollback || errors.Is(cause, errInterrupted) {
		why := "--no-rollback"
		if !spec.NoRollback {
			why = "interrupted"
		}
		var names []string
		for _, u := range updated {
			names = append(names, u.name)
		}
		if !errors.Is(cause, errInterrupted) {
			b.WriteString(d.stoppedTasks(ctx, spec.Cluster, watches))
		}
		fmt.Fprintf(&b, "; not rolled back (%s): %s left on the new revision", why, strings.Join(names, ", "))
		return &Failure{Summary: b.String()}
	}
	var back []*watch
	var restored []string
	live := map[string]bool{} // revisions left running: never deregistered
	for _, u := range updated {
		w := findWatch(watches, u.name)
		switch {
		case u.serving == u.fam.target:
			// A redeploy of the revision it ran (after a failed rollout):
			// nothing older to go back to.
			live[u.fam.target] = true
			fmt.Fprintf(&b, "; %s: nothing to roll back to (it ran %s before)", u.name, shortARN(u.serving))
			continue
		case u.serving == "":
			live[u.fam.target] = true
			fmt.Fprintf(&b, "; %s: not rolled back: no deployment of it had completed before this run, so there is no settled revision to go back to; it is left on %s", u.name, shortARN(u.fam.target))
			continue
		case w != nil && w.ecsRolledBack:
			d.out("%s: ECS is already rolling back to %s", u.name, shortARN(u.serving))
			nw := d.newWatch(u.name, u.serving, u.fam.target, types.Service{}, false)
			nw.seen, nw.last = w.seen, w.last
			back = append(back, nw)
		default:
			cctx, cancel := d.cleanup(ctx)
			out, err := d.Client.UpdateService(cctx, &ecs.UpdateServiceInput{
				Cluster: aws.String(spec.Cluster), Service: aws.String(u.name), TaskDefinition: aws.String(u.serving),
			})
			cancel()
			if err != nil {
				live[u.fam.target] = true
				fmt.Fprintf(&b, "; ROLLBACK FAILED: %v; %s is left on %s: roll it back with `aws ecs update-service --cluster %s --service %s --task-definition %s`",
					callError(u.name, "UpdateService", err), u.name, shortARN(u.fam.target), spec.Cluster, u.name, shortARN(u.serving))
				continue
			}
			d.out("%s: rolling back to %s", u.name, shortARN(u.serving))
			nw := d.newWatch(u.name, u.serving, u.fam.target, *out.Service, true)
			if w != nil {
				nw.seen = w.seen
			}
			back = append(back, nw)
		}
		restored = append(restored, u.name+" "+shortARN(u.serving))
	}
	// Why the tasks failed, read once the rollbacks are under way.
	if why := d.stoppedTasks(ctx, spec.Cluster, watches); why != "" {
		rest := b.String()
		head := fmt.Sprintf("deploy failed: %v", cause)
		b.Reset()
		b.WriteString(head + why + strings.TrimPrefix(rest, head))
	}
	// The rollback's own wait: the deploy's context may have expired.
	if err := d.wait(context.WithoutCancel(ctx), spec.Cluster, back, spec.Timeout); err != nil {
		fmt.Fprintf(&b, "; rollback did not finish: %v", err)
		return &Failure{Summary: b.String()}
	}
	if len(restored) > 0 {
		fmt.Fprintf(&b, "; restored %s", strings.Join(restored, ", "))
	}
	// The failed revision must never be a rollback target later.
	var drop []string
	for _, arn := range registered {
		if !live[arn] {
			drop = append(drop, arn)
		}
	}
	d.dropRevisions(ctx, drop, units, served)
	return &Failure{Summary: b.String()}
}

// dropRevisions deregisters revisions this run registered that no service
// runs, so that a later `entry deploy rollback` cannot pick a revision that
// failed. served holds those that were seen running tasks. Each call runs
// on its own bounded context.
func (d *Deployer) dropRevisions(ctx context.Context, arns []string, units []*unit, served map[string]bool) {
	for _, arn := range arns {
		live := false
		for _, u := range units {
			if u.updated && u.serving == arn {
				live = true
			}
		}
		if live {
			continue
		}
		cctx, cancel := d.cleanup(ctx)
		_, err := d.Client.DeregisterTaskDefinition(cctx, &ecs.DeregisterTaskDefinitionInput{TaskDefinition: aws.String(arn)})
		cancel()
		if err != nil {
			d.out("warning: could not deregister %s, which failed: %v; deregister it with `aws ecs deregister-task-definition --task-definition %s` so that a rollback cannot pick it",
				shortARN(arn), callError(shortARN(arn), "DeregisterTaskDefinition", err), shortARN(arn))
			continue
		}
		if served[arn] {
			d.out("%s: deregistered (it ran tasks, but its rollout failed)", shortARN(arn))
		} else {
			d.out("%s: deregistered (it never served)", shortARN(arn))
		}
	}
}

// shortARN turns a task definition ARN into family:revision.
func shortARN(arn string) string {
	if i := strings.LastIndex(arn, "task-definition/"); i >= 0 {
		return arn[i+len("task-definition/"):]
	}
	return arn
}

func lastPart(arn string) string {
	if i := strings.LastIndex(arn, "/"); i >= 0 {
		return arn[i+1:]
	}
	return arn
}

// revisionOf is the revision number in a task definition ARN.
func revisionOf(arn string) int {
	_, rev, _ := strings.Cut(shortARN(arn), ":")
	n := 0
	fmt.Sscanf(rev, "%d", &n)
	return n
}

func familyOf(arn string) string {
	fam, _, _ := strings.Cut(shortARN(arn), ":")
	return fam
}

func newToken() string {
	b := make([]byte, 16)
	rand.Read(b)
	return "entry-" + hex.EncodeToString(b)
}

func sortedKeys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
