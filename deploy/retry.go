package deploy

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// retryCall runs call until it succeeds, fails for a reason retrying
// cannot cure (permanent), or timeout passes: throttling and dropped
// connections can outlast the SDK's own retries, and a deploy that would
// succeed a little later must not fail. call must be safe to repeat; it
// gets the attempt number (from 1) to check what an earlier attempt did.
func (d *Deployer) retryCall(ctx context.Context, timeout time.Duration, subject, op string, call func(ctx context.Context, attempt int) error) error {
	return d.retryUnless(ctx, timeout, subject, op, permanent, call)
}

// retryUnless is retryCall with the caller's idea of a permanent error.
func (d *Deployer) retryUnless(ctx context.Context, timeout time.Duration, subject, op string, permanent func(error) bool, call func(ctx context.Context, attempt int) error) error {
	rctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	lo, hi := d.poll()
	interval := lo
	var lastErr error
	for attempt := 1; ; attempt++ {
		err := call(rctx, attempt)
		if err == nil {
			return nil
		}
		if rctx.Err() == nil || lastErr == nil {
			var ce *CallError
			if lastErr = err; !errors.As(err, &ce) {
				lastErr = callError(subject, op, err) // a call that did not name itself
			}
		}
		if permanent(err) || ctx.Err() != nil {
			return lastErr
		}
		if rctx.Err() != nil {
			return fmt.Errorf("%w (still failing after %v of retries)", lastErr, timeout)
		}
		d.out("warning: %v; retrying", lastErr)
		t := time.NewTimer(interval)
		select {
		case <-rctx.Done():
			t.Stop()
		case <-t.C:
		}
		interval = min(interval*2, hi)
	}
}

// noSDKRetry turns the SDK's retries off for one call that is not
// idempotent: entry retries it itself, after checking whether the
// previous attempt took effect.
func noSDKRetry(o *ecs.Options) { o.Retryer = retry.AddWithMaxAttempts(o.Retryer, 1) }

// register registers f.newIn. RegisterTaskDefinition is not idempotent: an
// attempt whose answer was lost may have created a revision, so before
// trying again entry reads the family's latest ACTIVE revision and, when
// its content is the definition being registered, uses it instead of
// registering a second, identical one.
func (d *Deployer) register(ctx context.Context, timeout time.Duration, f *family) (arn string, reused bool, err error) {
	err = d.retryCall(ctx, timeout, f.name, "RegisterTaskDefinition", func(ctx context.Context, attempt int) error {
		if attempt > 1 {
			out, err := d.Client.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{
				TaskDefinition: aws.String(f.name), Include: []types.TaskDefinitionField{types.TaskDefinitionFieldTags},
			})
			var nf *types.ClientException
			switch {
			case errors.As(err, &nf):
				// No ACTIVE revision: nothing was registered.
			case err != nil:
				return err
			case canonical(registerInput(out.TaskDefinition, out.Tags)) == canonical(f.newIn):
				arn, reused = aws.ToString(out.TaskDefinition.TaskDefinitionArn), true
				return nil
			}
		}
		out, err := d.Client.RegisterTaskDefinition(ctx, f.newIn, noSDKRetry)
		if err != nil {
			return err
		}
		arn = aws.ToString(out.TaskDefinition.TaskDefinitionArn)
		return nil
	})
	return arn, reused, err
}
