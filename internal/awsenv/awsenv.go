// Package awsenv loads the AWS SDK configuration the way every part of entry
// does — the default credential chain and the standard settings (AWS_REGION,
// AWS_PROFILE, AWS_ENDPOINT_URL_<SERVICE>, an ECS task role) — and explains
// the failure users meet first: no credentials at all.
package awsenv

import (
	"context"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/smithy-go/logging"
)

// NoCredentialsHint says where credentials come from, for error messages.
const NoCredentialsHint = "give the task or the CI job an IAM role, or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE"

// Load returns the SDK configuration with the SDK's own log lines silenced:
// entry reports each failure itself in one line, and the SDK's warnings
// (IMDS fallbacks, skipped checksums) would only add noise on stderr.
func Load(ctx context.Context, opts ...func(*config.LoadOptions) error) (aws.Config, error) {
	opts = append([]func(*config.LoadOptions) error{config.WithLogger(logging.Nop{})}, opts...)
	return config.LoadDefaultConfig(ctx, opts...)
}

// IsNoCredentials reports whether err is the credential chain finding
// nothing. The SDK has no error type for it, so the test is on its text.
func IsNoCredentials(err error) bool {
	if err == nil {
		return false
	}
	msg := err.Error()
	return strings.Contains(msg, "failed to retrieve credentials") ||
		strings.Contains(msg, "no EC2 IMDS role found") ||
		strings.Contains(msg, "failed to refresh cached credentials")
}
