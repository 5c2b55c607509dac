package assets

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/google/renameio/v2"

	"github.com/entryhq/entry/internal/atomicfile"
)

// An Item is one object to fetch into a local file.
type Item struct {
	Object Object
	Dst    string
	// JSON requires the object to be valid JSON (manifests always are).
	JSON bool
	// What names the object in the not-found message ("manifest"); ""
	// means "object".
	What string
	// Context says what the object was chosen for, such as
	// "RAILS_ENV=production, revision abc123"; it goes in the not-found
	// message.
	Context string
	// Hint ends the not-found message: what to do about it.
	Hint string
}

// FetchOptions tune Fetch.
type FetchOptions struct {
	// Cache skips the download of an item whose destination already holds
	// the bytes the object's stored checksum describes (one HEAD request).
	Cache bool
	// Timeout bounds the whole fetch, retries included; 0 means
	// DefaultTimeout.
	Timeout time.Duration
	// MaxSize refuses larger objects; 0 means DefaultMaxSize.
	MaxSize int64
}

// DefaultMaxSize bounds one fetched object, which is held in memory until it
// is verified. Manifests are kilobytes to a few megabytes.
const DefaultMaxSize = 64 << 20

// maxBodyAttempts bounds the downloads of one object whose body broke off
// mid-way (the SDK retries the request itself, not the reading of its body).
const maxBodyAttempts = 3

// A Fetched describes one fetched item.
type Fetched struct {
	Item   Item
	SHA256 string // hex, of the bytes now at Item.Dst
	Size   int
	// Verified: a stored checksum was compared. Objects uploaded without
	// one (not by entry assets push) are only checked for JSON.
	Verified bool
	// Cached: the destination already held these bytes; nothing was
	// downloaded or written.
	Cached bool
	// Retries counts downloads restarted after the body broke off.
	Retries int
}

