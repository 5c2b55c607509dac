package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"github.com/entryhq/entry/internal/readcap"
	"os"
	"os/signal"
	"regexp"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/entryhq/entry/config"
	"github.com/entryhq/entry/deploy"
	"github.com/entryhq/entry/render"
)

const deployUsage = `Usage: entry deploy --cluster NAME --service NAME... (--image REPO:TAG | --image-definitions FILE | --task-definition FILE...) [flags]
       entry deploy rollback --cluster NAME --service NAME...
       entry deploy status --cluster NAME --service NAME...
       entry deploy run --cluster NAME --service NAME -- COMMAND...

Deploy an image to Amazon ECS with zero downtime: build a task definition
revision from each service's live one (every field kept, only the images
changed), check that its images in Amazon ECR exist, run the migration as a one-off task and check its exit code,
update the services, wait until the new deployment really serves, and roll
back to the previous revisions if anything fails. A re-run with the same
images is a no-op once the services have settled on them; a rollout of
them still in progress (a cancelled CI job) is adopted and waited for.

--task-definition takes the whole definition instead: a JSON file, or a
.json.erb template rendered with the environment (strict: an unset
ENV['X'] is an error).

AWS credentials, region and endpoint come from the standard settings
(AWS_PROFILE, AWS_REGION, AWS_ENDPOINT_URL_ECS, ...). Defaults for every
flag can be set in the deploy: section of entry.yml. See docs/deploy.md.

Example:
  entry deploy --cluster prod --service web --service job \
    --image 123456789012.dkr.ecr.us-east-1.amazonaws.com/app:$GIT_SHA \
    --migrate "bin/rails db:migrate" --keep 10
`

const deployRollbackUsage = `Usage: entry deploy rollback --cluster NAME --service NAME... [flags]

Move each service back to the newest ACTIVE revision of its family older
than the one it runs, and wait until that serves. With --schedules (or
--rule, --schedule) the scheduled tasks of those families go back too.

Example:
  entry deploy rollback --cluster prod --service web --service job
`

const deployStatusUsage = `Usage: entry deploy status --cluster NAME --service NAME... [flags]

Print each service's task definition revision; whether it is settled on
it (one deployment, COMPLETED, running == desired) or mid-rollout (a
PRIMARY IN_PROGRESS beside an ACTIVE one), or its rollout FAILED; its
images, deployments and latest events.

Example:
  entry deploy status --cluster prod --service web
`

// deployFlags are the flags every deploy verb shares.
type deployFlags struct {
	fs                    *flagSet
	configPath, region    string
	cluster               string
	services              []string
	timeout, pollInterval time.Duration
}

func newDeployFlags(cmd, usage string) *deployFlags {
	f := &deployFlags{fs: newFlagSet(cmd, usage)}
	f.fs.addConfigFlag(&f.configPath)
	f.fs.StringVar(&f.region, "region", "", "AWS region (default: the SDK's: AWS_REGION, the profile)")
	f.fs.StringVar(&f.cluster, "cluster", "", "ECS cluster name or ARN")
	// Each verb says what it does with the services and how long it waits;
	// status looks once and waits for nothing.
	service, timeout := "service to deploy; repeat or separate with commas", "longest wait for each of: the migration, the rollout, the rollback"
	switch cmd {
	case "deploy rollback":
		service, timeout = "service to roll back; repeat or separate with commas", "longest wait for the rollback to serve, and for the scheduled tasks to follow it"
	case "deploy status":
		service, timeout = "service to show; repeat or separate with commas", ""
	case "deploy run":
		service, timeout = "`NAME` of the service whose task definition, network configuration and launch type the task uses (one service only)", "longest wait for the task to start and to stop"
	}
	f.fs.StringSliceVar(&f.services, "service", nil, service)
	f.timeout, f.pollInterval = deploy.DefaultTimeout, deploy.DefaultPollInterval
	if timeout != "" {
		f.fs.DurationVar(&f.timeout, "timeout", deploy.DefaultTimeout, timeout)
		f.fs.DurationVar(&f.pollInterval, "poll-interval", deploy.DefaultPollInterval, "first polling interval; it backs off to 3x while nothing changes")
	}
	return f
}

