package assets_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/entryhq/entry/assets"
	"github.com/entryhq/entry/internal/miniotest"
	"github.com/entryhq/entry/internal/testtool"
)

func TestMain(m *testing.M) {
	// The client under test reads the standard AWS settings; point them at
	// MinIO's root user and away from the developer's own ~/.aws.
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID":           miniotest.AccessKey,
		"AWS_SECRET_ACCESS_KEY":       miniotest.SecretKey,
		"AWS_REGION":                  miniotest.Region,
		"AWS_CONFIG_FILE":             os.DevNull,
		"AWS_SHARED_CREDENTIALS_FILE": os.DevNull,
		"AWS_EC2_METADATA_DISABLED":   "true",
	} {
		os.Setenv(k, v)
	}
	os.Unsetenv("AWS_PROFILE")
	os.Unsetenv("AWS_SESSION_TOKEN")
	code := m.Run()
	miniotest.StopShared()
	os.Exit(code)
}

const bucket = "entry-assets"

// server returns the package's MinIO server with the test bucket.
func server(t testing.TB) *miniotest.Server {
	t.Helper()
	s := miniotest.Shared(t)
	s.CreateBucket(t, bucket)
	return s
}

// client returns an assets client for endpoint (the server or a proxy).
func client(t testing.TB, endpoint string) *assets.Client {
	t.Helper()
	c, err := assets.NewClient(context.Background(), assets.Options{Endpoint: endpoint})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// uniquePrefix keeps tests sharing one bucket apart.
// uniquePrefix gives each test its own keys in the shared bucket, also
// when -count runs it again against the same server.
func uniquePrefix(t testing.TB) string {
	return fmt.Sprintf("%s-%d", strings.ReplaceAll(strings.ToLower(t.Name()), "/", "-"), prefixRuns.Add(1))
}

var prefixRuns atomic.Int64

// manifest returns a Sprockets-style manifest of about size bytes whose
// asset host names env and sha.
func manifest(env, sha string, size int) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, `{"files":{`)
	for i := 0; b.Len() < size-200; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		digest := sha256.Sum256([]byte(fmt.Sprint(env, sha, i)))
		fmt.Fprintf(&b, `"application-%x.js":{"logical_path":"application%d.js","mtime":"2024-01-01T00:00:00+00:00","size":%d,"digest":"%x","integrity":"sha256-%s"}`,
			digest[:16], i, 1000+i, digest, base64.StdEncoding.EncodeToString(digest[:]))
	}
	fmt.Fprintf(&b, `},"assets":{"application.js":"application.js"},"asset_host":"https://%s-%s.cdn.example"}`, env, sha)
	return b.Bytes()
}

