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
}
