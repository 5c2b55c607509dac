package deploy

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// activeRevisions lists a family's ACTIVE revision ARNs, newest first.
// ListTaskDefinitions matches a prefix, so "web" also returns
// "web-worker"; those are filtered out.
func (d *Deployer) activeRevisions(ctx context.Context, family string) ([]string, error) {
	var arns []string
	p := ecs.NewListTaskDefinitionsPaginator(d.Client, &ecs.ListTaskDefinitionsInput{
		FamilyPrefix: aws.String(family), Status: types.TaskDefinitionStatusActive, Sort: types.SortOrderDesc,
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, callError(family, "ListTaskDefinitions", err)
		}
		for _, arn := range page.TaskDefinitionArns {
			if familyOf(arn) == family {
				arns = append(arns, arn)
			}
		}
	}
	sort.SliceStable(arns, func(i, j int) bool { return revisionOf(arns[i]) > revisionOf(arns[j]) })
	return arns, nil
}

// rollbackTarget is the revision `entry deploy rollback` would pick for a
// service running live: the newest ACTIVE revision of its family older
// than live.
func rollbackTarget(active []string, live string) string {
	for _, arn := range active {
		if revisionOf(arn) < revisionOf(live) {
			return arn
		}
	}
	return ""
}

// housekeep deregisters the revisions of the deployed families older than
// the spec.Keep newest, never one that a service of the cluster runs (in
// any deployment) nor one a rollback would use.
func (d *Deployer) housekeep(ctx context.Context, spec Spec, units []*unit) error {
	fams := map[string]bool{}
	protected := map[string]string{} // ARN -> why
	for _, u := range units {
		fams[u.fam.name] = true
		protected[u.current] = "rollback target of " + u.name
	}
	candidates := map[string][]string{}
	for _, fam := range sortedKeys(fams) {
		active, err := d.activeRevisions(ctx, fam)
		if err != nil {
			return err
		}
		if len(active) > spec.Keep {
			candidates[fam] = active
		}
	}
	if len(candidates) == 0 {
		return nil
	}
	// Only now, with something to delete, look at every service of the
	// cluster: one not named in --service may run an old revision.
	live, err := d.liveRevisions(ctx, spec.Cluster)
	if err != nil {
		return err
	}
	for _, arn := range live {
		protected[arn] = "live"
	}
	for _, fam := range sortedKeys(candidates) {
		active := candidates[fam]
		for _, arn := range live {
			if familyOf(arn) == fam {
				if rb := rollbackTarget(active, arn); rb != "" && protected[rb] == "" {
					protected[rb] = "rollback target"
				}
			}
		}
		var dropped []string
		for _, arn := range active[spec.Keep:] {
			if protected[arn] != "" {
				continue
			}
			if _, err := d.Client.DeregisterTaskDefinition(ctx, &ecs.DeregisterTaskDefinitionInput{TaskDefinition: aws.String(arn)}); err != nil {
				return callError(shortARN(arn), "DeregisterTaskDefinition", err)
			}
			dropped = append(dropped, fmt.Sprint(revisionOf(arn)))
		}
		if len(dropped) > 0 {
			d.out("%s: deregistered revisions %s (--keep %d)", fam, strings.Join(dropped, ", "), spec.Keep)
		}
	}
	return nil
}

// liveRevisions returns the task definitions every service of cluster
// runs, in any of its deployments.
func (d *Deployer) liveRevisions(ctx context.Context, cluster string) ([]string, error) {
	var names []string
	p := ecs.NewListServicesPaginator(d.Client, &ecs.ListServicesInput{Cluster: aws.String(cluster)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, callError(cluster, "ListServices", err)
		}
		for _, arn := range page.ServiceArns {
			names = append(names, lastPart(arn))
		}
	}
	var live []string
	for start := 0; start < len(names); start += 10 {
		batch := names[start:min(start+10, len(names))]
		out, err := d.Client.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(cluster), Services: batch})
		if err != nil {
			return nil, callError(strings.Join(batch, ","), "DescribeServices", err)
		}
		for _, s := range out.Services {
			live = append(live, aws.ToString(s.TaskDefinition))
			for _, dep := range s.Deployments {
				live = append(live, aws.ToString(dep.TaskDefinition))
			}
		}
	}
	return live, nil
}