func writeFile(t testing.TB, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func readFile(t testing.TB, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestPushThenFetchTwoEnvironmentsTwoCommits(t *testing.T) {
	s := server(t)
	c := client(t, s.Endpoint)
	ctx := context.Background()
	prefix := uniquePrefix(t)
	layout := assets.Layout{Bucket: bucket, Prefix: prefix + "/manifests/"}
	src := t.TempDir()
	envs, shas := []string{"production", "staging"}, []string{"0a1b2c3", "4d5e6f7"}

	for _, env := range envs {
		for _, sha := range shas {
			file := filepath.Join(src, env+"-"+sha, "manifest.json")
			writeFile(t, file, manifest(env, sha, 2000))
			obj, err := layout.Object(env, sha, "manifest.json")
			if err != nil {
				t.Fatal(err)
			}
			want := "s3://" + bucket + "/" + prefix + "/manifests/" + env + "/" + sha + "/manifest.json"
			if obj.String() != want {
				t.Fatalf("object = %s, want %s", obj, want)
			}
			p, err := c.Push(ctx, file, obj, assets.PushOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if p.Status != assets.Uploaded {
				t.Fatalf("push status = %v", p.Status)
			}
		}
	}

	// What S3 holds: Content-Type and both checksums.
	obj, _ := layout.Object("production", shas[0], "manifest.json")
	head, err := s.Client("").HeadObject(ctx, &s3.HeadObjectInput{
		Bucket: aws.String(obj.Bucket), Key: aws.String(obj.Key), ChecksumMode: types.ChecksumModeEnabled,
	})
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(manifest("production", shas[0], 2000))
	if got := aws.ToString(head.ContentType); got != "application/json" {
		t.Errorf("Content-Type = %q", got)
	}
	if got := head.Metadata["sha256"]; got != hex.EncodeToString(sum[:]) {
		t.Errorf("x-amz-meta-sha256 = %q", got)
	}
	if got := aws.ToString(head.ChecksumSHA256); got != base64.StdEncoding.EncodeToString(sum[:]) {
		t.Errorf("ChecksumSHA256 = %q", got)
	}

	// Each environment and commit gets its own manifest.
	dst := filepath.Join(t.TempDir(), "public", "packs", "manifest.json")
	for _, env := range envs {
		for _, sha := range shas {
			obj, _ := layout.Object(env, sha, "manifest.json")
			got, err := c.Fetch(ctx, []assets.Item{{Object: obj, Dst: dst, JSON: true}}, assets.FetchOptions{Cache: true})
			if err != nil {
				t.Fatal(err)
			}
			if !got[0].Verified || got[0].Cached {
				t.Errorf("%s/%s: fetched = %+v, want verified and downloaded", env, sha, got[0])
			}
			if readFile(t, dst) != string(manifest(env, sha, 2000)) {
				t.Fatalf("%s/%s: destination holds another manifest", env, sha)
			}
		}
	}
	if names := testtool.DirNames(t, filepath.Dir(dst)); len(names) != 1 {
		t.Errorf("destination directory holds %v, want only manifest.json", names)
	}
}

func TestPushIfAbsent(t *testing.T) {
	s := server(t)
	c := client(t, s.Endpoint)
	ctx := context.Background()
	obj := assets.Object{Bucket: bucket, Key: uniquePrefix(t) + "/production/abc123/manifest.json"}
	dir := t.TempDir()
	first, second := filepath.Join(dir, "a", "manifest.json"), filepath.Join(dir, "b", "manifest.json")
	writeFile(t, first, []byte(`{"v":1}`))
	writeFile(t, second, []byte(`{"v":2}`))

	push := func(file string, ifAbsent bool) assets.PushStatus {
		t.Helper()
		p, err := c.Push(ctx, file, obj, assets.PushOptions{IfAbsent: ifAbsent, KeepDifferent: ifAbsent})
		if err != nil {
			t.Fatal(err)
		}
		return p.Status
	}
	stored := func() string {
		t.Helper()
		out, err := s.Client("").GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(obj.Bucket), Key: aws.String(obj.Key)})
		if err != nil {
			t.Fatal(err)
		}
		defer out.Body.Close()
		var b bytes.Buffer
		b.ReadFrom(out.Body)
		return b.String()
	}

	if st := push(first, true); st != assets.Uploaded {
		t.Fatalf("first push --if-absent: %v, want uploaded", st)
	}
	if st := push(first, true); st != assets.Kept {
		t.Errorf("same file again --if-absent: %v, want kept", st)
	}
	if st := push(second, true); st != assets.KeptDifferent {
		t.Errorf("other file --if-absent: %v, want kept (different)", st)
	}
	if got := stored(); got != `{"v":1}` {
		t.Errorf("after --if-absent pushes S3 holds %s, want the first file", got)
	}
	// Without KeepDifferent, other content is a conflict naming both
	// checksums, and S3 keeps the first file.
	_, err := c.Push(ctx, second, obj, assets.PushOptions{IfAbsent: true})
	want := fmt.Sprintf("assets: %s: already there with other content: stored sha256 %s, %s sha256 %s; nothing was uploaded (push without --if-absent to replace it, or add --keep-existing if keeping the stored one is intended)",
		obj, sha256hex(`{"v":1}`), second, sha256hex(`{"v":2}`))
	if !assets.IsKind(err, assets.Conflict) || err.Error() != want {
		t.Errorf("other file --if-absent:\n got %v\nwant %s", err, want)
	}
	if got := stored(); got != `{"v":1}` {
		t.Errorf("after a conflict S3 holds %s, want the first file", got)
	}
	if st := push(second, false); st != assets.Uploaded {
		t.Errorf("push without --if-absent: %v, want uploaded", st)
	}
	if got := stored(); got != `{"v":2}` {
		t.Errorf("after a plain push S3 holds %s, want the second file", got)
	}
}

func TestPushRefusesInvalidJSON(t *testing.T) {
	s := server(t)
	c := client(t, s.Endpoint)
	file := filepath.Join(t.TempDir(), "manifest.json")
	writeFile(t, file, []byte(`{"files": {`))
	obj := assets.Object{Bucket: bucket, Key: uniquePrefix(t) + "/manifest.json"}
	_, err := c.Push(context.Background(), file, obj, assets.PushOptions{})
	want := "assets: " + file + ": not valid JSON: byte 11: unexpected end of JSON input (nothing was uploaded)"
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v\nwant %s", err, want)
	}
	_, herr := s.Client("").HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: aws.String(obj.Bucket), Key: aws.String(obj.Key)})
	if herr == nil {
		t.Error("an invalid manifest was uploaded")
	}
}

