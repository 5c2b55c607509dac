package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/entryhq/entry/config"
	"github.com/entryhq/entry/internal/miniotest"
	"github.com/entryhq/entry/prehook"
)

// TestAssetsCommand runs `entry assets` and the start-up step as whole
// processes against one MinIO server.
func TestAssetsCommand(t *testing.T) {
	srv := miniotest.Start(t)
	const bucket = "entry-cmd-assets"
	srv.CreateBucket(t, bucket)
	awsEnv := append(srv.Env(), "AWS_CONFIG_FILE="+os.DevNull, "AWS_SHARED_CREDENTIALS_FILE="+os.DevNull)
	with := func(extra ...string) []string { return append(append([]string(nil), awsEnv...), extra...) }
	manifestFor := func(env, sha string) string {
		return fmt.Sprintf(`{"files":{},"assets":{"application.js":"application-%s.js"},"host":"%s"}`, sha, env)
	}
	entryYML := "assets:\n  bucket: " + bucket + "\n  prefix: app\n  manifests:\n    - dst: public/packs/manifest.json\n"
	url := func(env, sha string) string {
		return "s3://" + bucket + "/app/" + env + "/" + sha + "/manifest.json"
	}

	t.Run("push then fetch, two environments and two commits", func(t *testing.T) {
		ci := t.TempDir()
		for _, env := range []string{"production", "staging"} {
			for _, sha := range []string{"1111aaa", "2222bbb"} {
				writeFiles(t, ci, map[string]string{"public/packs/manifest.json": manifestFor(env, sha)})
				r := runEntry(t, ci, with("ENTRY_ASSETS_BUCKET="+bucket, "ENTRY_ASSETS_PREFIX=app"),
					"assets", "push", "--env", env, "--sha", sha, "public/packs/manifest.json")
				if r.code != 0 || r.stdout != url(env, sha)+"\n" {
					t.Fatalf("push %s %s: code %d\nstdout %q\nstderr %s", env, sha, r.code, r.stdout, r.stderr)
				}
				if !strings.Contains(r.stderr, "entry: assets: public/packs/manifest.json -> "+url(env, sha)+": uploaded (") {
					t.Errorf("push log: %s", r.stderr)
				}
			}
		}
		app := t.TempDir()
		writeFiles(t, app, map[string]string{"entry.yml": entryYML})
		for _, env := range []string{"production", "staging"} {
			for _, sha := range []string{"1111aaa", "2222bbb"} {
				r := runEntry(t, app, with("RAILS_ENV="+env, "ENTRY_REVISION="+sha), "assets", "fetch")
				if r.code != 0 {
					t.Fatalf("fetch %s %s: code %d: %s", env, sha, r.code, r.stderr)
				}
				wantLog := "entry: assets: fetched " + url(env, sha) + " -> public/packs/manifest.json ("
				if !strings.HasPrefix(r.stderr, wantLog) || strings.Count(r.stderr, "\n") != 1 {
					t.Errorf("fetch log %q, want one line starting %q", r.stderr, wantLog)
				}
				if got := assetsReadFile(t, filepath.Join(app, "public/packs/manifest.json")); got != manifestFor(env, sha) {
					t.Errorf("fetched %s for %s %s", got, env, sha)
				}
			}
		}
		// Again with the same commit: the cache avoids the download.
		r := runEntry(t, app, with("RAILS_ENV=staging", "ENTRY_REVISION=2222bbb"), "assets", "fetch")
		if r.code != 0 || !strings.HasPrefix(r.stderr, "entry: assets: public/packs/manifest.json is up to date with "+url("staging", "2222bbb")) {
			t.Errorf("second fetch: code %d: %s", r.code, r.stderr)
		}
	})

	t.Run("the start-up step fetches before the command runs", func(t *testing.T) {
		app := t.TempDir()
		writeFiles(t, app, map[string]string{"entry.yml": entryYML, "REVISION": "1111aaa\n"})
		r := runEntry(t, app, with("RAILS_ENV=production"), "--", "cat", "public/packs/manifest.json")
		if r.code != 0 || r.stdout != manifestFor("production", "1111aaa") {
			t.Fatalf("code %d\nstdout %q\nstderr %s", r.code, r.stdout, r.stderr)
		}
	})

	t.Run("--if-absent keeps what is there", func(t *testing.T) {
		ci := t.TempDir()
		writeFiles(t, ci, map[string]string{"manifest.json": manifestFor("production", "1111aaa")})
		args := []string{"assets", "push", "--bucket", bucket, "--prefix", "app", "--env", "production", "--sha", "1111aaa", "--if-absent", "manifest.json"}
		r := runEntry(t, ci, with(), args...)
		if r.code != 0 || r.stdout != url("production", "1111aaa")+"\n" || !strings.Contains(r.stderr, ": kept (already pushed, same checksum)") {
			t.Fatalf("same file: code %d\nstdout %q\nstderr %s", r.code, r.stdout, r.stderr)
		}
		// Other content fails with both checksums; S3 keeps the old object.
		writeFiles(t, ci, map[string]string{"manifest.json": `{"changed":true}`})
		r = runEntry(t, ci, with(), args...)
		want := fmt.Sprintf("entry: assets: %s: already there with other content: stored sha256 %s, manifest.json sha256 %s; nothing was uploaded (push without --if-absent to replace it, or add --keep-existing if keeping the stored one is intended)\n",
			url("production", "1111aaa"), sha256Of(manifestFor("production", "1111aaa")), sha256Of(`{"changed":true}`))
		if r.code != 1 || r.stderr != want || r.stdout != "" {
			t.Fatalf("other file: code %d\nstderr %s\nwant   %s", r.code, r.stderr, want)
		}
		if got := assetsGetObject(t, srv, bucket, "app/production/1111aaa/manifest.json"); got != manifestFor("production", "1111aaa") {
			t.Errorf("a conflicting --if-absent replaced the object with %s", got)
		}
		// --keep-existing says keeping it is intended.
		r = runEntry(t, ci, with(), append(args, "--keep-existing")...)
		if r.code != 0 || !strings.Contains(r.stderr, ": kept (an object with other content is already there, as --keep-existing asks)") {
			t.Fatalf("--keep-existing: code %d\nstderr %s", r.code, r.stderr)
		}
		r = runEntry(t, ci, with(), "assets", "push", "--bucket", bucket, "--env", "production", "--sha", "1111aaa", "--keep-existing", "manifest.json")
		if r.code != 2 || r.stderr != "entry: assets push: --keep-existing goes with --if-absent (without it, push replaces the object)\n" {
			t.Errorf("--keep-existing alone: code %d\nstderr %s", r.code, r.stderr)
		}
		if got := assetsGetObject(t, srv, bucket, "app/production/1111aaa/manifest.json"); got != manifestFor("production", "1111aaa") {
			t.Errorf("--if-absent replaced the object with %s", got)
		}
	})

	t.Run("bypassed in development without touching S3", func(t *testing.T) {
		app := t.TempDir()
		// No credentials, no endpoint, no revision: a bypass must not need them.
		writeFiles(t, app, map[string]string{"entry.yml": entryYML})
		for _, env := range [][]string{{"RAILS_ENV=development"}, {"RAILS_ENV=test"}, nil} {
			r := runEntry(t, app, env, "assets", "fetch")
			want := "entry: assets: bypassed: RAILS_ENV=development is in assets.skip_envs\n"
			switch {
			case len(env) == 0:
				want = "entry: assets: bypassed: RAILS_ENV is unset (Rails runs in development), which is in assets.skip_envs\n"
			case env[0] == "RAILS_ENV=test":
				want = "entry: assets: bypassed: RAILS_ENV=test is in assets.skip_envs\n"
			}
			if r.code != 0 || r.stderr != want {
				t.Errorf("%v: code %d, stderr %q, want %q", env, r.code, r.stderr, want)
			}
		}
		if _, err := os.Stat(filepath.Join(app, "public")); !os.IsNotExist(err) {
			t.Error("a bypassed fetch created the destination directory")
		}
		writeFiles(t, app, map[string]string{"entry.yml": entryYML + "  skip: true\n"})
		if r := runEntry(t, app, []string{"RAILS_ENV=production"}, "assets", "fetch"); r.code != 0 || r.stderr != "entry: assets: bypassed: assets.skip is true\n" {
			t.Errorf("skip: true: code %d, stderr %q", r.code, r.stderr)
		}
	})

	t.Run("one object by URL", func(t *testing.T) {
		dir := t.TempDir()
		r := runEntry(t, dir, with(), "assets", "fetch", url("staging", "1111aaa"), "out/m.json")
		if r.code != 0 || assetsReadFile(t, filepath.Join(dir, "out/m.json")) != manifestFor("staging", "1111aaa") {
			t.Fatalf("code %d: %s", r.code, r.stderr)
		}
	})

	t.Run("failures", func(t *testing.T) {
		assetsPutObject(t, srv, bucket, "app/production/badjson1/manifest.json", `{"files":`, nil)
		assetsPutObject(t, srv, bucket, "app/production/tamper1/manifest.json", `{"a":1}`, map[string]string{"sha256": strings.Repeat("0", 64)})
		assetsPutObject(t, srv, bucket, "app/production/big0001/manifest.json", strings.Repeat(" ", 300<<10)+"{}", nil)
		stall := miniotest.NewProxy(t, srv.Addr, func(int) miniotest.Fault {
			return miniotest.Fault{Kind: miniotest.Stall, AfterBody: 100 << 10}
		})
		closedAddr := closedPort(t)
		denied := srv.Restricted(t, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:PutObject"],"Resource":["arn:aws:s3:::*"]}]}`)
		cases := []struct {
			name, yml, sha string
			env            []string
			args           []string
			want           string
		}{
			{
				name: "no object", sha: "abc123",
				want: "entry: assets: no manifest at " + url("production", "abc123") +
					" (RAILS_ENV=production, revision abc123); was 'entry assets push' run for this commit?\n",
			},
			{
				name: "bucket missing", sha: "abc123",
				yml:  strings.Replace(entryYML, bucket, "no-such-bucket", 1),
				want: "entry: assets: s3://no-such-bucket/app/production/abc123/manifest.json: bucket no-such-bucket does not exist (check assets.bucket in entry.yml, the region and the endpoint)\n",
			},
			{
				name: "access denied", sha: "1111aaa",
				env: []string{"AWS_ACCESS_KEY_ID=" + denied.AccessKeyID, "AWS_SECRET_ACCESS_KEY=" + denied.SecretAccessKey, "AWS_SESSION_TOKEN=" + denied.SessionToken},
				want: "entry: assets: " + url("production", "1111aaa") + ": access denied (the credentials in use need s3:GetObject on arn:aws:s3:::" +
					bucket + "/app/production/1111aaa/manifest.json; without s3:ListBucket, S3 also reports a missing object this way)\n",
			},
			{
				name: "timeout", sha: "big0001",
				env:  []string{"AWS_ENDPOINT_URL_S3=" + stall.Endpoint},
				args: []string{"--timeout", "1s"},
				want: "entry: assets: " + url("production", "big0001") + ": timed out after 1s (raise --timeout or assets.timeout, or check the network path to S3)\n",
			},
			{
				name: "invalid JSON", sha: "badjson1",
				want: "entry: assets: " + url("production", "badjson1") + ": not valid JSON: byte 9: unexpected end of JSON input (push a valid file again; public/packs/manifest.json was left unchanged)\n",
			},
			{
				name: "checksum mismatch", sha: "tamper1",
				want: "entry: assets: " + url("production", "tamper1") + ": checksum mismatch: stored sha256 " + strings.Repeat("0", 64) +
					", downloaded 015abd7f5cc57a2dd94b7590f04ad8084273905ee33ec5cebeae62276a97f862 (the object was changed or corrupted; push it again; public/packs/manifest.json was left unchanged)\n",
			},
			{
				name: "no credentials", sha: "1111aaa",
				env:  []string{"AWS_ACCESS_KEY_ID=", "AWS_SECRET_ACCESS_KEY="},
				want: "entry: assets: " + url("production", "1111aaa") + ": no AWS credentials found (give the task or the CI job an IAM role, or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE)\n",
			},
			{
				name: "endpoint unreachable", sha: "1111aaa",
				env: []string{"AWS_ENDPOINT_URL_S3=http://" + closedAddr},
				want: "entry: assets: " + url("production", "1111aaa") + ": cannot connect to S3 at " + closedAddr +
					": connection refused (check the endpoint: AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL or assets.endpoint, and the network)\n",
			},
			{
				name: "no revision",
				want: "entry: assets: no revision: set ENTRY_REVISION, bake a REVISION file into the image (RUN echo $GIT_SHA > REVISION), or set assets.revision in entry.yml\n",
			},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				app := t.TempDir()
				yml := tc.yml
				if yml == "" {
					yml = entryYML
				}
				writeFiles(t, app, map[string]string{"entry.yml": yml, "public/packs/manifest.json": `{"previous":true}`})
				env := with("RAILS_ENV=production")
				if tc.sha != "" {
					env = append(env, "ENTRY_REVISION="+tc.sha)
				}
				r := runEntry(t, app, append(env, tc.env...), append([]string{"assets", "fetch"}, tc.args...)...)
				if r.code != 1 || r.stderr != tc.want {
					t.Errorf("code %d\nstderr %q\nwant   %q", r.code, r.stderr, tc.want)
				}
				if got := assetsReadFile(t, filepath.Join(app, "public/packs/manifest.json")); got != `{"previous":true}` {
					t.Errorf("destination changed to %q", got)
				}
				if entries, _ := os.ReadDir(filepath.Join(app, "public/packs")); len(entries) != 1 {
					t.Errorf("public/packs holds %d files, want only manifest.json", len(entries))
				}
			})
		}
	})

	t.Run("a transient 503 is retried", func(t *testing.T) {
		proxy := miniotest.NewProxy(t, srv.Addr, func(n int) miniotest.Fault {
			if n == 1 {
				return miniotest.Fault{Kind: miniotest.Unavailable}
			}
			return miniotest.Fault{Kind: miniotest.Pass}
		})
		app := t.TempDir()
		writeFiles(t, app, map[string]string{"entry.yml": entryYML})
		r := runEntry(t, app, with("AWS_ENDPOINT_URL="+proxy.Endpoint, "RAILS_ENV=production", "ENTRY_REVISION=2222bbb"), "assets", "fetch")
		if r.code != 0 || assetsReadFile(t, filepath.Join(app, "public/packs/manifest.json")) != manifestFor("production", "2222bbb") {
			t.Fatalf("code %d: %s", r.code, r.stderr)
		}
		if proxy.Connections() < 2 {
			t.Errorf("the proxy saw %d connection(s): no retry", proxy.Connections())
		}
	})

	t.Run("usage and config errors exit 2", func(t *testing.T) {
		dir := t.TempDir()
		writeFiles(t, dir, map[string]string{
			"m.json":       "{}",
			"nobucket.yml": "assets:\n  manifests:\n    - dst: public/packs/manifest.json\n",
			"badkey.yml":   "assets:\n  bucket: b\n  key: '{env}/{rev}/{name}'\n  manifests:\n    - dst: m.json\n",
		})
		cases := []struct {
			args []string
			want string
		}{
			{[]string{"assets"}, "entry: assets: missing subcommand: push or fetch (see 'entry assets --help')\n"},
			{[]string{"assets", "pull"}, "entry: assets: unknown subcommand \"pull\": want push or fetch (see 'entry assets --help')\n"},
			{[]string{"assets", "push", "--bucket", "b", "m.json"}, "entry: assets push: --env and --sha are required (the environment and commit the manifest is for)\n"},
			{[]string{"assets", "push", "--bucket", "b", "--env", "production", "--sha", "a/b", "m.json"}, "entry: assets push: m.json: revision \"a/b\": use only letters, digits, '.', '_' and '-'\n"},
			{[]string{"assets", "fetch", "--config", "nobucket.yml"}, "entry: nobucket.yml: assets.manifests needs assets.bucket (the bucket entry assets push uploads to)\n"},
			{[]string{"assets", "fetch", "--config", "badkey.yml"}, "entry: badkey.yml: assets.manifests[0]: \"{env}/{rev}/{name}\": unknown placeholder {rev} (the placeholders are {env}, {sha} and {name})\n"},
			{[]string{"assets", "fetch", "--path-style=maybe", "s3://b/k", "x"}, "entry: assets fetch: invalid argument \"maybe\" for \"--path-style\" flag: want true or false (also yes/no, on/off, 1/0) (see 'entry assets fetch --help')\n"},
			{[]string{"assets", "fetch"}, "entry: assets fetch: nothing to fetch: the config (no entry.yml found) has no assets.manifests or assets.fetch (or give s3://BUCKET/KEY DST)\n"},
		}
		for _, tc := range cases {
			r := runEntry(t, dir, nil, tc.args...)
			if r.code != 2 || r.stderr != tc.want {
				t.Errorf("%v: code %d\nstderr %q\nwant   %q", tc.args, r.code, r.stderr, tc.want)
			}
		}
	})
}

func assetsReadFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func assetsGetObject(t *testing.T, srv *miniotest.Server, bucket, key string) string {
	t.Helper()
	out, err := srv.Client("").GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		t.Fatal(err)
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func assetsPutObject(t *testing.T, srv *miniotest.Server, bucket, key, body string, meta map[string]string) {
	t.Helper()
	_, err := srv.Client("").PutObject(context.Background(), &s3.PutObjectInput{
		Bucket: aws.String(bucket), Key: aws.String(key), Body: strings.NewReader(body), Metadata: meta,
	})
	if err != nil {
		t.Fatal(err)
	}
}

// closedPort returns a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// TestAssetsStepPlan checks how the step resolves the environment and the
// revision, without the network.
func TestAssetsStepPlan(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir) // the REVISION file is read from the working directory
	cfg, err := config.Parse("entry.yml", []byte(`
assets:
  bucket: b
  prefix: p
  revision: fromconfig
  manifests:
    - dst: public/packs/manifest.json
    - name: sprockets-manifest.json
      dst: public/assets/.sprockets-manifest-00000000000000000000000000000000.json
  fetch:
    - src: s3://other/{env}/{sha}/settings.json
      dst: config/settings-{env}.json
`))
	if err != nil {
		t.Fatal(err)
	}
	step, err := prehook.NewAssetsStep(cfg)
	if err != nil || step == nil {
		t.Fatalf("step %v, err %v", step, err)
	}
	plan := func(env ...string) string { return strings.Join(step.Plan(prehook.EnvFromList(env)), "\n") }

	want := `fetch s3://b/p/production/fromconfig/manifest.json -> public/packs/manifest.json (RAILS_ENV=production, revision fromconfig)
fetch s3://b/p/production/fromconfig/sprockets-manifest.json -> public/assets/.sprockets-manifest-00000000000000000000000000000000.json (RAILS_ENV=production, revision fromconfig)
fetch s3://other/production/fromconfig/settings.json -> config/settings-production.json (RAILS_ENV=production, revision fromconfig)`
	if got := plan("RAILS_ENV=production"); got != want {
		t.Errorf("revision from config:\n%s\nwant\n%s", got, want)
	}
	writeFiles(t, dir, map[string]string{"REVISION": "fromfile\n"})
	if got := plan("RAILS_ENV=production"); !strings.Contains(got, "/production/fromfile/manifest.json") {
		t.Errorf("the REVISION file does not win over config:\n%s", got)
	}
	if got := plan("RAILS_ENV=staging", "ENTRY_REVISION=fromenv"); !strings.Contains(got, "s3://b/p/staging/fromenv/manifest.json") {
		t.Errorf("ENTRY_REVISION does not win over the REVISION file:\n%s", got)
	}
	if got := plan("RAILS_ENV=development", "ENTRY_REVISION=x"); got != "bypassed: RAILS_ENV=development is in assets.skip_envs" {
		t.Errorf("development: %s", got)
	}
	if got := plan("RAILS_ENV=production", "ENTRY_REVISION=a/b"); got != `cannot run: assets.manifests[0]: revision "a/b": use only letters, digits, '.', '_' and '-'` {
		t.Errorf("bad revision: %s", got)
	}

	// Another variable, other skip list.
	cfg.Assets.EnvVar, cfg.Assets.SkipEnvs = "APP_ENV", []string{"review"}
	step, _ = prehook.NewAssetsStep(cfg)
	if got := plan("APP_ENV=review"); got != "bypassed: APP_ENV=review is in assets.skip_envs" {
		t.Errorf("APP_ENV=review: %s", got)
	}
	if got := plan("APP_ENV=development", "RAILS_ENV=review"); !strings.Contains(got, "/development/fromfile/") {
		t.Errorf("APP_ENV=development is not skipped by skip_envs [review]:\n%s", got)
	}

	// Nothing configured: no step at all.
	if step, err := prehook.NewAssetsStep(&config.File{}); step != nil || err != nil {
		t.Errorf("empty section: step %v, err %v", step, err)
	}
}

