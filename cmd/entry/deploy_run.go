package main

import (
	"context"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/entryhq/entry/config"
	"github.com/entryhq/entry/deploy"
)

const deployRunUsage = `Usage: entry deploy run --cluster NAME --service NAME [--revision live|new|FAMILY:REV] [--container NAME] -- COMMAND [ARG...]

Run COMMAND once as an ECS task of the service's task definition, with the
service's network configuration and launch type or capacity providers,
wait until it stops and exit with the exit code of the container that ran
it (not a sidecar's). When the container logs with awslogs, its log is
streamed to stdout while the task runs, and the last lines are repeated
when it fails; with another log driver entry says where the logs are.

--revision live (the default) uses the revision the service runs; new
uses the newest ACTIVE revision of its family (after a deploy registered
one); or name one.

Example:
  entry deploy run --cluster prod --service web -- bin/rails runner 'Foo.bar'
`

// addLogGraceFlag adds --log-grace, how long a stopped one-off task's log
// must stay quiet before entry stops reading it.
func addLogGraceFlag(fs *flagSet) *time.Duration {
	var d time.Duration
	fs.DurationVar(&d, "log-grace", deploy.DefaultLogGrace, "after a one-off task stopped, read its CloudWatch log until it has been quiet this long (late lines)")
	return &d
}

// scheduleFlags are the flags that make scheduled tasks follow a deploy.
type scheduleFlags struct {
	all                     bool
	rules, schedules        []string
	eventBuses, schedGroups []string
}

// revision names the revision they move to, in the help: "its new
// revision" for deploy, "the revision it went back to" for rollback.
func addScheduleFlags(fs *flagSet, revision string) *scheduleFlags {
	s := &scheduleFlags{}
	fs.BoolVar(&s.all, "schedules", false, "after the services are stable, point the cluster's EventBridge rules and Scheduler schedules that run a service's family at "+revision)
	fs.StringSliceVar(&s.rules, "rule", nil, "EventBridge rule [BUS/]NAME whose ECS targets follow the deploy; repeatable")
	fs.StringSliceVar(&s.schedules, "schedule", nil, "EventBridge Scheduler schedule [GROUP/]NAME that follows the deploy; repeatable")
	fs.StringSliceVar(&s.eventBuses, "event-bus", nil, "event buses --schedules searches (default: every bus); repeatable")
	fs.StringSliceVar(&s.schedGroups, "schedule-group", nil, "schedule groups --schedules searches (default: all); repeatable")
	return s
}

// spec merges the flags with entry.yml's deploy: section.
func (s *scheduleFlags) spec(fs *flagSet, cfg *config.Deploy) deploy.ScheduleSpec {
	if !fs.isSet("schedules") && cfg.Schedules {
		s.all = true
	}
	pick := func(name string, flag, conf []string) []string {
		if fs.isSet(name) {
			return flag
		}
		return conf
	}
	return deploy.ScheduleSpec{
		All:            s.all,
		Rules:          pick("rule", s.rules, cfg.Rules),
		Schedules:      pick("schedule", s.schedules, cfg.NamedSchedules),
		EventBuses:     pick("event-bus", s.eventBuses, cfg.EventBuses),
		ScheduleGroups: pick("schedule-group", s.schedGroups, cfg.ScheduleGroups),
	}
}

// runDeployRun is `entry deploy run`.
func runDeployRun(args []string) int {
	f := newDeployFlags("deploy run", deployRunUsage)
	var revision, container string
	f.fs.StringVar(&revision, "revision", "live", "task definition: live (the service's), new (its family's newest ACTIVE revision) or FAMILY:REV")
	f.fs.StringVar(&container, "container", "", "container that runs the command (default: the first essential one)")
	logGrace := addLogGraceFlag(f.fs)
	if code := f.fs.parseOrExit(args); code >= 0 {
		return code
	}
	if _, err := f.load(); err != nil {
		return fail(exitUsage, "deploy run: %v", err)
	}
	if f.cluster == "" || len(f.services) != 1 {
		return fail(exitUsage, "deploy run: name the --cluster and exactly one --service (see 'entry deploy run --help')")
	}
	if f.fs.NArg() == 0 {
		return fail(exitUsage, "deploy run: no command; give it after --, e.g. entry deploy run --service web -- bin/rails runner 'Foo.bar'")
	}
	if err := deploy.CheckCommand(f.fs.Args()); err != nil {
		return fail(exitUsage, "deploy run: %v", err)
	}
	if err := deploy.CheckRevision(revision); err != nil {
		return fail(exitUsage, "deploy run: %v", err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	d, err := f.deployer(ctx)
	if err != nil {
		return fail(exitFailure, "deploy run: %v", err)
	}
	d.LogGrace = *logGrace
	code, err := d.Run(ctx, deploy.RunSpec{Cluster: f.cluster, Service: f.services[0], Command: f.fs.Args(),
		Container: container, Revision: revision, Timeout: f.timeout})
	if err != nil {
		// The task's own errors already say "run:".
		return fail(exitFailure, "deploy run: %s", strings.TrimPrefix(err.Error(), "run: "))
	}
	return code
}