func TestFetchCache(t *testing.T) {
	s := server(t)
	c := client(t, s.Endpoint)
	ctx := context.Background()
	obj := assets.Object{Bucket: bucket, Key: uniquePrefix(t) + "/manifest.json"}
	src := filepath.Join(t.TempDir(), "manifest.json")
	writeFile(t, src, []byte(`{"v":1}`))
	if _, err := c.Push(ctx, src, obj, assets.PushOptions{}); err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(t.TempDir(), "manifest.json")
	items := []assets.Item{{Object: obj, Dst: dst, JSON: true}}
	fetch := func(cache bool) assets.Fetched {
		t.Helper()
		got, err := c.Fetch(ctx, items, assets.FetchOptions{Cache: cache})
		if err != nil {
			t.Fatal(err)
		}
		return got[0]
	}
	if f := fetch(true); f.Cached {
		t.Fatal("first fetch reported a cache hit")
	}
	old := time.Now().Add(-time.Hour)
	os.Chtimes(dst, old, old)
	if f := fetch(true); !f.Cached {
		t.Error("second fetch downloaded again")
	}
	if st, _ := os.Stat(dst); !st.ModTime().Equal(old) {
		t.Error("a cache hit rewrote the destination")
	}
	if f := fetch(false); f.Cached {
		t.Error("fetch without the cache reported a cache hit")
	}
	// A changed object is downloaded again.
	writeFile(t, src, []byte(`{"v":2}`))
	if _, err := c.Push(ctx, src, obj, assets.PushOptions{}); err != nil {
		t.Fatal(err)
	}
	if f := fetch(true); f.Cached || readFile(t, dst) != `{"v":2}` {
		t.Errorf("changed object: cached=%v, destination %s", f.Cached, readFile(t, dst))
	}
}

// failure is one fetch that must fail with msg and leave the destination
// as it was.
type failure struct {
	name     string
	endpoint func(t *testing.T, s *miniotest.Server) string // "" means the server
	setup    func(t *testing.T, s *miniotest.Server, obj assets.Object)
	obj      func(prefix string) assets.Object
	timeout  time.Duration
	kind     assets.Kind
	msg      string // %[1]s is the object, %[2]s the destination
}

