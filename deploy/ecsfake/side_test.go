package ecsfake

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"
	sctypes "github.com/aws/aws-sdk-go-v2/service/scheduler/types"
	"github.com/aws/smithy-go"
)

func post(t *testing.T, url, target, body string, signed bool) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", url, strings.NewReader(body))
	req.Header.Set("X-Amz-Target", target)
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	if signed {
		req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=x")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// A request the model does not allow is refused as AWS would, and
// recorded, so that a test of the caller fails.
func TestSideFakesCheckRequestsAgainstTheModel(t *testing.T) {
	e := NewEvents()
	defer e.Close()
	if code, body := post(t, e.URL, EventsTargetPrefix+"ListTargetsByRule", `{"Rule":"r"}`, false); code != 403 || !strings.Contains(body, "MissingAuthenticationTokenException") {
		t.Errorf("unsigned: %d %s", code, body)
	}
	code, body := post(t, e.URL, EventsTargetPrefix+"ListTargetsByRule", `{"Rule":"r","Colour":"red"}`, true)
	if code != 400 || !strings.Contains(body, `unknown member \"Colour\"`) || len(e.Violations()) != 1 {
		t.Errorf("unknown member: %d %s %v", code, body, e.Violations())
	}
	code, body = post(t, e.URL, EventsTargetPrefix+"PutTargets", `{"Rule":"r"}`, true)
	if code != 400 || !strings.Contains(body, "missing required member Targets") {
		t.Errorf("missing member: %d %s", code, body)
	}
	code, body = post(t, e.URL, EventsTargetPrefix+"DeleteRule", `{"Name":"r"}`, true)
	if code != 400 || !strings.Contains(body, "UnknownOperationException") {
		t.Errorf("op outside the model: %d %s", code, body)
	}

	l := NewLogs()
	defer l.Close()
	code, body = post(t, l.URL, LogsTargetPrefix+"GetLogEvents", `{"logGroupName":"g","logStreamName":"s","limit":"10"}`, true)
	if code != 400 || !strings.Contains(body, "wants a whole number") {
		t.Errorf("wrong type: %d %s", code, body)
	}
	code, body = post(t, l.URL, LogsTargetPrefix+"GetLogEvents", `{"logGroupName":"g","logStreamName":"s","startFromHead":true}`, true)
	if code != 400 || !strings.Contains(body, "com.amazonaws.logs#ResourceNotFoundException") {
		t.Errorf("no stream: %d %s", code, body)
	}
}

// The real Scheduler client reaches the REST-JSON fake, sees typed errors,
// and what UpdateSchedule leaves out is gone afterwards, as on AWS.
func TestSchedulerFakeWithTheSDK(t *testing.T) {
	s := NewScheduler()
	defer s.Close()
	c := scheduler.New(scheduler.Options{Region: Region, BaseEndpoint: aws.String(s.URL),
		Credentials: credentials.NewStaticCredentialsProvider("AKID", "SECRET", "")})
	ctx := context.Background()
	_, err := c.GetSchedule(ctx, &scheduler.GetScheduleInput{Name: aws.String("nope")})
	var nf *sctypes.ResourceNotFoundException
	if !errors.As(err, &nf) {
		t.Errorf("err = %v, want ResourceNotFoundException", err)
	}
	s.AddSchedule(scheduler.GetScheduleOutput{Name: aws.String("a"), ScheduleExpression: aws.String("rate(1 hour)"),
		ScheduleExpressionTimezone: aws.String("Asia/Tokyo"), State: sctypes.ScheduleStateEnabled,
		FlexibleTimeWindow: &sctypes.FlexibleTimeWindow{Mode: sctypes.FlexibleTimeWindowModeOff},
		Target:             &sctypes.Target{Arn: aws.String("arn:aws:sqs:us-east-1:123456789012:q"), RoleArn: aws.String("arn:aws:iam::123456789012:role/r")}})
	got, err := c.GetSchedule(ctx, &scheduler.GetScheduleInput{Name: aws.String("a")})
	if err != nil || aws.ToString(got.ScheduleExpressionTimezone) != "Asia/Tokyo" || got.CreationDate == nil {
		t.Fatalf("GetSchedule = %+v, %v", got, err)
	}
	_, err = c.UpdateSchedule(ctx, &scheduler.UpdateScheduleInput{Name: aws.String("a"), ScheduleExpression: got.ScheduleExpression,
		FlexibleTimeWindow: got.FlexibleTimeWindow, Target: got.Target})
	if err != nil {
		t.Fatal(err)
	}
	after, _ := s.Schedule("default", "a")
	if after.ScheduleExpressionTimezone != nil {
		t.Errorf("the time zone left out of UpdateSchedule survived: %q", *after.ScheduleExpressionTimezone)
	}
	s.Throttle("ListSchedules", 1)
	c2 := scheduler.New(scheduler.Options{Region: Region, BaseEndpoint: aws.String(s.URL), RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider("AKID", "SECRET", "")})
	_, err = c2.ListSchedules(ctx, &scheduler.ListSchedulesInput{})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "ThrottlingException" {
		t.Errorf("throttled: %v", err)
	}
	if v := s.Violations(); len(v) != 0 {
		t.Errorf("violations: %v", v)
	}
}

// The ECR fake checks requests against ECR's model like the others.
func TestECRFakeChecksRequestsAgainstTheModel(t *testing.T) {
	e := NewECR()
	defer e.Close()
	code, body := post(t, e.URL, ECRTargetPrefix+"DescribeImages", `{"repositoryName":"app","imageIds":[{"imageTag":"1"}],"colour":"red"}`, true)
	if code != 400 || !strings.Contains(body, `unknown member \"colour\"`) || len(e.Violations()) != 1 {
		t.Errorf("unknown member: %d %s %v", code, body, e.Violations())
	}
	code, body = post(t, e.URL, ECRTargetPrefix+"BatchDeleteImage", `{"repositoryName":"app"}`, true)
	if code != 400 || !strings.Contains(body, "UnknownOperationException") {
		t.Errorf("op outside the model: %d %s", code, body)
	}
	code, body = post(t, e.URL, ECRTargetPrefix+"DescribeImages", `{"repositoryName":"app","imageIds":[{"imageTag":"1"}]}`, true)
	if code != 400 || !strings.Contains(body, "RepositoryNotFoundException") {
		t.Errorf("no repository: %d %s", code, body)
	}
}
