package awsenv

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// With no credentials anywhere (and IMDS off, so that nothing leaves the
// machine), a real SDK call fails with an error IsNoCredentials recognises.
func TestNoCredentials(t *testing.T) {
	for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
		"AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI"} {
		t.Setenv(k, "")
	}
	dir := t.TempDir()
	t.Setenv("AWS_CONFIG_FILE", dir+"/config")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", dir+"/credentials")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_ENDPOINT_URL_STS", "http://127.0.0.1:1") // never reached: signing fails first

	cfg, err := Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	_, err = sts.NewFromConfig(cfg).GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	if !IsNoCredentials(err) {
		t.Fatalf("IsNoCredentials(%v) = false", err)
	}
	if IsNoCredentials(errors.New("AccessDenied: nope")) || IsNoCredentials(nil) {
		t.Error("IsNoCredentials accepts other errors")
	}
	if !strings.Contains(NoCredentialsHint, "AWS_ACCESS_KEY_ID") {
		t.Error("the hint names no variable")
	}
}