// load reads entry.yml and fills the flags not set on the command line or
// in the environment from its deploy: section.
func (f *deployFlags) load() (*config.Deploy, error) {
	cfg, err := config.Load(f.configPath, !f.fs.isSet("config"))
	if err != nil {
		return nil, err
	}
	d := &cfg.Deploy
	fill := func(name string, set func()) {
		if !f.fs.isSet(name) {
			set()
		}
	}
	fill("region", func() { f.region = deployOr(f.region, d.Region) })
	fill("cluster", func() { f.cluster = deployOr(f.cluster, d.Cluster) })
	fill("service", func() { f.services = deployOrSlice(f.services, d.Services) })
	fill("timeout", func() {
		if d.Timeout > 0 {
			f.timeout = d.Timeout
		}
	})
	if f.pollInterval <= 0 {
		return nil, errors.New("--poll-interval must be positive")
	}
	if f.timeout <= 0 {
		return nil, fmt.Errorf("--timeout %v: give a positive duration such as 10m (it bounds each wait)", f.timeout)
	}
	for _, name := range f.services {
		if strings.TrimSpace(name) == "" {
			return nil, fmt.Errorf("--service: an empty service name in %q (a doubled or trailing comma in --service or ENTRY_DEPLOY_SERVICE?)", strings.Join(f.services, ","))
		}
	}
	if f.region != "" && !awsRegion.MatchString(f.region) {
		return nil, fmt.Errorf("--region %q is not an AWS region name such as us-east-1 or ap-northeast-1", f.region)
	}
	return d, nil
}

