package deploy

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/entryhq/entry/deploy/ecsfake"
	"github.com/entryhq/entry/internal/testtool"
)

// Scenarios of issue 20 §6: the logs of one-off tasks.

// registerLogging registers a new web revision whose app container logs
// with options.
func (e *schedEnv) registerLogging(driver types.LogDriver, options map[string]string) {
	def := webDef()
	def.ContainerDefinitions[0].LogConfiguration = &types.LogConfiguration{LogDriver: driver, Options: options}
	e.fake.Register(def)
}

func (e *schedEnv) run(t *testing.T, want int, command ...string) string {
	t.Helper()
	code, err := e.d.Run(context.Background(), RunSpec{Cluster: cluster, Service: "web", Revision: "new", Command: command})
	if err != nil || code != want {
		t.Fatalf("Run = %d, %v, want exit %d\n%s", code, err, want, e.out)
	}
	return e.out.String()
}

// awslogs-region is honoured: the group lives in us-west-2, the cluster in
// us-east-1.
func TestRunLogsInAnotherRegion(t *testing.T) {
	e := newSchedEnv(t)
	e.registerLogging(types.LogDriverAwslogs, map[string]string{"awslogs-group": "/ecs/web", "awslogs-stream-prefix": "web", "awslogs-region": "us-west-2"})
	e.logs.AddGroup(ecsfake.Region, "/ecs/web") // a namesake in the cluster's region, empty
	e.logs.TimedStream("us-west-2", "/ecs/web", "web/app/*", 0, ecsfake.Event{Message: "reconciling"}, ecsfake.Event{Message: "Error: 3 invoices differ"})
	e.fake.SetTaskOutcome(ecsfake.TaskOutcome{ExitCodes: map[string]int32{"app": 1}})
	out := e.run(t, 1, "bin/rails", "runner", "Invoice.reconcile!")
	for _, w := range []string{"run: following CloudWatch Logs /ecs/web web/app/", " (us-west-2)\n", "app | reconciling\n", "app | Error: 3 invoices differ\n"} {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
}

// A log group that does not exist is a configuration problem, said at
// once, and not polled again.
func TestRunLogGroupMissing(t *testing.T) {
	e := newSchedEnv(t)
	e.registerLogging(types.LogDriverAwslogs, map[string]string{"awslogs-group": "/ecs/nope", "awslogs-stream-prefix": "web"})
	e.fake.SetTaskOutcome(ecsfake.TaskOutcome{Steps: 6})
	out := e.run(t, 0, "true")
	want := "run: CloudWatch Logs group /ecs/nope does not exist in us-east-1 (awslogs-group and awslogs-region of container app): " +
		"/ecs/nope: GetLogEvents: ResourceNotFoundException: The specified log group does not exist.; its log cannot be shown: fix the task definition's log options or create the group\n"
	if strings.Count(out, want) != 1 {
		t.Errorf("output does not say once %q:\n%s", want, out)
	}
	if n := e.logs.Calls()["GetLogEvents"]; n != 1 {
		t.Errorf("%d GetLogEvents calls for a missing group, want 1", n)
	}
}

// The last lines reach CloudWatch after the task stopped, and CloudWatch
// answers empty pages with a new token while it scans: entry keeps reading
// until the stream has been quiet for the grace, and prints the failing
// line.
func TestRunLateLogEvents(t *testing.T) {
	e := newSchedEnv(t)
	e.d.LogGrace = 1500 * time.Millisecond
	e.registerLogging(types.LogDriverAwslogs, map[string]string{"awslogs-group": "/ecs/web", "awslogs-stream-prefix": "web"})
	e.logs.EmptyPages = true
	// The task stops after 3 ticks (60ms); its last line is written then
	// and reaches CloudWatch 400ms later.
	e.logs.TimedStream(ecsfake.Region, "/ecs/web", "web/app/*", 400*time.Millisecond,
		ecsfake.Event{At: 0, Message: "booting"}, ecsfake.Event{At: 20 * time.Millisecond, Message: "reconciling"},
		ecsfake.Event{At: 60 * time.Millisecond, Message: "ActiveRecord::RecordInvalid: Validation failed"})
	e.fake.SetTaskOutcome(ecsfake.TaskOutcome{ExitCodes: map[string]int32{"app": 1}})
	out := e.run(t, 1, "bin/rails", "runner", "Invoice.reconcile!")
	for _, l := range []string{"booting", "reconciling", "ActiveRecord::RecordInvalid: Validation failed"} {
		if strings.Count(out, "app | "+l+"\n") != 1 {
			t.Errorf("line %q not printed once:\n%s", l, out)
		}
	}
}

// A log longer than the tail: its last lines are repeated beside the
// failure, once.
func TestRunLongLogTailRepeated(t *testing.T) {
	e := newSchedEnv(t)
	e.registerLogging(types.LogDriverAwslogs, map[string]string{"awslogs-group": "/ecs/web", "awslogs-stream-prefix": "web"})
	var lines []string
	for i := 1; i <= 25; i++ {
		lines = append(lines, fmt.Sprintf("line %02d", i))
	}
	e.logs.Stream("/ecs/web", "web/app/*", 0, 10, lines...)
	e.fake.SetTaskOutcome(ecsfake.TaskOutcome{ExitCodes: map[string]int32{"app": 1}})
	out := e.run(t, 1, "bin/rails", "db:seed")
	i := strings.Index(out, "last 20 lines of app's log (/ecs/web web/app/")
	if i < 0 || strings.Count(out[i:], "  line ") != 20 || !strings.Contains(out[i:], "  line 06\n") || strings.Contains(out[i:], "  line 05\n") {
		t.Errorf("tail:\n%s", out)
	}
}

// A failed migration says where its log is, whatever the log driver; the
// echoed command keeps its quoting.
func TestFailureSaysWhereTheLogIs(t *testing.T) {
	cases := []struct {
		conf *types.LogConfiguration
		want string
	}{
		{&types.LogConfiguration{LogDriver: types.LogDriverSplunk, Options: map[string]string{"splunk-url": "https://splunk.example.com"}},
			"its log: container app logs with the splunk driver (splunk-url=https://splunk.example.com); its output is there"},
		{nil, "its log: container app has no log configuration, so its output is only in the Docker logs of the instance that ran task "},
	}
	for _, c := range cases {
		e := newSchedEnv(t)
		def := webDef()
		def.ContainerDefinitions[0].LogConfiguration = c.conf
		e.makeLive(t, e.fake.Register(def))
		e.fake.SetTaskOutcome(ecsfake.TaskOutcome{ExitCodes: map[string]int32{"app": 1}})
		s := spec()
		s.Services = []string{"web"}
		s.Migrate = []string{"bin/rails", "runner", "Invoice.reconcile!", "it's"}
		failure(t, e.d.Deploy(context.Background(), s), c.want)
		e.wantOutput(t, `started: bin/rails runner 'Invoice.reconcile!' 'it'\''s' (container app)`)
	}
}

func TestQuoteCommandRoundTrips(t *testing.T) {
	for _, words := range [][]string{{"bin/rails", "db:migrate"}, {"bin/rails", "runner", "Invoice.reconcile!"}, {"sh", "-c", "a && b"},
		{"echo", ""}, {"it's", `"q"`, `back\slash`, "$HOME", "tab\there"}} {
		got, err := SplitCommand(quoteCommand(words))
		if err != nil || !slices.Equal(got, words) {
			t.Errorf("SplitCommand(quoteCommand(%q)) = %q, %v", words, got, err)
		}
	}
	if got := quoteCommand([]string{"bin/rails", "runner", "Invoice.reconcile!"}); got != "bin/rails runner 'Invoice.reconcile!'" {
		t.Errorf("quoteCommand = %s", got)
	}
}

// makeLive makes a revision the one web runs, settled: the deploy builds on it.
func (e *schedEnv) makeLive(t *testing.T, arn string) {
	t.Helper()
	ctx := context.Background()
	if _, err := e.d.Client.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String(cluster), Service: aws.String("web"), TaskDefinition: aws.String(arn)}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(testtool.Patience)
	for time.Now().Before(deadline) {
		out, err := e.d.Client.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(cluster), Services: []string{"web"}})
		if err == nil && settled(out.Services[0]) && aws.ToString(out.Services[0].TaskDefinition) == arn {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("web did not settle on %s", arn)
}

// deploy run, as --migrate: the echoed command keeps its quoting, and a
// container that does not log to CloudWatch is said to log elsewhere,
// naming where.
func TestRunSaysWhereANonAwslogsLogIs(t *testing.T) {
	e := newSchedEnv(t)
	e.registerLogging(types.LogDriverSyslog, map[string]string{"syslog-address": "udp://logs.internal:514"})
	e.fake.SetTaskOutcome(ecsfake.TaskOutcome{ExitCodes: map[string]int32{"app": 3}})
	out := e.run(t, 3, "bin/rails", "runner", "Invoice.reconcile!")
	for _, w := range []string{
		"started: bin/rails runner 'Invoice.reconcile!' (container app)",
		"run: container app logs with the syslog driver (syslog-address=udp://logs.internal:514); its output is there; entry streams only awslogs\n",
	} {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
	if strings.Contains(out, "see its logs") {
		t.Errorf("output says 'see its logs' without saying where:\n%s", out)
	}
}
