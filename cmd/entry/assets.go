package main

import (
	"context"
	"fmt"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/entryhq/entry/assets"
	"github.com/entryhq/entry/config"
	"github.com/entryhq/entry/prehook"
)

const assetsUsage = `Usage: entry assets push [flags] --env ENV --sha SHA FILE...
       entry assets fetch [flags] [s3://BUCKET/KEY DST]

push (from CI) uploads each FILE to s3://BUCKET/PREFIX/ENV/SHA/NAME (the key
template is assets.key in entry.yml, default {env}/{sha}/{name}) with its
Content-Type and SHA-256, and prints each object's URL on stdout.

fetch runs the start-up step by hand: it reads RAILS_ENV (assets.env_var) and
the revision (ENTRY_REVISION, else the REVISION file, else assets.revision),
downloads the manifests of entry.yml's assets section, verifies their
checksum and JSON, and writes them atomically; it is bypassed in the
environments of assets.skip_envs (default development, test). Given
s3://BUCKET/KEY DST it fetches that one object with the same code.

S3 is reached with the AWS SDK's default credential chain; AWS_REGION and
AWS_ENDPOINT_URL_S3 (or AWS_ENDPOINT_URL) apply. See docs/assets.md.

Examples:
  entry assets push --env production --sha "$GIT_SHA" public/packs/manifest.json
  RAILS_ENV=production ENTRY_REVISION=abc123 entry assets fetch
  entry assets fetch s3://my-bucket/assets/production/abc123/manifest.json public/packs/manifest.json
`

// runAssets is `entry assets`.
func runAssets(args []string) int {
	if len(args) == 0 {
		return fail(exitUsage, "assets: missing subcommand: push or fetch (see 'entry assets --help')")
	}
	switch args[0] {
	case "push":
		return runAssetsPush(args[1:])
	case "fetch":
		return runAssetsFetch(args[1:])
	case "-h", "--help", "help":
		fmt.Print(assetsUsage)
		return exitOK
	}
	return fail(exitUsage, "assets: unknown subcommand %q: want push or fetch (see 'entry assets --help')", args[0])
}

// assetsFlags are the flags push and fetch share.
type assetsFlags struct {
	configPath          string
	bucket, prefix, key string
	env, sha            string
	timeout             time.Duration
	region, endpoint    string
	pathStyle           bool
}

func newAssetsFlags(sub string) (*flagSet, *assetsFlags) {
	fs := newFlagSet("assets "+sub, assetsUsage)
	af := &assetsFlags{}
	fs.addConfigFlag(&af.configPath)
	fs.StringVar(&af.bucket, "bucket", "", "S3 bucket (default assets.bucket)")
	fs.StringVar(&af.prefix, "prefix", "", "key prefix in the bucket (default assets.prefix)")
	fs.StringVar(&af.key, "key", "", "key template below the prefix, with {env}, {sha} and {name} (default assets.key, else "+assets.DefaultKey+")")
	fs.StringVar(&af.env, "env", "", "environment, the {env} of the key (fetch: default $RAILS_ENV or assets.env_var)")
	fs.StringVar(&af.sha, "sha", "", "commit, the {sha} of the key (fetch: default $ENTRY_REVISION, the REVISION file, assets.revision)")
	fs.DurationVar(&af.timeout, "timeout", assets.DefaultTimeout, "total time allowed, retries included (push: per file); assets.timeout when not given")
	fs.StringVar(&af.region, "region", "", "AWS region (default assets.region, else the SDK's: AWS_REGION, ~/.aws/config)")
	fs.StringVar(&af.endpoint, "endpoint", "", "S3 endpoint URL (default assets.endpoint, else AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL)")
	fs.BoolVar(&af.pathStyle, "path-style", false, "path-style addressing (http://host/bucket/key); --path-style=false for virtual-hosted; default assets.path_style, else on exactly when a custom endpoint is set")
	return fs, af
}

// apply lays the flags that were given over the config file's section.
func (af *assetsFlags) apply(fs *flagSet, a *config.Assets) error {
	for name, dst := range map[string]*string{
		"bucket": &a.Bucket, "prefix": &a.Prefix, "key": &a.Key, "region": &a.Region, "endpoint": &a.Endpoint,
	} {
		if fs.isSet(name) {
			*dst = fs.Lookup(name).Value.String()
		}
	}
	if fs.isSet("timeout") || a.Timeout <= 0 {
		a.Timeout = af.timeout
	}
	if a.Timeout <= 0 {
		return fmt.Errorf("--timeout %v: must be positive", af.timeout)
	}
	if fs.isSet("path-style") {
		a.PathStyle = &af.pathStyle
	}
	return nil
}