// awsRegion is the shape of AWS region names: us-east-1, us-gov-west-1,
// ap-northeast-1, eu-central-2.
var awsRegion = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]+$`)

// deployerFail reports a failure to make the ECS client: a missing region
// is a configuration error (exit 2).
func deployerFail(verb string, err error) int {
	if errors.Is(err, deploy.ErrNoRegion) {
		return fail(exitUsage, "%s: %v", verb, err)
	}
	return fail(exitFailure, "%s: %v", verb, err)
}

func deployOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func deployOrSlice(a, b []string) []string {
	if len(a) > 0 {
		return a
	}
	return b
}

func (f *deployFlags) deployer(ctx context.Context) (*deploy.Deployer, error) {
	client, err := deploy.NewClient(ctx, f.region)
	if err != nil {
		return nil, err
	}
	d := newDeployer(client, f.pollInterval)
	if d.Clients, err = deploy.NewClients(ctx, f.region); err != nil {
		return nil, err
	}
	return d, nil
}

func newDeployer(client *ecs.Client, poll time.Duration) *deploy.Deployer {
	return &deploy.Deployer{Client: client, Out: os.Stdout, PollInterval: poll, PollMax: 3 * poll,
		ProgressEvery: min(poll, deploy.DefaultProgressEvery)}
}

// runDeploy is `entry deploy`.
func runDeploy(args []string) int {
	if len(args) > 0 {
		switch args[0] {
		case "rollback":
			return runDeployRollback(args[1:])
		case "status":
			return runDeployStatus(args[1:])
		case "run":
			return runDeployRun(args[1:])
		}
	}
	f := newDeployFlags("deploy", deployUsage)
	var (
		image, imageDefs, migrate, migrateContainer string
		containers, taskDefs                        []string
		keep                                        int
		noRollback, dryRun                          bool
		otherDeploys                                string
		keepZero, skipImageCheck                    bool
	)
	fs := f.fs
	fs.StringVar(&image, "image", "", "new image REPO:TAG for the containers named by --container, or else for every container of that repository")
	fs.StringSliceVar(&containers, "container", nil, "container to give --image; repeatable")
	fs.StringVar(&imageDefs, "image-definitions", "", "CodePipeline imagedefinitions.json: [{\"name\", \"imageUri\"}]")
	fs.StringSliceVar(&taskDefs, "task-definition", nil, "whole task definition file (.json or .json.erb), one per family; repeatable")
	fs.StringVar(&migrate, "migrate", "", "migration command run as a one-off task of the first service's new revision, e.g. \"bin/rails db:migrate\"")
	fs.StringVar(&migrateContainer, "migrate-container", "", "container the migration runs in (default: the first whose image changes)")
	fs.IntVar(&keep, "keep", 0, "deregister revisions older than the N newest of each family (0: keep all); never a live or rollback one")
	fs.BoolVar(&noRollback, "no-rollback", false, "on failure, leave the services on the new revision")
	fs.BoolVar(&dryRun, "dry-run", false, "print the task definition diff and the plan; change nothing")
	fs.BoolVar(&keepZero, "keep-scaled-to-zero", false, "leave a service whose desired count is 0 at 0 (default: raise it to 1 so that the new revision runs)")
	fs.StringVar(&otherDeploys, "other-deploys", deploy.OthersReplace, "when another deployment is rolling a service out: replace (deploy over it), refuse (exit 3, change nothing) or wait (up to --timeout) for it")
	fs.BoolVar(&skipImageCheck, "skip-image-check", false, "do not check that the new ECR images exist (DescribeImages) before registering anything")
	sched := addScheduleFlags(fs, "its new revision")
	logGrace := addLogGraceFlag(fs)
	if code := fs.parseOrExit(args); code >= 0 {
		return code
	}
	if fs.NArg() > 0 {
		return fail(exitUsage, "deploy: unexpected argument %q (see 'entry deploy --help')", fs.Arg(0))
	}
	cfg, err := f.load()
	if err != nil {
		return fail(exitUsage, "deploy: %v", err)
	}
	if !fs.isSet("image") {
		image = deployOr(image, cfg.Image)
	}
	if !fs.isSet("container") {
		containers = deployOrSlice(containers, cfg.Containers)
	}
	if !fs.isSet("image-definitions") {
		imageDefs = deployOr(imageDefs, cfg.ImageDefinitions)
	}
	if !fs.isSet("task-definition") && cfg.TaskDefinition != "" {
		taskDefs = []string{cfg.TaskDefinition}
	}
	if !fs.isSet("migrate") {
		migrate = deployOr(migrate, cfg.Migrate)
	}
	if !fs.isSet("migrate-container") {
		migrateContainer = deployOr(migrateContainer, cfg.MigrateContainer)
	}
	if !fs.isSet("keep") && cfg.Keep > 0 {
		keep = cfg.Keep
	}
	if !fs.isSet("no-rollback") && cfg.NoRollback {
		noRollback = true
	}

	spec := deploy.Spec{
		Cluster: f.cluster, Services: f.services, Image: image, Containers: containers,
		MigrateContainer: migrateContainer, Timeout: f.timeout, Keep: keep, NoRollback: noRollback, DryRun: dryRun,
		Scheduled: sched.spec(fs, cfg), OtherDeploys: otherDeploys, KeepZero: keepZero,
		SkipImageCheck: skipImageCheck,
	}
	if migrate != "" {
		if spec.Migrate, err = deploy.SplitCommand(migrate); err != nil {
			return fail(exitUsage, "deploy: --migrate: %v", err)
		}
	}
	if imageDefs != "" {
		data, err := readcap.ReadFile(imageDefs, "imagedefinitions file", readcap.TaskDef)
		if err != nil {
			return fail(exitUsage, "deploy: --image-definitions: %v", err)
		}
		if spec.ImageDefinitions, err = deploy.ParseImageDefinitions(imageDefs, data); err != nil {
			return fail(exitUsage, "deploy: %v (fix the file)", err)
		}
	}
	for _, path := range taskDefs {
		in, err := readTaskDefinition(path)
		if err != nil {
			return fail(exitUsage, "deploy: %v", err)
		}
		spec.TaskDefinitions = append(spec.TaskDefinitions, in)
	}
	if err := spec.Validate(); err != nil {
		return fail(exitUsage, "deploy: %v (see 'entry deploy --help')", err)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	d, err := f.deployer(ctx)
	if err != nil {
		return deployerFail("deploy", err)
	}
	d.LogGrace = *logGrace
	if err := d.Deploy(ctx, spec); err != nil {
		return fail(deployExitCode(err), "deploy: %v", err)
	}
	return exitOK
}

// Exit codes of `entry deploy` beyond 0, 1 and 2 (docs/deploy.md): someone
// else acted on a service, and entry changed nothing more.
const (
	exitDeployReplaced = 3 // another deployment replaced entry's, or was in flight (--other-deploys=refuse, wait)
	exitServiceDeleted = 4 // a service was deleted while entry waited
)

// deployExitCode is the exit code of a failed deploy.
func deployExitCode(err error) int {
	var r *deploy.Replaced
	var b *deploy.Busy
	var g *deploy.ServiceGone
	switch {
	case errors.As(err, &r), errors.As(err, &b):
		return exitDeployReplaced
	case errors.As(err, &g):
		return exitServiceDeleted
	}
	return exitFailure
}

// readTaskDefinition reads a task definition file, rendering a .erb one
// with the environment first.
func readTaskDefinition(path string) (*ecs.RegisterTaskDefinitionInput, error) {
	data, err := readcap.ReadFile(path, "task definition", readcap.TaskDef)
	if err != nil {
		return nil, fmt.Errorf("--task-definition: %v", err)
	}
	if strings.HasSuffix(path, ".erb") {
		tmpl, err := render.Parse(path, data)
		if err != nil {
			return nil, fmt.Errorf("render %v", err)
		}
		var buf bytes.Buffer
		if err := tmpl.Execute(&buf, os.LookupEnv, render.Options{Strict: true}); err != nil {
			return nil, fmt.Errorf("render %v", err)
		}
		data = buf.Bytes()
		path = strings.TrimSuffix(path, ".erb") + " (rendered from " + path + ")"
	}
	return deploy.ParseTaskDefinition(path, data)
}

// runDeployRollback is `entry deploy rollback`.
func runDeployRollback(args []string) int {
	f := newDeployFlags("deploy rollback", deployRollbackUsage)
	sched := addScheduleFlags(f.fs, "the revision it went back to")
	if code := f.fs.parseOrExit(args); code >= 0 {
		return code
	}
	cfg, err := f.load()
	if err != nil {
		return fail(exitUsage, "deploy rollback: %v", err)
	}
	if f.cluster == "" || len(f.services) == 0 {
		return fail(exitUsage, "deploy rollback: name the --cluster and at least one --service (see 'entry deploy rollback --help')")
	}
	schedSpec := sched.spec(f.fs, cfg)
	if err := deploy.CheckScheduled(schedSpec); err != nil {
		return fail(exitUsage, "deploy rollback: %v", err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	d, err := f.deployer(ctx)
	if err != nil {
		return deployerFail("deploy rollback", err)
	}
	if err := d.Rollback(ctx, f.cluster, f.services, f.timeout); err != nil {
		return fail(exitFailure, "deploy rollback: %v", err)
	}
	schedSpec.Timeout = f.timeout
	if err := d.FollowServices(ctx, f.cluster, f.services, schedSpec); err != nil {
		return fail(exitFailure, "deploy rollback: the services are rolled back, but %v", err)
	}
	return exitOK
}

// runDeployStatus is `entry deploy status`.
func runDeployStatus(args []string) int {
	f := newDeployFlags("deploy status", deployStatusUsage)
	if code := f.fs.parseOrExit(args); code >= 0 {
		return code
	}
	if _, err := f.load(); err != nil {
		return fail(exitUsage, "deploy status: %v", err)
	}
	if f.cluster == "" || len(f.services) == 0 {
		return fail(exitUsage, "deploy status: name the --cluster and at least one --service (see 'entry deploy status --help')")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	d, err := f.deployer(ctx)
	if err != nil {
		return deployerFail("deploy status", err)
	}
	if err := d.Status(ctx, f.cluster, f.services); err != nil {
		return fail(exitFailure, "deploy status: %v", err)
	}
	return exitOK
}
