package deploy

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// Others acting on the same services: another deploy (a second CI run)
// that replaces entry's deployment, a service deleted while entry waits.
// Neither is a failure of entry's deployment to roll back: rolling back
// would undo the other party's work (see docs/deploy.md, "Two deploys at
// once").

// A Replaced is a deployment entry was waiting for that a deployment it did
// not make replaced.
type Replaced struct {
	Service    string
	Target     string    // ARN entry deployed
	By         string    // ARN the replacing deployment runs
	Images     []string  // "container: image" of By; nil when unknown
	Deployment string    // id of the replacing deployment
	At         time.Time // when it was created; zero when unknown
}

func (r *Replaced) Error() string {
	images := ""
	if len(r.Images) > 0 {
		images = " (" + strings.Join(r.Images, ", ") + ")"
	}
	at := ""
	if !r.At.IsZero() {
		at = " at " + r.At.UTC().Format(time.RFC3339)
	}
	return fmt.Sprintf("%s: the deployment of %s was replaced by one entry did not make: %s%s, deployment %s created%s",
		r.Service, shortARN(r.Target), shortARN(r.By), images, r.Deployment, at)
}

// A ServiceGone is a service deleted (DRAINING or INACTIVE, or no longer
// found) while entry waited for it.
type ServiceGone struct {
	Service, Status string
}

func (g *ServiceGone) Error() string {
	if g.Status == "MISSING" {
		return fmt.Sprintf("%s: the service was deleted while entry waited (DescribeServices no longer finds it)", g.Service)
	}
	return fmt.Sprintf("%s: the service was deleted while entry waited (its status is %s)", g.Service, g.Status)
}

// A Busy is a refusal to deploy while another deployment is in flight
// (Spec.OtherDeploys "refuse"), or the end of the wait for it ("wait").
type Busy struct {
	Services []string // "web: web:43 (PRIMARY IN_PROGRESS, created …)"
	Waited   time.Duration
}

func (b *Busy) Error() string {
	if b.Waited > 0 {
		return fmt.Sprintf("another deployment is still in flight after %v (%s); nothing was changed", b.Waited, strings.Join(b.Services, "; "))
	}
	return fmt.Sprintf("another deployment is in flight (%s); --other-deploys=refuse: nothing was changed", strings.Join(b.Services, "; "))
}

// Values of Spec.OtherDeploys.
const (
	OthersReplace = "replace" // default: deploy over another deployment in flight
	OthersRefuse  = "refuse"
	OthersWait    = "wait"
)

// interference reports whether err says that someone else acted on a
// service: entry then changes nothing more.
func interference(err error) bool {
	var r *Replaced
	var g *ServiceGone
	return errors.As(err, &r) || errors.As(err, &g)
}

// images lists "container: image" of a revision, nil when it cannot be
// described (the report goes on without them).
func (d *Deployer) images(ctx context.Context, arn string) []string {
	cctx, cancel := d.cleanup(ctx)
	defer cancel()
	out, err := d.Client.DescribeTaskDefinition(cctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(arn)})
	if err != nil {
		return nil
	}
	var images []string
	for _, c := range out.TaskDefinition.ContainerDefinitions {
		images = append(images, aws.ToString(c.Name)+": "+aws.ToString(c.Image))
	}
	return images
}

// busyServices lists the services of units that another deployment is rolling
// out now: a PRIMARY deployment IN_PROGRESS of a revision other than the
// one this run deploys (the same revision is adopted instead).
func busyServices(units []*unit) []string {
	var busy []string
	for _, u := range units {
		if u.noop || u.adopt {
			continue
		}
		for _, dep := range u.svc.Deployments {
			if aws.ToString(dep.Status) == "PRIMARY" && dep.RolloutState == types.DeploymentRolloutStateInProgress && !settled(u.svc) {
				at := ""
				if dep.CreatedAt != nil {
					at = ", created " + dep.CreatedAt.UTC().Format(time.RFC3339)
				}
				busy = append(busy, fmt.Sprintf("%s: %s (PRIMARY IN_PROGRESS%s)", u.name, shortARN(aws.ToString(dep.TaskDefinition)), at))
			}
		}
	}
	return busy
}

// interferenceSummary is the failure of a deploy someone else interfered
// with: what happened, and what each service of this run is left on.
func interferenceSummary(cause error, units []*unit, registered []string) error {
	var b strings.Builder
	fmt.Fprintf(&b, "deploy stopped: %v; entry changed nothing more (no rollback", cause)
	if len(registered) > 0 {
		var revs []string
		for _, arn := range registered {
			revs = append(revs, shortARN(arn))
		}
		fmt.Fprintf(&b, "; %s left registered", strings.Join(revs, ", "))
	}
	b.WriteString(")")
	var others []string
	for _, u := range units {
		if u.updated && !strings.HasPrefix(cause.Error(), u.name+": ") {
			others = append(others, u.name+" "+shortARN(u.fam.target))
		}
	}
	if len(others) > 0 {
		fmt.Fprintf(&b, "; left rolling out as they were: %s", strings.Join(others, ", "))
	}
	return &Failure{Summary: b.String(), cause: cause}
}
