package ecsfake

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

func TestProtocolErrors(t *testing.T) {
	f := New()
	defer f.Close()
	for _, c := range []struct {
		target, ctype, auth string
		status              int
		want                string
	}{
		{TargetPrefix + "DescribeServices", "application/x-amz-json-1.1", "", 403, "MissingAuthenticationTokenException"},
		{"Other.DescribeServices", "application/x-amz-json-1.1", "AWS4-HMAC-SHA256 Credential=x", 400, "UnknownOperationException"},
		{TargetPrefix + "DescribeServices", "application/json", "AWS4-HMAC-SHA256 Credential=x", 400, "SerializationException"},
		{TargetPrefix + "CreateCluster", "application/x-amz-json-1.1", "AWS4-HMAC-SHA256 Credential=x", 400, "UnknownOperationException"},
	} {
		req, _ := http.NewRequest("POST", f.URL, strings.NewReader("{}"))
		req.Header.Set("X-Amz-Target", c.target)
		req.Header.Set("Content-Type", c.ctype)
		if c.auth != "" {
			req.Header.Set("Authorization", c.auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.status || !strings.Contains(string(body), `"__type":"com.amazonaws.ecs#`+c.want) {
			t.Errorf("%s: %d %s, want %d %s", c.target, resp.StatusCode, body, c.status, c.want)
		}
	}
}

func TestSDKSeesTypedErrorsAndTimestamps(t *testing.T) {
	f := New()
	defer f.Close()
	f.AddCluster("prod")
	client := ecs.New(ecs.Options{Region: Region, BaseEndpoint: aws.String(f.URL),
		Credentials: credentials.NewStaticCredentialsProvider("AKID", "SECRET", "")})
	ctx := context.Background()
	_, err := client.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String("staging"), Services: []string{"web"}})
	var cnf *types.ClusterNotFoundException
	if !errors.As(err, &cnf) {
		t.Errorf("err = %v, want a ClusterNotFoundException", err)
	}
	out, err := client.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{Family: aws.String("web"),
		ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("app"), Image: aws.String("a:1")}}})
	if err != nil {
		t.Fatal(err)
	}
	td := out.TaskDefinition
	if td.Revision != 1 || td.RegisteredAt == nil || td.RegisteredAt.Year() != 2026 || aws.ToString(td.TaskDefinitionArn) != "arn:aws:ecs:us-east-1:123456789012:task-definition/web:1" {
		t.Errorf("registered %+v", td)
	}
	if f.Calls()["RegisterTaskDefinition"] != 1 || f.MutatingCalls() != 1 {
		t.Errorf("calls %v", f.Calls())
	}
	noModelErrors(t, f)
}

func client(f *Fake) *ecs.Client {
	return ecs.New(ecs.Options{Region: Region, BaseEndpoint: aws.String(f.URL), RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider("AKID", "SECRET", "")})
}

func noModelErrors(t *testing.T, f *Fake) {
	t.Helper()
	for _, e := range f.ModelErrors() {
		t.Errorf("ECS API model: %s", e)
	}
}

func TestModelRejectsWhatECSWould(t *testing.T) {
	m := ECSModel()
	for body, want := range map[string]string{
		`{"services":["web"],"clusterName":"prod"}`: `unknown member "clusterName" of DescribeServicesRequest`,
		`{"services":"web"}`:                        `StringList wants an array, got the string "web"`,
		`{"cluster":"prod"}`:                        `missing required member services of DescribeServicesRequest`,
		`{"services":["web"],"include":["NOPE"]}`:   `"NOPE" is not a value of enum ServiceField`,
		`{"services":["web"],"cluster":null}`:       `null where String (string) goes`,
	} {
		errs := violations(m.CheckInput("DescribeServices", []byte(body), nil))
		if len(errs) != 1 || !strings.Contains(errs[0], want) {
			t.Errorf("%s: %q, want one saying %q", body, errs, want)
		}
	}
	errs := violations(m.CheckOutput("DescribeServices", []byte(`{"services":[{"desiredCount":1.5,"createdAt":"2024-01-01","runningCount":3000000000}]}`)))
	if got := strings.Join(errs, "\n"); len(errs) != 3 || !strings.Contains(got, "desiredCount: Integer wants a whole number") ||
		!strings.Contains(got, "createdAt: Timestamp wants epoch seconds") || !strings.Contains(got, "does not fit the 32-bit integer") {
		t.Errorf("response errors %q, want a bad integer, a bad timestamp and an int32 overflow", errs)
	}
	if errs := violations(m.CheckInput("DescribeServices", []byte(`{"cluster":"prod","services":["web"],"include":["TAGS"]}`), nil)); len(errs) != 0 {
		t.Errorf("a valid request rejected: %q", errs)
	}
}

