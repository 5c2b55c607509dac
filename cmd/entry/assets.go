package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/entryhq/entry/assets"
	"github.com/entryhq/entry/config"
	"github.com/entryhq/entry/internal/readcap"
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

func clientOptions(a config.Assets) assets.Options {
	return assets.Options{Region: a.Region, Endpoint: a.Endpoint, PathStyle: a.PathStyle}
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
	client, err := assets.NewClient(ctx, clientOptions(a))
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
	step, err := newAssetsStepFrom(a, configName(cfg))
	if err != nil {
		return fail(exitUsage, "%v", err)
	}
	if step == nil {
		return fail(exitUsage, "assets fetch: nothing to fetch: %s has no assets.manifests or assets.fetch (or give s3://BUCKET/KEY DST)", configName(cfg))
	}
	step.envOverride, step.shaOverride = af.env, af.sha
	step.direct = len(fs.Args()) == 2
	if err := step.Run(context.Background(), prehook.OSEnv(), prehook.StderrLogger); err != nil {
		return fail(exitFailure, "%v", err)
	}
	return exitOK
}

// newAssetsStep returns the start-up step that fetches the assets manifest
// for cfg.Assets, or nil when nothing is configured.
func newAssetsStep(cfg *config.File) (prehook.Step, error) {
	step, err := newAssetsStepFrom(cfg.Assets, configName(cfg))
	if step == nil || err != nil {
		return nil, err // a nil *assetsStep must not become a non-nil Step
	}
	return step, nil
}

// assetsStep is the start-up step: fetch the manifests (and the fetch list)
// for this container's environment and commit.
type assetsStep struct {
	cfg      config.Assets
	envVar   string
	skipEnvs []string
	cache    bool
	// envOverride and shaOverride come from `entry assets fetch --env/--sha`.
	envOverride, shaOverride string
	// direct: `entry assets fetch URL DST`, which needs no environment or
	// revision and is never bypassed.
	direct bool
}

// newAssetsStepFrom checks the section and returns its step, or nil when
// it lists nothing to fetch. where names the config file in errors.
func newAssetsStepFrom(a config.Assets, where string) (*assetsStep, error) {
	if len(a.Manifests) == 0 && len(a.Fetch) == 0 {
		if a.Bucket != "" {
			return nil, fmt.Errorf("%s: assets.bucket is set but assets.manifests lists nothing to fetch (add e.g. - dst: public/packs/manifest.json)", where)
		}
		return nil, nil
	}
	s := &assetsStep{cfg: a, envVar: a.EnvVar, skipEnvs: a.SkipEnvs, cache: a.Cache == nil || *a.Cache}
	if s.envVar == "" {
		s.envVar = "RAILS_ENV"
	}
	if s.skipEnvs == nil {
		s.skipEnvs = []string{"development", "test"}
	}
	if a.Timeout < 0 {
		return nil, fmt.Errorf("%s: assets.timeout %v: must be positive", where, a.Timeout)
	}
	if len(a.Manifests) > 0 && a.Bucket == "" {
		return nil, fmt.Errorf("%s: assets.manifests needs assets.bucket (the bucket entry assets push uploads to)", where)
	}
	// Resolve once with sample values so that a typo in a template or a
	// URL is a config error at start, before any network.
	items, err := s.items("production", "0123abc")
	if err != nil {
		return nil, fmt.Errorf("%s: %v", where, err)
	}
	seen := map[string]bool{}
	for _, it := range items {
		if seen[it.Dst] {
			return nil, fmt.Errorf("%s: assets: %s is the destination of two entries", where, it.Dst)
		}
		seen[it.Dst] = true
	}
	return s, nil
}

func (s *assetsStep) Name() string { return "assets" }

