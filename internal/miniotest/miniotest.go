// Package miniotest runs a real MinIO server for tests that talk to S3.
//
// Start launches /root/go/bin/minio (found through testtool.Require, so a
// missing binary skips the test, or fails it under scripts/test) on
// 127.0.0.1 with a temporary data directory, waits until it is ready and
// stops it when the test ends. Shared starts one server per test binary and
// hands the same one to every test; call StopShared from TestMain.
//
// Tests reach the server through the AWS SDK's ordinary settings: Env
// returns AWS_ENDPOINT_URL, credentials and a region, and Client returns an
// S3 client configured the same way.
package miniotest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/entryhq/entry/internal/testtool"
)

// Credentials of the root user of every test server. MinIO wants a password
// of at least 8 characters.
const (
	AccessKey = "entrytest"
	SecretKey = "entrytest-secret"
	Region    = "us-east-1"
)

// startTimeout bounds how long Start waits for the server to be ready.
const startTimeout = 30 * time.Second

// A Server is one running MinIO process.
type Server struct {
	// Endpoint is the server's base URL, http://127.0.0.1:PORT.
	Endpoint string
	// Addr is its host:port.
	Addr string

	cmd  *exec.Cmd
	dir  string
	log  *testtool.SyncBuffer
	done chan struct{}
}

// Start starts a server that stops when t ends.
func Start(t testing.TB) *Server {
	t.Helper()
	s, err := start(testtool.Require(t, "minio"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	return s
}

var shared struct {
	sync.Mutex
	srv *Server
	err error
}

// Shared returns the test binary's one server, starting it on first use.
// The test package's TestMain must call StopShared after m.Run.
func Shared(t testing.TB) *Server {
	t.Helper()
	bin := testtool.Require(t, "minio")
	shared.Lock()
	defer shared.Unlock()
	if shared.srv == nil && shared.err == nil {
		shared.srv, shared.err = start(bin)
	}
	if shared.err != nil {
		t.Fatal(shared.err)
	}
	return shared.srv
}

// StopShared stops the server Shared started, if any.
func StopShared() {
	shared.Lock()
	defer shared.Unlock()
	if shared.srv != nil {
		shared.srv.Stop()
		shared.srv = nil
	}
}

// start launches minio on a free port, retrying with another port when the
// one picked was taken in between.
func start(bin string) (*Server, error) {
	var err error
	for range 3 {
		var s *Server
		if s, err = startOnce(bin); err == nil {
			return s, nil
		}
	}
	return nil, err
}

func startOnce(bin string) (*Server, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "entry-minio-")
	if err != nil {
		return nil, err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	s := &Server{Endpoint: "http://" + addr, Addr: addr, dir: dir, log: &testtool.SyncBuffer{}, done: make(chan struct{})}
	s.cmd = exec.Command(bin, "server", "--quiet", "--address", addr, filepath.Join(dir, "data"))
	s.cmd.Env = append(os.Environ(),
		"MINIO_ROOT_USER="+AccessKey,
		"MINIO_ROOT_PASSWORD="+SecretKey,
		"MINIO_BROWSER=off",
		"MINIO_UPDATE=off",
		"HOME="+dir, // MinIO keeps its client config under $HOME/.minio
	)
	s.cmd.Stdout, s.cmd.Stderr = s.log, s.log
	// The server must not outlive a test binary killed before its cleanup.
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := s.cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("miniotest: starting %s: %v", bin, err)
	}
	go func() { s.cmd.Wait(); close(s.done) }()
	if err := s.waitReady(); err != nil {
		s.Stop()
		return nil, err
	}
	return s, nil
}

// waitReady polls the readiness endpoint until it answers 200, the process
// exits, or startTimeout passes.
func (s *Server) waitReady() error {
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(startTimeout)
	for time.Now().Before(deadline) {
		select {
		case <-s.done:
			return fmt.Errorf("miniotest: minio exited during start-up: %s", s.log.String())
		default:
		}
		resp, err := client.Get(s.Endpoint + "/minio/health/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("miniotest: minio not ready on %s after %v", s.Addr, startTimeout)
}

// Stop kills the server and removes its data directory. It may be called
// more than once.
func (s *Server) Stop() {
	if s.cmd.Process != nil {
		s.cmd.Process.Kill()
		select {
		case <-s.done:
		case <-time.After(10 * time.Second):
		}
	}
	os.RemoveAll(s.dir)
}

// Env returns the environment that points the AWS SDK (and the aws CLI's
// newer versions) at this server with the root credentials.
func (s *Server) Env() []string {
	return []string{
		"AWS_ENDPOINT_URL=" + s.Endpoint,
		"AWS_ACCESS_KEY_ID=" + AccessKey,
		"AWS_SECRET_ACCESS_KEY=" + SecretKey,
		"AWS_REGION=" + Region,
		"AWS_EC2_METADATA_DISABLED=true",
	}
}

// Client returns an S3 client for this server with the root credentials
// (or endpoint, when not "", such as a proxy in front of the server).
func (s *Server) Client(endpoint string) *s3.Client {
	if endpoint == "" {
		endpoint = s.Endpoint
	}
	return s3.New(s3.Options{
		Region:       Region,
		BaseEndpoint: aws.String(endpoint),
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider(AccessKey, SecretKey, ""),
	})
}

// CreateBucket creates bucket, which may already exist.
func (s *Server) CreateBucket(t testing.TB, bucket string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := s.Client("").CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)})
	var owned interface{ ErrorCode() string }
	if err != nil && !(errors.As(err, &owned) && owned.ErrorCode() == "BucketAlreadyOwnedByYou") {
		t.Fatalf("miniotest: creating bucket %s: %v", bucket, err)
	}
}

// Restricted returns temporary credentials limited to policy (an IAM policy
// document), obtained through MinIO's STS AssumeRole with the root user, for
// tests of what a role without a permission sees.
func (s *Server) Restricted(t testing.TB, policy string) aws.Credentials {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c := sts.New(sts.Options{
		Region:       Region,
		BaseEndpoint: aws.String(s.Endpoint),
		Credentials:  credentials.NewStaticCredentialsProvider(AccessKey, SecretKey, ""),
	})
	out, err := c.AssumeRole(ctx, &sts.AssumeRoleInput{
		RoleArn:         aws.String("arn:aws:iam::000000000000:role/entry-test"),
		RoleSessionName: aws.String("entry-test"),
		Policy:          aws.String(policy),
	})
	if err != nil {
		t.Fatalf("miniotest: AssumeRole: %v", err)
	}
	return aws.Credentials{
		AccessKeyID:     aws.ToString(out.Credentials.AccessKeyId),
		SecretAccessKey: aws.ToString(out.Credentials.SecretAccessKey),
		SessionToken:    aws.ToString(out.Credentials.SessionToken),
	}
}

// Log returns what the server printed so far, for failure messages.
func (s *Server) Log() string { return s.log.String() }

// freePort asks the kernel for a free port on 127.0.0.1.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