func runAssetsPush(args []string) int {
	fs, af := newAssetsFlags("push")
	var ifAbsent, keepExisting bool
	var name, contentType string
	fs.BoolVar(&ifAbsent, "if-absent", false, "keep an object that already exists with the same checksum (re-runs of a CI job are no-ops); other content fails")
	fs.BoolVar(&keepExisting, "keep-existing", false, "with --if-absent: keep an existing object even when its content differs")
	fs.StringVar(&name, "name", "", "object name, the {name} of the key, for a single FILE (default the file's base name)")
	fs.StringVar(&contentType, "content-type", "", "Content-Type (default by extension: application/json for .json)")
	if code := fs.parseOrExit(args); code >= 0 {
		return code
	}
	files := fs.Args()
	if len(files) == 0 {
		return fail(exitUsage, "assets push: no FILE given (e.g. entry assets push --env production --sha $SHA public/packs/manifest.json)")
	}
	if name != "" && len(files) > 1 {
		return fail(exitUsage, "assets push: --name names one object, but %d files were given", len(files))
	}
	if keepExisting && !ifAbsent {
		return fail(exitUsage, "assets push: --keep-existing goes with --if-absent (without it, push replaces the object)")
	}
	if af.env == "" || af.sha == "" {
		return fail(exitUsage, "assets push: --env and --sha are required (the environment and commit the manifest is for)")
	}
	cfg, err := loadConfig(fs, af.configPath)
	if err != nil {
		return fail(exitUsage, "%v", err)
	}
	a := cfg.Assets
	if err := af.apply(fs, &a); err != nil {
		return fail(exitUsage, "assets push: %v", err)
	}
	layout := assets.Layout{Bucket: a.Bucket, Prefix: a.Prefix, Key: a.Key}
	objects := make([]assets.Object, len(files))
	for i, file := range files {
		n := name
		if n == "" {
			n = filepath.Base(file)
		}
		obj, err := layout.Object(af.env, af.sha, n)
		if err != nil {
			return fail(exitUsage, "assets push: %s: %v", file, err)
		}
		objects[i] = obj
	}
	ctx := context.Background()
	client, err := assets.NewClient(ctx, prehook.AssetsOptions(a))
	if err != nil {
		return fail(exitFailure, "%v", err)
	}
	for i, file := range files {
		p, err := client.Push(ctx, file, objects[i], assets.PushOptions{IfAbsent: ifAbsent, KeepDifferent: keepExisting, ContentType: contentType, Timeout: a.Timeout})
		if err != nil {
			return fail(exitFailure, "%v", err)
		}
		prehook.StderrLogger("assets: %s -> %s: %s (%d bytes, sha256 %s)", file, p.Object, p.Status, p.Size, p.SHA256)
		fmt.Println(p.Object)
	}
	return exitOK
}

func runAssetsFetch(args []string) int {
	fs, af := newAssetsFlags("fetch")
	var noCache bool
	fs.BoolVar(&noCache, "no-cache", false, "download even when the destination already holds the stored checksum")
	if code := fs.parseOrExit(args); code >= 0 {
		return code
	}
	cfg, err := loadConfig(fs, af.configPath)
	if err != nil {
		return fail(exitUsage, "%v", err)
	}
	a := cfg.Assets
	if err := af.apply(fs, &a); err != nil {
		return fail(exitUsage, "assets fetch: %v", err)
	}
	if noCache {
		a.Cache = new(false)
	}
	switch pos := fs.Args(); len(pos) {
	case 0:
	case 2:
		// One object by URL, with the same code as the start-up step.
		if strings.Contains(pos[0]+pos[1], "{") {
			return fail(exitUsage, "assets fetch: %s %s: placeholders are for entry.yml; write the URL and path out", pos[0], pos[1])
		}
		// Checked here, so that an error names the command line rather
		// than a config entry the user never wrote.
		obj, err := assets.ParseURL(pos[0])
		if err != nil {
			return fail(exitUsage, "assets fetch: %v", err)
		}
		if pos[1] == "" || strings.HasSuffix(pos[1], "/") {
			return fail(exitUsage, "assets fetch: DST %q: name the file to write, such as %s", pos[1], filepath.Join(pos[1], path.Base(obj.Key)))
		}
		a.Manifests = nil
		a.Fetch = []config.Fetch{{Src: pos[0], Dst: pos[1]}}
	default:
		return fail(exitUsage, "assets fetch: want no arguments (fetch what entry.yml lists) or s3://BUCKET/KEY DST, got %d arguments", len(pos))
	}
	step, err := prehook.NewAssetsStepFrom(a, cfg.Name())
	if err != nil {
		return fail(exitUsage, "%v", err)
	}
	if step == nil {
		return fail(exitUsage, "assets fetch: nothing to fetch: %s has no assets.manifests or assets.fetch (or give s3://BUCKET/KEY DST)", cfg.Name())
	}
	step.EnvOverride, step.ShaOverride = af.env, af.sha
	step.Direct = len(fs.Args()) == 2
	if err := step.Run(context.Background(), prehook.OSEnv(), prehook.StderrLogger); err != nil {
		return fail(exitFailure, "%v", err)
	}
	return exitOK
}
