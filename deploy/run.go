package deploy

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
)

// A RunSpec says what one-off task `entry deploy run` runs.
type RunSpec struct {
	Cluster, Service string
	Command          []string
	// Container runs Command (default: the first essential one).
	Container string
	// Revision: "" or "live" for the revision the service runs, "new" for
	// the newest ACTIVE revision of its family (after a register), or a
	// family:revision or ARN.
	Revision string
	Timeout  time.Duration
}

// Run runs a one-off task of a service's revision with the service's
// network configuration and launch type, streams its log, waits until it
// stops and returns the exit code of its container. err is nil when the
// container ran and exited, whatever its code.
func (d *Deployer) Run(ctx context.Context, rs RunSpec) (int, error) {
	if rs.Cluster == "" || rs.Service == "" {
		return 0, errors.New("name the --cluster and the --service whose revision and network the task uses")
	}
	if len(rs.Command) == 0 {
		return 0, errors.New("no command: give it after --, e.g. entry deploy run --service web -- bin/rails runner 'Foo.bar'")
	}
	if err := CheckCommand(rs.Command); err != nil {
		return 0, err
	}
	if err := CheckRevision(rs.Revision); err != nil {
		return 0, err
	}
	if rs.Timeout <= 0 {
		rs.Timeout = DefaultTimeout
	}
	svcs, err := d.describeServices(ctx, rs.Cluster, []string{rs.Service})
	if err != nil {
		return 0, err
	}
	svc := svcs[rs.Service]
	ref := aws.ToString(svc.TaskDefinition)
	switch rs.Revision {
	case "", "live":
	case "new", "latest":
		ref = familyOf(ref) // the newest ACTIVE revision
	default:
		ref = rs.Revision
	}
	out, err := d.Client.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(ref)})
	if err != nil {
		return 0, callError(rs.Service, "DescribeTaskDefinition", err)
	}
	td := out.TaskDefinition
	if familyOf(aws.ToString(td.TaskDefinitionArn)) != familyOf(aws.ToString(svc.TaskDefinition)) {
		d.out("run: warning: %s is not of family %s, which service %s runs", shortARN(aws.ToString(td.TaskDefinitionArn)), familyOf(aws.ToString(svc.TaskDefinition)), rs.Service)
	}
	in := registerInput(td, nil)
	u := &unit{name: rs.Service, svc: svc, fam: &family{name: aws.ToString(td.Family), base: td, baseIn: in, newIn: in}}
	spec := Spec{Cluster: rs.Cluster, Migrate: rs.Command, MigrateContainer: rs.Container, Timeout: rs.Timeout}
	runIn, container, err := d.migrationInput(spec, u, svc)
	if err != nil {
		// entry's own words and an ECS container name ([A-Za-z0-9_-]):
		// nothing of the app's to rewrite by mistake.
		err := strings.Replace(err.Error(), "migrate: ", "run: ", 1)
		return 0, errors.New(strings.ReplaceAll(err, "(--migrate-container)", "(--container)"))
	}
	runIn.TaskDefinition = td.TaskDefinitionArn
	runIn.StartedBy = aws.String("entry-deploy-run")
	// The one-off task is the migration's machinery under another label.
	err = d.migrate(ctx, "run", spec, runIn, container)
	var ee *ExitError
	switch {
	case err == nil:
		return 0, nil
	case errors.As(err, &ee):
		d.out("run: container %s of task %s exited %d (%s)", ee.Container, ee.Task, ee.Code, ee.Reason)
		return ee.Code, nil
	}
	return 0, err
}
