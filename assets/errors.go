package assets

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/entryhq/entry/internal/awsenv"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// A Kind classifies a failure so that callers and tests can tell them apart
// without parsing messages.
type Kind int

const (
	Other            Kind = iota
	NotFound              // no such object
	AccessDenied          // the credentials may not read or write the object
	NoBucket              // the bucket does not exist
	Timeout               // the total timeout passed, retries included
	InvalidJSON           // the object is not valid JSON
	ChecksumMismatch      // the bytes do not match the stored checksum
	NoCredentials         // the credential chain found nothing
	BadCredentials        // S3 rejected the credentials
	Interrupted           // the caller cancelled (a signal during start-up)
	Unavailable           // transient errors outlasted the retries
	Unreachable           // no connection to the endpoint
	Conflict              // push --if-absent found an object with other content
)

// An Error is a failed push or fetch. Its message is the whole line a user
// sees after "entry: ", starting with "assets: ".
type Error struct {
	Kind   Kind
	Object Object
	Msg    string
	Err    error // the underlying error, if any
}

func (e *Error) Error() string { return e.Msg }
func (e *Error) Unwrap() error { return e.Err }

// IsKind reports whether err is an *Error of kind k.
func IsKind(err error, k Kind) bool {
	var e *Error
	return errors.As(err, &e) && e.Kind == k
}

func newError(k Kind, obj Object, err error, format string, args ...any) *Error {
	return &Error{Kind: k, Object: obj, Err: err, Msg: "assets: " + fmt.Sprintf(format, args...)}
}

// An operation is what the failed request tried, for the advice in
// messages: which permission is missing.
type operation struct {
	action  string // "s3:GetObject"
	timeout time.Duration
}

// classify turns an SDK error into an *Error with its own message. ctx is
// the context bounding the operation: its deadline is the timeout.
func classify(ctx context.Context, err error, obj Object, op operation) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	if ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded) {
		if errors.Is(ctx.Err(), context.Canceled) {
			return newError(Interrupted, obj, err, "%s: interrupted", obj)
		}
		return newError(Timeout, obj, err, "%s: timed out after %v (raise --timeout or assets.timeout, or check the network path to S3)", obj, op.timeout)
	}
	var api smithy.APIError
	if errors.As(err, &api) {
		switch api.ErrorCode() {
		case "NoSuchKey", "NotFound":
			return newError(NotFound, obj, err, "no object at %s", obj)
		case "NoSuchBucket":
			return newError(NoBucket, obj, err, "%s: bucket %s does not exist (check assets.bucket in entry.yml, the region and the endpoint)", obj, obj.Bucket)
		case "AccessDenied", "Forbidden", "AllAccessDisabled":
			hint := ""
			if op.action == "s3:GetObject" {
				hint = "; without s3:ListBucket, S3 also reports a missing object this way"
			}
			return newError(AccessDenied, obj, err, "%s: access denied (the credentials in use need %s on %s%s)", obj, op.action, obj.ARN(), hint)
		case "InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken", "InvalidToken", "TokenRefreshRequired":
			return newError(BadCredentials, obj, err, "%s: S3 rejected the credentials: %s (check AWS_ACCESS_KEY_ID, AWS_PROFILE or the task role, and the endpoint)", obj, api.ErrorCode())
		}
		var attempts *retry.MaxAttemptsError
		if errors.As(err, &attempts) {
			return newError(Unavailable, obj, err, "%s: S3 answered %s on each of %d attempts (a transient failure that lasted; try again, and check the endpoint and S3's health)", obj, describeAPIError(err, api), attempts.Attempt)
		}
		return newError(Other, obj, err, "%s: S3 answered %s", obj, describeAPIError(err, api))
	}
	var dial *net.OpError
	if errors.As(err, &dial) && dial.Op == "dial" {
		host := ""
		if dial.Addr != nil {
			host = " " + dial.Addr.String()
		}
		var dns *net.DNSError
		if errors.As(err, &dns) {
			host = " " + dns.Name
		}
		return newError(Unreachable, obj, err, "%s: cannot connect to S3 at%s: %v (check the endpoint: AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL or assets.endpoint, and the network)", obj, host, rootCause(dial.Err))
	}
	if awsenv.IsNoCredentials(err) {
		return newError(NoCredentials, obj, err, "%s: no AWS credentials found (%s)", obj, awsenv.NoCredentialsHint)
	}
	return newError(Other, obj, err, "%s: %v", obj, err)
}

// describeAPIError renders an S3 error as "503 ServiceUnavailable: message".
func describeAPIError(err error, api smithy.APIError) string {
	d := api.ErrorCode()
	var resp *smithyhttp.ResponseError
	if errors.As(err, &resp) && resp.HTTPStatusCode() != 0 {
		d = fmt.Sprintf("%d %s", resp.HTTPStatusCode(), d)
	}
	if m := api.ErrorMessage(); m != "" && m != api.ErrorCode() {
		d += ": " + m
	}
	return d
}

// rootCause returns the innermost error, for short messages such as
// "connection refused".
func rootCause(err error) error {
	for {
		next := errors.Unwrap(err)
		if next == nil {
			return err
		}
		err = next
	}
}