func TestFetchFailuresLeaveDestinationUntouched(t *testing.T) {
	inPrefix := func(rest string) func(string) assets.Object {
		return func(prefix string) assets.Object {
			return assets.Object{Bucket: bucket, Key: prefix + "/" + rest}
		}
	}
	put := func(body string, meta map[string]string) func(*testing.T, *miniotest.Server, assets.Object) {
		return func(t *testing.T, s *miniotest.Server, obj assets.Object) {
			_, err := s.Client("").PutObject(context.Background(), &s3.PutObjectInput{
				Bucket: aws.String(obj.Bucket), Key: aws.String(obj.Key), Body: strings.NewReader(body), Metadata: meta,
			})
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	large := string(manifest("production", "abc123", 200<<10))
	cases := []failure{
		{
			name: "no object",
			obj:  inPrefix("production/abc123/manifest.json"),
			kind: assets.NotFound,
			msg:  "assets: no manifest at %[1]s (RAILS_ENV=production, revision abc123); was 'entry assets push' run for this commit?",
		},
		{
			name: "bucket missing",
			obj: func(prefix string) assets.Object {
				return assets.Object{Bucket: "no-such-bucket", Key: prefix + "/m.json"}
			},
			kind: assets.NoBucket,
			msg:  "assets: %[1]s: bucket no-such-bucket does not exist (check assets.bucket in entry.yml, the region and the endpoint)",
		},
		{
			name:  "invalid JSON",
			obj:   inPrefix("invalid.json"),
			setup: put("{\"files\": nope}", nil),
			kind:  assets.InvalidJSON,
			msg:   "assets: %[1]s: not valid JSON: byte 12: invalid character 'o' in literal null (expecting 'u') (push a valid file again; %[2]s was left unchanged)",
		},
		{
			name:  "checksum mismatch",
			obj:   inPrefix("tampered.json"),
			setup: put(`{"tampered":true}`, map[string]string{"sha256": strings.Repeat("ab", 32)}),
			kind:  assets.ChecksumMismatch,
			msg: "assets: %[1]s: checksum mismatch: stored sha256 " + strings.Repeat("ab", 32) + ", downloaded " +
				sha256hex(`{"tampered":true}`) + " (the object was changed or corrupted; push it again; %[2]s was left unchanged)",
		},
		{
			name:  "server stalls mid-body",
			obj:   inPrefix("stalled.json"),
			setup: put(large, nil),
			endpoint: func(t *testing.T, s *miniotest.Server) string {
				return miniotest.NewProxy(t, s.Addr, func(int) miniotest.Fault {
					return miniotest.Fault{Kind: miniotest.Stall, AfterBody: 64 << 10}
				}).Endpoint
			},
			timeout: time.Second,
			kind:    assets.Timeout,
			msg:     "assets: %[1]s: timed out after 1s (raise --timeout or assets.timeout, or check the network path to S3)",
		},
		{
			name:  "server never answers (the cache's HEAD times out)",
			obj:   inPrefix("hang.json"),
			setup: put(`{}`, nil),
			endpoint: func(t *testing.T, s *miniotest.Server) string {
				return miniotest.NewProxy(t, s.Addr, func(int) miniotest.Fault {
					return miniotest.Fault{Kind: miniotest.Hang}
				}).Endpoint
			},
			timeout: time.Second,
			kind:    assets.Timeout,
			msg:     "assets: %[1]s: timed out after 1s (raise --timeout or assets.timeout, or check the network path to S3)",
		},
		{
			name:  "server keeps answering 503",
			obj:   inPrefix("unavailable.json"),
			setup: put(`{}`, nil),
			endpoint: func(t *testing.T, s *miniotest.Server) string {
				return miniotest.NewProxy(t, s.Addr, func(int) miniotest.Fault {
					return miniotest.Fault{Kind: miniotest.Unavailable}
				}).Endpoint
			},
			kind: assets.Unavailable,
			msg:  "assets: %[1]s: S3 answered 503 ServiceUnavailable: Service Unavailable on each of 3 attempts (a transient failure that lasted; try again, and check the endpoint and S3's health)",
		},
	}
	s := server(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			obj := tc.obj(uniquePrefix(t))
			if tc.setup != nil {
				tc.setup(t, s, obj)
			}
			endpoint := s.Endpoint
			if tc.endpoint != nil {
				endpoint = tc.endpoint(t, s)
			}
			checkFailure(t, client(t, endpoint), obj, tc.timeout, tc.kind, tc.msg)
		})
	}

	t.Run("access denied", func(t *testing.T) {
		obj := inPrefix("production/abc123/manifest.json")(uniquePrefix(t))
		put(`{}`, nil)(t, s, obj)
		creds := s.Restricted(t, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:PutObject"],"Resource":["arn:aws:s3:::*"]}]}`)
		t.Setenv("AWS_ACCESS_KEY_ID", creds.AccessKeyID)
		t.Setenv("AWS_SECRET_ACCESS_KEY", creds.SecretAccessKey)
		t.Setenv("AWS_SESSION_TOKEN", creds.SessionToken)
		checkFailure(t, client(t, s.Endpoint), obj, 0, assets.AccessDenied,
			"assets: %[1]s: access denied (the credentials in use need s3:GetObject on arn:aws:s3:::"+obj.Bucket+"/"+obj.Key+
				"; without s3:ListBucket, S3 also reports a missing object this way)")
	})

	t.Run("one of two items missing", func(t *testing.T) {
		c := client(t, s.Endpoint)
		prefix := uniquePrefix(t)
		present := assets.Object{Bucket: bucket, Key: prefix + "/present.json"}
		put(`{"new":true}`, nil)(t, s, present)
		dir := t.TempDir()
		first, second := filepath.Join(dir, "first.json"), filepath.Join(dir, "second.json")
		writeFile(t, first, []byte(`{"old":1}`))
		writeFile(t, second, []byte(`{"old":2}`))
		_, err := c.Fetch(context.Background(), []assets.Item{
			{Object: present, Dst: first, JSON: true},
			{Object: assets.Object{Bucket: bucket, Key: prefix + "/absent.json"}, Dst: second, JSON: true},
		}, assets.FetchOptions{})
		if !assets.IsKind(err, assets.NotFound) {
			t.Fatalf("err = %v, want not found", err)
		}
		if readFile(t, first) != `{"old":1}` || readFile(t, second) != `{"old":2}` {
			t.Error("a failed fetch wrote one of its destinations")
		}
		if names := testtool.DirNames(t, dir); len(names) != 2 {
			t.Errorf("directory holds %v after a failed fetch", names)
		}
	})
}

func checkFailure(t *testing.T, c *assets.Client, obj assets.Object, timeout time.Duration, kind assets.Kind, msg string) {
	t.Helper()
	dir := t.TempDir()
	dst := filepath.Join(dir, "manifest.json")
	writeFile(t, dst, []byte(`{"previous":true}`))
	_, err := c.Fetch(context.Background(), []assets.Item{{
		Object: obj, Dst: dst, JSON: true, What: "manifest",
		Context: "RAILS_ENV=production, revision abc123",
		Hint:    "was 'entry assets push' run for this commit?",
	}}, assets.FetchOptions{Timeout: timeout, Cache: true})
	want := fmt.Sprintf(msg, obj, dst)
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v\nwant  %s", err, want)
	}
	if !assets.IsKind(err, kind) {
		t.Errorf("error kind is not %d", kind)
	}
	if got := readFile(t, dst); got != `{"previous":true}` {
		t.Errorf("destination changed to %q", got)
	}
	if names := testtool.DirNames(t, dir); len(names) != 1 {
		t.Errorf("directory holds %v, want only manifest.json", names)
	}
}

