package miniotest

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

func TestServerAndProxy(t *testing.T) {
	s := Start(t)
	s.CreateBucket(t, "harness")
	s.CreateBucket(t, "harness") // again: already owned is fine
	ctx := context.Background()
	body := strings.Repeat("x", 100<<10)
	if _, err := s.Client("").PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String("harness"), Key: aws.String("k"), Body: strings.NewReader(body),
	}); err != nil {
		t.Fatal(err)
	}
	get := func(endpoint string, timeout time.Duration) (string, error) {
		ctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		out, err := s.Client(endpoint).GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("harness"), Key: aws.String("k")})
		if err != nil {
			return "", err
		}
		defer out.Body.Close()
		b, err := io.ReadAll(out.Body)
		return string(b), err
	}

	pass := NewProxy(t, s.Addr, func(int) Fault { return Fault{Kind: Pass} })
	if got, err := get(pass.Endpoint, 10*time.Second); err != nil || got != body {
		t.Errorf("through Pass: %d bytes, %v", len(got), err)
	}

	unavailable := NewProxy(t, s.Addr, func(int) Fault { return Fault{Kind: Unavailable} })
	resp, err := http.Get(unavailable.Endpoint + "/harness/k")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("Unavailable answered %d", resp.StatusCode)
	}

	stall := NewProxy(t, s.Addr, func(int) Fault { return Fault{Kind: Stall, AfterBody: 1000} })
	if _, err := get(stall.Endpoint, 500*time.Millisecond); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("through Stall: %v, want a deadline error", err)
	}

	cut := NewProxy(t, s.Addr, func(int) Fault { return Fault{Kind: Cut, AfterBody: 1000} })
	if got, err := get(cut.Endpoint, 10*time.Second); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("through Cut: %d bytes, %v, want an unexpected EOF", len(got), err)
	}
}

func TestSharedIsOneServer(t *testing.T) {
	a, b := Shared(t), Shared(t)
	if a != b {
		t.Error("Shared started two servers")
	}
	StopShared()
	if c := Shared(t); c == a {
		t.Error("Shared returned a stopped server")
	}
	StopShared()
}