// items lists what to fetch for env and sha.
func (s *assetsStep) items(env, sha string) ([]assets.Item, error) {
	layout := assets.Layout{Bucket: s.cfg.Bucket, Prefix: s.cfg.Prefix, Key: s.cfg.Key}
	chosenFor := fmt.Sprintf("%s=%s, revision %s", s.envVar, env, sha)
	var items []assets.Item
	for i, m := range s.cfg.Manifests {
		place := fmt.Sprintf("assets.manifests[%d]", i)
		if m.Dst == "" {
			return nil, fmt.Errorf("%s: dst is empty (where the manifest goes, e.g. public/packs/manifest.json)", place)
		}
		dst, err := expandPath(m.Dst, env, sha)
		if err != nil {
			return nil, fmt.Errorf("%s: dst %v", place, err)
		}
		name := m.Name
		if name == "" {
			name = filepath.Base(dst)
		}
		obj, err := layout.Object(env, sha, name)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", place, err)
		}
		items = append(items, assets.Item{
			Object: obj, Dst: dst, JSON: true, What: "manifest", Context: chosenFor,
			Hint: "was 'entry assets push' run for this commit?",
		})
	}
	for i, f := range s.cfg.Fetch {
		place := fmt.Sprintf("assets.fetch[%d]", i)
		if strings.Contains(f.Src, "{name}") || strings.Contains(f.Dst, "{name}") {
			return nil, fmt.Errorf("%s: {name} is only for manifests; write the file name out", place)
		}
		src, err := assets.Expand(f.Src, env, sha)
		if err != nil {
			return nil, fmt.Errorf("%s: src %v", place, err)
		}
		obj, err := assets.ParseURL(src)
		if err != nil {
			return nil, fmt.Errorf("%s: src %v", place, err)
		}
		if f.Dst == "" {
			return nil, fmt.Errorf("%s: dst is empty (where the file goes)", place)
		}
		dst, err := expandPath(f.Dst, env, sha)
		if err != nil {
			return nil, fmt.Errorf("%s: dst %v", place, err)
		}
		items = append(items, assets.Item{
			Object: obj, Dst: dst, JSON: strings.HasSuffix(dst, ".json"), What: "file", Context: chosenFor,
			Hint: "upload it, or fix assets.fetch in entry.yml",
		})
	}
	return items, nil
}

func expandPath(p, env, sha string) (string, error) {
	if strings.HasSuffix(p, "/") {
		return "", fmt.Errorf("%q: name a file, not a directory", p)
	}
	return assets.Expand(p, env, sha)
}

// A fetchPlan is what the step will do in one environment.
type fetchPlan struct {
	env, sha string
	bypass   string // why the fetch is bypassed; "" when it runs
	items    []assets.Item
}

// plan resolves the environment and the revision.
func (s *assetsStep) plan(env *prehook.Env) (fetchPlan, error) {
	var p fetchPlan
	if s.direct {
		items, err := s.items("", "")
		for i := range items {
			items[i].Context, items[i].Hint = "", ""
		}
		p.items = items
		return p, err
	}
	p.env = s.envOverride
	if p.env == "" {
		var ok bool
		if p.env, ok = env.Lookup(s.envVar); !ok || p.env == "" {
			// Rails' own default when RAILS_ENV is unset.
			p.env = "development"
			if s.cfg.Skip || slices.Contains(s.skipEnvs, p.env) {
				p.bypass = fmt.Sprintf("%s is unset (Rails runs in development), which is in assets.skip_envs", s.envVar)
				return p, nil
			}
		}
	}
	switch {
	case s.cfg.Skip:
		p.bypass = "assets.skip is true"
		return p, nil
	case slices.Contains(s.skipEnvs, p.env):
		p.bypass = fmt.Sprintf("%s=%s is in assets.skip_envs", s.envVar, p.env)
		return p, nil
	}
	sha, err := s.revision(env)
	if err != nil {
		return p, err
	}
	p.sha = sha
	p.items, err = s.items(p.env, p.sha)
	if err != nil {
		return p, fmt.Errorf("assets: %v", err)
	}
	return p, nil
}

