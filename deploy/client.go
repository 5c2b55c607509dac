package deploy

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"syscall"
	"time"

	"github.com/entryhq/entry/internal/awsenv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/smithy-go"
)

// Retry bounds: ECS throttles bursts of Describe calls; the adaptive
// retryer slows down on ThrottlingException and gives up after MaxAttempts.
const (
	MaxAttempts = 8
	MaxBackoff  = 20 * time.Second
)

// NewRetryer returns the retryer entry uses: adaptive (client-side rate
// limiting after throttles), at most maxAttempts attempts per call, backoff
// capped at maxBackoff.
func NewRetryer(maxAttempts int, maxBackoff time.Duration) func() aws.Retryer {
	return func() aws.Retryer {
		return retry.NewAdaptiveMode(func(o *retry.AdaptiveModeOptions) {
			o.StandardOptions = append(o.StandardOptions, func(so *retry.StandardOptions) {
				so.MaxAttempts = maxAttempts
				so.MaxBackoff = maxBackoff
				so.Backoff = retry.NewExponentialJitterBackoff(maxBackoff)
				// A refused connection is a wrong endpoint, not a busy
				// one: AWS endpoints do not refuse. Fail at once.
				so.Retryables = append([]retry.IsErrorRetryable{retry.IsErrorRetryableFunc(func(err error) aws.Ternary {
					if connectionRefused(err) {
						return aws.FalseTernary
					}
					return aws.UnknownTernary
				})}, so.Retryables...)
			})
		})
	}
}

// ErrNoRegion is NewClient's error when no region is configured: a
// configuration error, not a failed deploy.
var ErrNoRegion = errors.New("no AWS region (set AWS_REGION, a profile region, or --region)")

// NewClient returns an ECS client from the default credential chain and
// the standard endpoint settings (AWS_REGION, AWS_PROFILE,
// AWS_ENDPOINT_URL_ECS, ...); region overrides the configured region when
// set.
func NewClient(ctx context.Context, region string) (*ecs.Client, error) {
	opts := []func(*config.LoadOptions) error{config.WithRetryer(NewRetryer(MaxAttempts, MaxBackoff))}
	if region != "" {
		opts = append(opts, config.WithRegion(region))
	}
	cfg, err := awsenv.Load(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("loading AWS configuration: %v", err)
	}
	if cfg.Region == "" {
		return nil, ErrNoRegion
	}
	return ecs.NewFromConfig(cfg), nil
}

// callError names the service (or family) and API call of a failed
// request, and keeps the API's own error code and message.
func callError(subject, op string, err error) error {
	return &CallError{Subject: subject, Op: op, Err: err}
}

// A CallError is an ECS API call that failed.
type CallError struct {
	Subject string // service or family
	Op      string // ECS operation
	Err     error
}

func (e *CallError) Error() string {
	msg := e.Err.Error()
	var ae smithy.APIError
	if awsenv.IsNoCredentials(e.Err) {
		msg = "no AWS credentials found (" + awsenv.NoCredentialsHint + ")"
	} else if connectionRefused(e.Err) {
		msg = "cannot connect to " + endpointOf(e.Err) + ": connection refused; check the endpoint (AWS_ENDPOINT_URL_ECS, AWS_ENDPOINT_URL and the like) and --region"
	} else if errors.As(e.Err, &ae) {
		msg = ae.ErrorCode() + ": " + ae.ErrorMessage()
		var re *retry.MaxAttemptsError
		if errors.As(e.Err, &re) {
			msg += fmt.Sprintf(" (gave up after %d attempts)", re.Attempt)
		}
	} else if errors.Is(e.Err, context.DeadlineExceeded) {
		msg = "timed out"
	}
	if e.Subject == "" {
		return e.Op + ": " + msg
	}
	return e.Subject + ": " + e.Op + ": " + msg
}

func (e *CallError) Unwrap() error { return e.Err }

// connectionRefused reports a call whose connection was refused.
func connectionRefused(err error) bool { return errors.Is(err, syscall.ECONNREFUSED) }

// endpointOf is the scheme and host a failed request was sent to.
func endpointOf(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		if u, perr := url.Parse(ue.URL); perr == nil && u.Host != "" {
			return u.Scheme + "://" + u.Host
		}
		return ue.URL
	}
	return "the endpoint"
}
