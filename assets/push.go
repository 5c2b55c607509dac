package assets

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"github.com/entryhq/entry/internal/readcap"
	"mime"
	"path/filepath"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
)

// MetaSHA256 is the user metadata key (x-amz-meta-sha256) holding the
// object's SHA-256 in hex. Push also sets S3's own ChecksumSHA256, which S3
// verifies on upload; the metadata copy survives tools that re-upload
// without checksums and is what Fetch compares first.
const MetaSHA256 = "sha256"

// PushOptions tune Push.
type PushOptions struct {
	// IfAbsent keeps an object that already exists with the same SHA-256,
	// so that re-running a CI job is a no-op. An object with other (or
	// unknown) content is a Conflict error: a rebuild that is not
	// reproducible must not pass while the containers get the old file.
	IfAbsent bool
	// KeepDifferent, with IfAbsent, keeps an object with other content too
	// and reports it as KeptDifferent instead of failing.
	KeepDifferent bool
	// ContentType is the object's Content-Type; "" means by file extension
	// (application/json for .json), else application/octet-stream.
	ContentType string
	// Timeout bounds the upload, retries included; 0 means DefaultTimeout.
	Timeout time.Duration
}

// DefaultTimeout bounds a push or a fetch when no timeout is given.
const DefaultTimeout = 30 * time.Second

// A PushStatus says what Push did.
type PushStatus int

const (
	Uploaded PushStatus = iota
	// Kept: IfAbsent found an object with the same checksum.
	Kept
	// KeptDifferent: IfAbsent and KeepDifferent found an object with
	// different (or unknown) content and left it alone.
	KeptDifferent
)

// A Pushed describes one pushed file.
type Pushed struct {
	Object Object
	File   string
	SHA256 string // hex
	Size   int
	Status PushStatus
}

// Push uploads file to obj with its Content-Type and SHA-256. A file named
// *.json must hold valid JSON, so that CI fails rather than the containers.
func (c *Client) Push(ctx context.Context, file string, obj Object, o PushOptions) (Pushed, error) {
	data, err := readcap.ReadFile(file, "manifest", readcap.Manifest)
	if err != nil {
		return Pushed{}, newError(Other, obj, err, "%v", err)
	}
	if strings.HasSuffix(file, ".json") {
		if err := checkJSON(data); err != nil {
			return Pushed{}, newError(InvalidJSON, obj, err, "%s: not valid JSON: %v (nothing was uploaded)", file, err)
		}
	}
	sum := sha256.Sum256(data)
	p := Pushed{Object: obj, File: file, SHA256: hex.EncodeToString(sum[:]), Size: len(data)}
	contentType := o.ContentType
	if contentType == "" {
		contentType = contentTypeOf(file)
	}
	timeout := o.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	op := operation{action: "s3:PutObject", timeout: timeout}

	in := &s3.PutObjectInput{
		Bucket:            aws.String(obj.Bucket),
		Key:               aws.String(obj.Key),
		Body:              bytes.NewReader(data),
		ContentLength:     aws.Int64(int64(len(data))),
		ContentType:       aws.String(contentType),
		ChecksumAlgorithm: types.ChecksumAlgorithmSha256,
		ChecksumSHA256:    aws.String(base64.StdEncoding.EncodeToString(sum[:])),
		Metadata:          map[string]string{MetaSHA256: p.SHA256},
	}
	if o.IfAbsent {
		in.IfNoneMatch = aws.String("*")
	}
	_, err = c.s3.PutObject(ctx, in)
	if err == nil {
		return p, nil
	}
	if !o.IfAbsent {
		return Pushed{}, classify(ctx, err, obj, op)
	}
	var api smithy.APIError
	switch {
	case errors.As(err, &api) && api.ErrorCode() == "PreconditionFailed":
		// The object exists: report whether it is the same file.
	case errors.As(err, &api) && api.ErrorCode() == "NotImplemented":
		// A server without conditional writes: look first, then write.
		// Another writer may slip in between; the last write wins, as
		// without --if-absent.
		stored, herr := c.storedChecksum(ctx, obj, op)
		if herr != nil && !IsKind(herr, NotFound) {
			return Pushed{}, herr
		}
		if herr == nil {
			return p.kept(stored, o)
		}
		in.IfNoneMatch = nil
		in.Body = bytes.NewReader(data)
		if _, err := c.s3.PutObject(ctx, in); err != nil {
			return Pushed{}, classify(ctx, err, obj, op)
		}
		return p, nil
	default:
		return Pushed{}, classify(ctx, err, obj, op)
	}
	stored, err := c.storedChecksum(ctx, obj, operation{action: "s3:GetObject", timeout: timeout})
	if err != nil {
		return Pushed{}, err
	}
	return p.kept(stored, o)
}

// kept reports an object IfAbsent left in place, whose stored SHA-256 is
// stored ("" when unknown).
func (p Pushed) kept(stored string, o PushOptions) (Pushed, error) {
	switch {
	case stored != "" && stored == p.SHA256:
		p.Status = Kept
		return p, nil
	case o.KeepDifferent:
		p.Status = KeptDifferent
		return p, nil
	}
	if stored == "" {
		stored = "unknown (uploaded without a checksum)"
	}
	return Pushed{}, newError(Conflict, p.Object, nil,
		"%s: already there with other content: stored sha256 %s, %s sha256 %s; nothing was uploaded (push without --if-absent to replace it, or add --keep-existing if keeping the stored one is intended)",
		p.Object, stored, p.File, p.SHA256)
}

// storedChecksum returns the SHA-256 (hex) recorded for obj, or "" when it
// has none, with a HEAD request. Its error is an *Error; op describes the
// operation for it.
func (c *Client) storedChecksum(ctx context.Context, obj Object, op operation) (string, error) {
	out, err := c.s3.HeadObject(ctx, &s3.HeadObjectInput{
		Bucket:       aws.String(obj.Bucket),
		Key:          aws.String(obj.Key),
		ChecksumMode: types.ChecksumModeEnabled,
	})
	if err != nil {
		return "", classify(ctx, err, obj, op)
	}
	return storedSHA256(out.Metadata, out.ChecksumSHA256), nil
}

// storedSHA256 returns the object's SHA-256 in hex from its metadata, else
// from S3's full-object ChecksumSHA256 (a multipart upload's composite
// checksum, "...-N", is not a hash of the bytes and is ignored).
func storedSHA256(meta map[string]string, checksum *string) string {
	for k, v := range meta {
		if strings.EqualFold(k, MetaSHA256) {
			return strings.ToLower(v)
		}
	}
	if checksum == nil || strings.Contains(*checksum, "-") {
		return ""
	}
	raw, err := base64.StdEncoding.DecodeString(*checksum)
	if err != nil || len(raw) != sha256.Size {
		return ""
	}
	return hex.EncodeToString(raw)
}

// contentTypeOf guesses a Content-Type from the file name.
func contentTypeOf(file string) string {
	ext := filepath.Ext(file)
	if ext == ".json" {
		return "application/json"
	}
	if t := mime.TypeByExtension(ext); t != "" {
		return t
	}
	return "application/octet-stream"
}

// String describes the status for the push log line.
func (s PushStatus) String() string {
	switch s {
	case Kept:
		return "kept (already pushed, same checksum)"
	case KeptDifferent:
		return "kept (an object with other content is already there, as --keep-existing asks)"
	}
	return "uploaded"
}