// Fetch downloads every item, verifies each against its stored SHA-256 and,
// for JSON items, that it parses, and only then writes them, each
// atomically (a temporary file in the destination's directory, fsync,
// rename). When any item fails nothing is written: the destinations stay as
// they were and no temporary file is left. The error is an *Error.
func (c *Client) Fetch(ctx context.Context, items []Item, o FetchOptions) ([]Fetched, error) {
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.MaxSize <= 0 {
		o.MaxSize = DefaultMaxSize
	}
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()

	results := make([]Fetched, len(items))
	data := make([][]byte, len(items))
	errs := make([]error, len(items))
	var wg sync.WaitGroup
	for i, it := range items {
		wg.Go(func() {
			results[i], data[i], errs[i] = c.download(ctx, it, o)
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	// A dst linked into a missing directory fails before any is written.
	for _, r := range results {
		if _, err := atomicfile.Target(r.Item.Dst); err != nil && !r.Cached {
			return nil, newError(Other, r.Item.Object, err, "writing %s: %v", r.Item.Dst, err)
		}
	}
	for i, r := range results {
		if r.Cached {
			continue
		}
		if err := writeAtomic(r.Item.Dst, data[i]); err != nil {
			return nil, newError(Other, r.Item.Object, err, "writing %s: %v", r.Item.Dst, err)
		}
	}
	return results, nil
}

// download fetches and verifies one item, or finds it already in place.
func (c *Client) download(ctx context.Context, it Item, o FetchOptions) (Fetched, []byte, error) {
	r := Fetched{Item: it}
	op := operation{action: "s3:GetObject", timeout: o.Timeout}
	if o.Cache {
		if local, err := fileSHA256(it.Dst); err == nil {
			stored, err := c.storedChecksum(ctx, it.Object, op)
			switch {
			case err == nil && stored == local:
				r.SHA256, r.Verified, r.Cached = local, true, true
				if st, err := os.Stat(it.Dst); err == nil {
					r.Size = int(st.Size())
				}
				return r, nil, nil
			case err != nil && !IsKind(err, NotFound) && !IsKind(err, AccessDenied):
				return r, nil, c.explain(ctx, err, it, op)
			}
			// Otherwise GET: it downloads a changed object, and its error
			// tells a missing bucket from a missing key, which HEAD's
			// bodiless 404 cannot.
		}
	}
	var (
		body   []byte
		stored string
		err    error
	)
	for attempt := 1; ; attempt++ {
		var broken bool
		body, stored, broken, err = c.get(ctx, it.Object, o.MaxSize)
		if err == nil {
			break
		}
		if !broken || attempt == maxBodyAttempts || ctx.Err() != nil || !c.retryableBody(err) {
			return r, nil, c.explain(ctx, err, it, op)
		}
		delay, derr := c.bodyRetryer.RetryDelay(attempt, err)
		if derr != nil {
			return r, nil, c.explain(ctx, err, it, op)
		}
		select {
		case <-time.After(delay):
		case <-ctx.Done():
			return r, nil, c.explain(ctx, ctx.Err(), it, op)
		}
		r.Retries++
	}
	sum := sha256.Sum256(body)
	r.SHA256, r.Size = hex.EncodeToString(sum[:]), len(body)
	if stored != "" {
		if stored != r.SHA256 {
			return r, nil, newError(ChecksumMismatch, it.Object, nil,
				"%s: checksum mismatch: stored sha256 %s, downloaded %s (the object was changed or corrupted; push it again; %s was left unchanged)",
				it.Object, stored, r.SHA256, it.Dst)
		}
		r.Verified = true
	}
	if it.JSON {
		if err := checkJSON(body); err != nil {
			return r, nil, newError(InvalidJSON, it.Object, err,
				"%s: not valid JSON: %v (push a valid file again; %s was left unchanged)", it.Object, err, it.Dst)
		}
	}
	return r, body, nil
}

// get downloads obj. broken reports that the request succeeded but its
// body broke off, which the SDK does not retry.
func (c *Client) get(ctx context.Context, obj Object, maxSize int64) (body []byte, stored string, broken bool, err error) {
	out, err := c.s3.GetObject(ctx, &s3.GetObjectInput{
		Bucket:       aws.String(obj.Bucket),
		Key:          aws.String(obj.Key),
		ChecksumMode: types.ChecksumModeEnabled,
	})
	if err != nil {
		return nil, "", false, err
	}
	defer out.Body.Close()
	n := aws.ToInt64(out.ContentLength)
	if n > maxSize {
		return nil, "", false, tooLarge(obj, maxSize)
	}
	var buf bytes.Buffer
	buf.Grow(int(max(n, 0)) + bytes.MinRead)
	if _, err := buf.ReadFrom(io.LimitReader(out.Body, maxSize+1)); err != nil {
		if strings.Contains(err.Error(), "checksum did not match") {
			// The SDK checked S3's own checksum (CRC32, SHA-256, ...).
			return nil, "", false, newError(ChecksumMismatch, obj, err,
				"%s: checksum mismatch: %v (the object was changed or corrupted; push it again)", obj, err)
		}
		return nil, "", true, err
	}
	if int64(buf.Len()) > maxSize {
		return nil, "", false, tooLarge(obj, maxSize)
	}
	return buf.Bytes(), storedSHA256(out.Metadata, out.ChecksumSHA256), false, nil
}

func tooLarge(obj Object, maxSize int64) *Error {
	return newError(Other, obj, nil, "%s: larger than %d MiB, which is too large for a manifest (check the key)", obj, maxSize>>20)
}

// retryableBody reports whether a body that broke off is worth another
// try: the SDK's own rules for connection errors, plus a truncated body.
func (c *Client) retryableBody(err error) bool {
	return errors.Is(err, io.ErrUnexpectedEOF) || c.bodyRetryer.IsErrorRetryable(err)
}

// explain classifies err and gives a missing object the item's own message.
func (c *Client) explain(ctx context.Context, err error, it Item, op operation) error {
	e := classify(ctx, err, it.Object, op)
	if e.Kind == NotFound {
		what := it.What
		if what == "" {
			what = "object"
		}
		msg := fmt.Sprintf("assets: no %s at %s", what, it.Object)
		if it.Context != "" {
			msg += " (" + it.Context + ")"
		}
		if it.Hint != "" {
			msg += "; " + it.Hint
		}
		e = &Error{Kind: NotFound, Object: it.Object, Err: e.Err, Msg: msg}
	}
	return e
}

// checkJSON reports why data is not one valid JSON value.
func checkJSON(data []byte) error {
	if json.Valid(data) {
		return nil
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return errors.New("empty")
	}
	var v any
	err := json.Unmarshal(data, &v)
	var syn *json.SyntaxError
	if errors.As(err, &syn) {
		return fmt.Errorf("byte %d: %v", syn.Offset, syn)
	}
	if err != nil {
		return err
	}
	return errors.New("invalid")
}

// fileSHA256 returns the SHA-256 (hex) of the file at name.
func fileSHA256(name string) (string, error) {
	f, err := os.Open(name)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// writeAtomic replaces dst with data: a temporary file in dst's directory,
// fsync, rename. On failure dst is unchanged and the temporary file removed.
// A new file gets mode 0644; an existing one keeps its mode. A dst that is a
// symbolic link keeps the link: the file it points to is replaced.
func writeAtomic(dst string, data []byte) error {
	dst, err := atomicfile.Target(dst)
	if err != nil {
		return err
	}
	dir := filepath.Dir(dst)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return renameio.WriteFile(dst, data, 0o644, renameio.WithTempDir(dir))
}