func TestConfigCheckShowsTheAssetsPlan(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"entry.yml": "assets:\n  bucket: b\n  manifests:\n    - dst: public/packs/manifest.json\n"})
	r := runEntry(t, dir, []string{"RAILS_ENV=production", "ENTRY_REVISION=abc123"}, "config", "check", "--", "true")
	want := "assets: fetch s3://b/production/abc123/manifest.json -> public/packs/manifest.json (RAILS_ENV=production, revision abc123)"
	if r.code != 0 || !strings.Contains(r.stdout, want) {
		t.Errorf("code %d\nstdout %s\nstderr %s\nwant a line %q", r.code, r.stdout, r.stderr, want)
	}
}

func sha256Of(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// TestAssetsFetchBadArguments: a bad URL or DST on the command line is
// blamed on the command line, not on an entry.yml entry, with or without an
// entry.yml, and nothing is written.
func TestAssetsFetchBadArguments(t *testing.T) {
	for _, withConfig := range []bool{false, true} {
		dir := t.TempDir()
		if withConfig {
			writeFiles(t, dir, map[string]string{"entry.yml": "assets:\n  fetch:\n    - {src: 's3://b/{env}/x.json', dst: x.json}\n"})
		}
		for _, c := range []struct {
			args []string
			want string
		}{
			{[]string{"s3://bucket", "public/m.json"}, `entry: assets fetch: "s3://bucket" is not an s3://BUCKET/KEY URL (it needs a bucket and a key naming one object)` + "\n"},
			{[]string{"http://host/m.json", "public/m.json"}, `entry: assets fetch: "http://host/m.json" is not an s3://BUCKET/KEY URL` + "\n"},
			{[]string{"s3://bucket/app/m.json", "public/"}, `entry: assets fetch: DST "public/": name the file to write, such as public/m.json` + "\n"},
			{[]string{"s3://bucket/app/m.json", ""}, `entry: assets fetch: DST "": name the file to write, such as m.json` + "\n"},
		} {
			r := runEntry(t, dir, nil, append([]string{"assets", "fetch"}, c.args...)...)
			if r.code != exitUsage || r.stderr != c.want || r.stdout != "" {
				t.Errorf("config %v, %q: exit %d\nstderr %q\nwant   %q", withConfig, c.args, r.code, r.stderr, c.want)
			}
		}
		if _, err := os.Stat(filepath.Join(dir, "public")); !os.IsNotExist(err) {
			t.Errorf("a failed fetch created public/: %v", err)
		}
	}
}