// revision returns the commit: --sha, ENTRY_REVISION, the REVISION file in
// the working directory (Capistrano's convention, baked into the image by
// the Dockerfile), else assets.revision.
func (s *assetsStep) revision(env *prehook.Env) (string, error) {
	if s.shaOverride != "" {
		return s.shaOverride, nil
	}
	if v := strings.TrimSpace(env.Get("ENTRY_REVISION")); v != "" {
		return v, nil
	}
	data, err := readcap.ReadFile("REVISION", "REVISION file", readcap.Revision)
	switch {
	case err == nil:
		if v := strings.TrimSpace(string(data)); v != "" {
			return v, nil
		}
		if s.cfg.Revision == "" {
			return "", errors.New("assets: the REVISION file is empty (write the commit SHA into it in the Dockerfile, or set ENTRY_REVISION)")
		}
	case !errors.Is(err, os.ErrNotExist):
		return "", fmt.Errorf("assets: %v", err)
	}
	if s.cfg.Revision != "" {
		return s.cfg.Revision, nil
	}
	return "", errors.New("assets: no revision: set ENTRY_REVISION, bake a REVISION file into the image (RUN echo $GIT_SHA > REVISION), or set assets.revision in entry.yml")
}

// Check reports what would stop the fetch before it reaches S3 (no
// revision, an empty REVISION file), so that `entry config check` does not
// call such an image valid; and a Sprockets manifest fetched to a name
// Sprockets never reads.
func (s *assetsStep) Check(env *prehook.Env) []error {
	var errs []error
	if _, err := s.plan(env); err != nil {
		errs = append(errs, err)
	}
	for _, m := range s.cfg.Manifests {
		base := filepath.Base(m.Dst)
		if strings.HasPrefix(base, ".sprockets-manifest") && !sprocketsManifestName().MatchString(base) {
			errs = append(errs, fmt.Errorf("assets: manifest dst %s: Sprockets reads only .sprockets-manifest-<32 hex digits>.json, so it would never load this file; fetch it to %s (a fixed name that sorts first; see docs/assets.md)",
				m.Dst, filepath.Join(filepath.Dir(m.Dst), ".sprockets-manifest-"+strings.Repeat("0", 32)+".json")))
		}
	}
	return errs
}

// sprocketsManifestName is the only manifest name Sprockets 4 reads
// (Sprockets::ManifestUtils::MANIFEST_RE); compiled on first use, as {32}
// makes a large program that no other entry process needs.
var sprocketsManifestName = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^\.sprockets-manifest-[0-9a-f]{32}\.json$`)
})

// Plan describes the fetch without touching the network.
func (s *assetsStep) Plan(env *prehook.Env) []string {
	p, err := s.plan(env)
	switch {
	case err != nil:
		return []string{"cannot run: " + strings.TrimPrefix(err.Error(), "assets: ")}
	case p.bypass != "":
		return []string{"bypassed: " + p.bypass}
	}
	var lines []string
	for _, it := range p.items {
		lines = append(lines, fmt.Sprintf("fetch %s -> %s (%s=%s, revision %s)", it.Object, it.Dst, s.envVar, p.env, p.sha))
	}
	return lines
}

// Run fetches the manifests, or logs why it is bypassed.
func (s *assetsStep) Run(ctx context.Context, env *prehook.Env, log prehook.Logger) error {
	p, err := s.plan(env)
	if err != nil {
		return err
	}
	if p.bypass != "" {
		log("assets: bypassed: %s", p.bypass)
		return nil
	}
	client, err := assets.NewClient(ctx, clientOptions(s.cfg))
	if err != nil {
		return err
	}
	start := time.Now()
	fetched, err := client.Fetch(ctx, p.items, assets.FetchOptions{Cache: s.cache, Timeout: s.cfg.Timeout})
	if err != nil {
		return err
	}
	elapsed := time.Since(start).Round(time.Millisecond)
	for _, f := range fetched {
		check := "sha256 " + f.SHA256[:12] + " verified"
		if !f.Verified {
			check = "no stored checksum"
		}
		if f.Item.JSON {
			check += ", valid JSON"
		}
		switch {
		case f.Cached:
			log("assets: %s is up to date with %s (%s)", f.Item.Dst, f.Item.Object, check)
		case f.Retries > 0:
			log("assets: fetched %s -> %s (%d bytes, %s, %v, after %d retries)", f.Item.Object, f.Item.Dst, f.Size, check, elapsed, f.Retries)
		default:
			log("assets: fetched %s -> %s (%d bytes, %s, %v)", f.Item.Object, f.Item.Dst, f.Size, check, elapsed)
		}
	}
	return nil
}