// Rollback moves each service back to the newest ACTIVE revision of its
// family older than the one it runs, and waits until that serves.
func (d *Deployer) Rollback(ctx context.Context, cluster string, services []string, timeout time.Duration) error {
	if cluster == "" || len(services) == 0 {
		return errors.New("name the --cluster and at least one --service")
	}
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	svcs, err := d.describeServices(ctx, cluster, services)
	if err != nil {
		return err
	}
	targets := map[string]string{}
	for _, name := range services {
		cur := aws.ToString(svcs[name].TaskDefinition)
		active, err := d.activeRevisions(ctx, familyOf(cur))
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		prev := rollbackTarget(active, cur)
		if prev == "" {
			return fmt.Errorf("%s: no ACTIVE revision of family %s older than %s to roll back to", name, familyOf(cur), shortARN(cur))
		}
		targets[name] = prev
	}
	var watches []*watch
	for _, name := range services {
		cur := aws.ToString(svcs[name].TaskDefinition)
		out, err := d.Client.UpdateService(ctx, &ecs.UpdateServiceInput{
			Cluster: aws.String(cluster), Service: aws.String(name), TaskDefinition: aws.String(targets[name]),
		})
		if err != nil {
			return callError(name, "UpdateService", err)
		}
		d.out("%s: rolling back %s -> %s", name, shortARN(cur), shortARN(targets[name]))
		watches = append(watches, d.newWatch(name, targets[name], cur, *out.Service, true))
	}
	if err := d.wait(ctx, cluster, watches, timeout); err != nil {
		return &Failure{Summary: "rollback failed: " + err.Error()}
	}
	var done []string
	for _, name := range services {
		done = append(done, name+" "+shortARN(targets[name]))
	}
	d.out("rolled back: %s", strings.Join(done, ", "))
	return nil
}

// Status prints each service's revision, deployments, images and latest
// events.
func (d *Deployer) Status(ctx context.Context, cluster string, services []string) error {
	if cluster == "" || len(services) == 0 {
		return errors.New("name the --cluster and at least one --service")
	}
	svcs, err := d.describeServices(ctx, cluster, services)
	if err != nil {
		return err
	}
	described := map[string]*types.TaskDefinition{}
	for _, name := range services {
		s := svcs[name]
		cur := aws.ToString(s.TaskDefinition)
		d.out("%s: %s desired %d running %d pending %d", name, shortARN(cur), s.DesiredCount, s.RunningCount, s.PendingCount)
		td, ok := described[cur]
		if !ok {
			out, err := d.Client.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(cur)})
			if err != nil {
				return callError(name, "DescribeTaskDefinition", err)
			}
			td = out.TaskDefinition
			described[cur] = td
		}
		d.out("  %s", settlement(s))
		for _, c := range td.ContainerDefinitions {
			d.out("  container %s: %s", aws.ToString(c.Name), aws.ToString(c.Image))
		}
		for _, line := range strings.Split(deploymentLines(name, s), "\n") {
			d.out("  %s", strings.TrimPrefix(line, name+": "))
		}
		if cb := circuitBreaker(s); cb != nil && cb.Enable {
			d.out("  circuit breaker on, rollback %v", cb.Rollback)
		}
		for i, e := range s.Events {
			if i == 5 {
				break
			}
			at := ""
			if e.CreatedAt != nil {
				at = e.CreatedAt.UTC().Format(time.RFC3339) + " "
			}
			d.out("  event %s%s", at, strings.TrimPrefix(aws.ToString(e.Message), "(service "+name+") "))
		}
	}
	return nil
}

// settlement says whether a service is settled on its revision, as entry
// deploy judges a no-op (one deployment, COMPLETED, running == desired),
// or in the middle of a rollout, which a deploy of the same images adopts.
func settlement(s types.Service) string {
	cur := shortARN(aws.ToString(s.TaskDefinition))
	var primary *types.Deployment
	var others []string
	for i, dep := range s.Deployments {
		if aws.ToString(dep.Status) == "PRIMARY" {
			primary = &s.Deployments[i]
		} else {
			others = append(others, fmt.Sprintf("%s (%s)", shortARN(aws.ToString(dep.TaskDefinition)), aws.ToString(dep.Status)))
		}
	}
	state := "no rollout state"
	if primary != nil && primary.RolloutState != "" {
		state = string(primary.RolloutState)
	}
	switch {
	case settled(s):
		return "settled on " + cur
	case primary != nil && primary.RolloutState == types.DeploymentRolloutStateFailed:
		return fmt.Sprintf("rollout of %s FAILED: %s", cur, aws.ToString(primary.RolloutStateReason))
	case len(others) > 0:
		return fmt.Sprintf("mid-rollout: %s (PRIMARY %s) replacing %s", cur, state, strings.Join(others, ", "))
	default:
		return fmt.Sprintf("not settled on %s (PRIMARY %s): running %d of %d", cur, state, s.RunningCount, s.DesiredCount)
	}
}