// The fake records what violates the model, in requests it is sent.
func TestFakeChecksRequests(t *testing.T) {
	f := New()
	defer f.Close()
	req, _ := http.NewRequest("POST", f.URL, strings.NewReader(`{"cluster":"prod","service":["web"]}`))
	req.Header.Set("X-Amz-Target", TargetPrefix+"DescribeServices")
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=x")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	got := strings.Join(f.ModelErrors(), "\n")
	if !strings.Contains(got, `unknown member "service"`) || !strings.Contains(got, `missing required member services`) {
		t.Errorf("model errors: %s", got)
	}
}

func webService(f *Fake) {
	f.AddCluster("prod")
	arn := f.Register(&ecs.RegisterTaskDefinitionInput{Family: aws.String("web"),
		ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("app"), Image: aws.String("a:1")}}})
	f.Register(&ecs.RegisterTaskDefinitionInput{Family: aws.String("web"),
		ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("app"), Image: aws.String("a:2")}}})
	f.AddService(ServiceSpec{Cluster: "prod", Name: "web", TaskDefinition: arn, DesiredCount: 2})
}

// eventually polls cond for up to 10 s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("%s: not within 10s", what)
}

// Time, not the number of calls, drives a deployment: it completes
// without being described, and a lagging describe shows the old state.
func TestTimeDrivesRolloutsAndLag(t *testing.T) {
	f := New()
	defer f.Close()
	webService(f)
	f.LagFor(time.Hour)
	c := client(f)
	ctx := context.Background()
	up, err := c.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String("prod"), Service: aws.String("web"), TaskDefinition: aws.String("web:2")})
	if err != nil {
		t.Fatal(err)
	}
	if len(up.Service.Deployments) != 2 {
		t.Errorf("UpdateService answered %d deployments, want the new and the old", len(up.Service.Deployments))
	}
	eventually(t, "rollout completes", func() bool {
		s := f.Service("prod", "web")
		return len(s.Deployments) == 1 && s.Deployments[0].RolloutState == types.DeploymentRolloutStateCompleted
	})
	out, err := c.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String("prod"), Services: []string{"web"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToString(out.Services[0].Deployments[0].TaskDefinition); !strings.HasSuffix(got, "web:1") {
		t.Errorf("lagging describe shows %s, want the old web:1", got)
	}
	if n := f.Calls()["DescribeServices"]; n != 1 {
		t.Errorf("%d DescribeServices calls", n)
	}
	noModelErrors(t, f)
}

func TestMidRolloutMissingThrottleDrop(t *testing.T) {
	f := New()
	defer f.Close()
	webService(f)
	f.StartRollout("prod", "web", "web:2", Rollout{Outcome: Complete, Steps: 100, PlacementFailures: 2})
	s := f.Service("prod", "web")
	if len(s.Deployments) != 2 || aws.ToString(s.Deployments[0].Status) != "PRIMARY" || aws.ToString(s.Deployments[1].Status) != "ACTIVE" ||
		s.Deployments[0].RolloutState != types.DeploymentRolloutStateInProgress {
		t.Errorf("mid-rollout deployments: %+v", s.Deployments)
	}
	eventually(t, "placement events", func() bool {
		n := 0
		for _, e := range f.Service("prod", "web").Events {
			if strings.Contains(aws.ToString(e.Message), "unable to place a task") {
				n++
			}
		}
		return n == 2
	})

	c := client(f)
	ctx := context.Background()
	f.MissingFor(time.Hour)
	run, err := c.RunTask(ctx, &ecs.RunTaskInput{Cluster: aws.String("prod"), TaskDefinition: aws.String("web:2")})
	if err != nil {
		t.Fatal(err)
	}
	desc, err := c.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String("prod"), Tasks: []string{aws.ToString(run.Tasks[0].TaskArn)}})
	if err != nil || len(desc.Failures) != 1 || aws.ToString(desc.Failures[0].Reason) != "MISSING" {
		t.Errorf("just-started task: %v %+v, want MISSING", err, desc)
	}

	f.ThrottleFor("", time.Hour)
	_, err = c.ListServices(ctx, &ecs.ListServicesInput{Cluster: aws.String("prod")})
	var ae interface{ ErrorCode() string }
	if !errors.As(err, &ae) || ae.ErrorCode() != "ThrottlingException" {
		t.Errorf("throttled call: %v", err)
	}
	f.ThrottleFor("", 0)
	f.DropFor("ListServices", time.Hour)
	if _, err = c.ListServices(ctx, &ecs.ListServicesInput{Cluster: aws.String("prod")}); err == nil || errors.As(err, &ae) {
		t.Errorf("dropped call: %v, want a transport error", err)
	}
	noModelErrors(t, f)
}
