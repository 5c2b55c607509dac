package deploy

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"

	"github.com/entryhq/entry/internal/awsenv"
)

// NewClients returns the EventBridge, Scheduler, CloudWatch Logs and ECR
// clients, configured like the ECS one (AWS_ENDPOINT_URL_EVENTBRIDGE,
// AWS_ENDPOINT_URL_SCHEDULER, AWS_ENDPOINT_URL_CLOUDWATCH_LOGS,
// AWS_ENDPOINT_URL_ECR, ...). Only
// the deploy commands call it: building clients is no cost a container
// start should pay.
func NewClients(ctx context.Context, region string) (Clients, error) {
	opts := []func(*config.LoadOptions) error{config.WithRetryer(NewRetryer(MaxAttempts, MaxBackoff))}
	if region != "" {
		opts = append(opts, config.WithRegion(region))
	}
	cfg, err := awsenv.Load(ctx, opts...)
	if err != nil {
		return Clients{}, fmt.Errorf("loading AWS configuration: %v", err)
	}
	return Clients{
		Events:    eventbridge.NewFromConfig(cfg),
		Scheduler: scheduler.NewFromConfig(cfg),
		Logs:      cloudwatchlogs.NewFromConfig(cfg),
		ECR:       ecr.NewFromConfig(cfg),
	}, nil
}
