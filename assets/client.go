package assets

import (
	"context"
	"fmt"

	"github.com/entryhq/entry/internal/awsenv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// DefaultRegion is the region used when neither Options nor the AWS
// configuration (AWS_REGION, AWS_DEFAULT_REGION, ~/.aws/config) names one.
// ECS sets AWS_REGION in every task, so this matters mostly for S3-compatible
// servers, which accept any region.
const DefaultRegion = "us-east-1"

// Options override the AWS SDK's own configuration. The zero value uses the
// default credential chain and the standard settings: AWS_REGION,
// AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_S3, AWS_PROFILE, the ECS task role.
type Options struct {
	Region   string
	Endpoint string // replaces AWS_ENDPOINT_URL_S3
	// PathStyle selects path-style addressing (http://host/bucket/key),
	// which MinIO and most S3-compatible servers need. nil means path-style
	// exactly when a custom endpoint is set, virtual-hosted style on AWS.
	PathStyle *bool
}

// A Client pushes and fetches manifests. It is safe for concurrent use.
type Client struct {
	s3 *s3.Client
	// bodyRetryer decides whether a download that broke mid-body is tried
	// again, with the same rules and back-off as the SDK's own retries.
	bodyRetryer aws.Retryer
}

// NewClient loads the AWS configuration and returns a client. It does not
// reach the network: credentials are resolved on first use.
func NewClient(ctx context.Context, o Options) (*Client, error) {
	var load []func(*awsconfig.LoadOptions) error
	if o.Region != "" {
		load = append(load, awsconfig.WithRegion(o.Region))
	}
	cfg, err := awsenv.Load(ctx, load...)
	if err != nil {
		return nil, fmt.Errorf("assets: loading the AWS configuration: %v (check AWS_PROFILE and ~/.aws/config)", err)
	}
	if cfg.Region == "" {
		cfg.Region = DefaultRegion
	}
	client := s3.NewFromConfig(cfg, func(so *s3.Options) {
		if o.Endpoint != "" {
			so.BaseEndpoint = aws.String(o.Endpoint)
		}
		switch {
		case o.PathStyle != nil:
			so.UsePathStyle = *o.PathStyle
		case so.BaseEndpoint != nil:
			so.UsePathStyle = true
		}
	})
	return &Client{s3: client, bodyRetryer: retry.NewStandard()}, nil
}