func sha256hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func TestFetchRetriesTransientErrors(t *testing.T) {
	s := server(t)
	ctx := context.Background()
	obj := assets.Object{Bucket: bucket, Key: uniquePrefix(t) + "/manifest.json"}
	src := filepath.Join(t.TempDir(), "manifest.json")
	body := manifest("production", "abc123", 200<<10)
	writeFile(t, src, body)
	if _, err := client(t, s.Endpoint).Push(ctx, src, obj, assets.PushOptions{}); err != nil {
		t.Fatal(err)
	}

	t.Run("503 then success, retried by the SDK", func(t *testing.T) {
		proxy := miniotest.NewProxy(t, s.Addr, func(n int) miniotest.Fault {
			if n == 1 {
				return miniotest.Fault{Kind: miniotest.Unavailable}
			}
			return miniotest.Fault{Kind: miniotest.Pass}
		})
		dst := filepath.Join(t.TempDir(), "manifest.json")
		got, err := client(t, proxy.Endpoint).Fetch(ctx, []assets.Item{{Object: obj, Dst: dst, JSON: true}}, assets.FetchOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if proxy.Connections() < 2 {
			t.Errorf("the proxy saw %d connections; the 503 was not retried", proxy.Connections())
		}
		if !got[0].Verified || readFile(t, dst) != string(body) {
			t.Error("the retried download is not the manifest")
		}
	})

	t.Run("body cut short, downloaded again", func(t *testing.T) {
		proxy := miniotest.NewProxy(t, s.Addr, func(n int) miniotest.Fault {
			if n == 1 {
				return miniotest.Fault{Kind: miniotest.Cut, AfterBody: 50 << 10}
			}
			return miniotest.Fault{Kind: miniotest.Pass}
		})
		dst := filepath.Join(t.TempDir(), "manifest.json")
		got, err := client(t, proxy.Endpoint).Fetch(ctx, []assets.Item{{Object: obj, Dst: dst, JSON: true}}, assets.FetchOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if got[0].Retries != 1 {
			t.Errorf("retries = %d, want 1", got[0].Retries)
		}
		if readFile(t, dst) != string(body) {
			t.Error("the retried download is not the manifest")
		}
	})
}

func TestUnavailableIsRetriedAFewTimesOnly(t *testing.T) {
	s := server(t)
	proxy := miniotest.NewProxy(t, s.Addr, func(int) miniotest.Fault { return miniotest.Fault{Kind: miniotest.Unavailable} })
	obj := assets.Object{Bucket: bucket, Key: uniquePrefix(t) + "/m.json"}
	_, err := client(t, proxy.Endpoint).Fetch(context.Background(),
		[]assets.Item{{Object: obj, Dst: filepath.Join(t.TempDir(), "m.json")}}, assets.FetchOptions{})
	if err == nil {
		t.Fatal("fetch through a server that always answers 503 succeeded")
	}
	// The SDK's standard retryer makes 3 attempts, each on a new
	// connection since the 503 closes it.
	if n := proxy.Connections(); n != 3 {
		t.Errorf("%d attempts, want the SDK's 3", n)
	}
}

// TestFetchFollowsSymlinkedDst: a dst that is a symbolic link keeps the
// link and the file it points to is replaced, atomically in its own
// directory; a link into a missing directory fails and writes nothing.
func TestFetchFollowsSymlinkedDst(t *testing.T) {
	s := server(t)
	c := client(t, s.Endpoint)
	ctx := context.Background()
	obj := assets.Object{Bucket: bucket, Key: uniquePrefix(t) + "/manifest.json"}
	src := filepath.Join(t.TempDir(), "manifest.json")
	writeFile(t, src, []byte(`{"v":1}`))
	if _, err := c.Push(ctx, src, obj, assets.PushOptions{}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	shm := filepath.Join(dir, "shm")
	writeFile(t, filepath.Join(shm, "manifest.json"), []byte(`{"old":true}`))
	dst := filepath.Join(dir, "public", "manifest.json")
	os.MkdirAll(filepath.Dir(dst), 0o755)
	if err := os.Symlink(filepath.Join(shm, "manifest.json"), dst); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Fetch(ctx, []assets.Item{{Object: obj, Dst: dst, JSON: true}}, assets.FetchOptions{}); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Lstat(dst); err != nil || st.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the link was replaced: %v", err)
	}
	if got := readFile(t, filepath.Join(shm, "manifest.json")); got != `{"v":1}` {
		t.Errorf("the link's target holds %s", got)
	}
	if names := testtool.DirNames(t, shm); len(names) != 1 {
		t.Errorf("%s holds %v, want only manifest.json", shm, names)
	}

	broken := filepath.Join(dir, "public", "unmounted.json")
	if err := os.Symlink(filepath.Join(dir, "run", "m.json"), broken); err != nil {
		t.Fatal(err)
	}
	_, err := c.Fetch(ctx, []assets.Item{{Object: obj, Dst: broken, JSON: true}}, assets.FetchOptions{})
	want := fmt.Sprintf("assets: writing %s: a symbolic link to %s, whose directory %s does not exist (is the file system it is on mounted?); nothing was written",
		broken, filepath.Join(dir, "run", "m.json"), filepath.Join(dir, "run"))
	if err == nil || err.Error() != want {
		t.Errorf("link into a missing directory:\n got %v\nwant %s", err, want)
	}
	if _, err := os.Lstat(filepath.Join(dir, "run")); !os.IsNotExist(err) {
		t.Errorf("the missing directory was created: %v", err)
	}
}
