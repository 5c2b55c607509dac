package prehook

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/entryhq/entry/assets"
	"github.com/entryhq/entry/config"
	"github.com/entryhq/entry/internal/readcap"
)

// NewAssetsStep returns the start-up step that fetches the assets manifest
// for cfg.Assets, or nil when nothing is configured.
func NewAssetsStep(cfg *config.File) (Step, error) {
	step, err := NewAssetsStepFrom(cfg.Assets, cfg.Name())
	if step == nil || err != nil {
		return nil, err // a nil *AssetsStep must not become a non-nil Step
	}
	return step, nil
}

// AssetsStep is the start-up step: fetch the manifests (and the fetch list)
// for this container's environment and commit.
type AssetsStep struct {
	cfg      config.Assets
	envVar   string
	skipEnvs []string
	cache    bool
	// EnvOverride and ShaOverride come from `entry assets fetch --env/--sha`.
	EnvOverride, ShaOverride string
	// Direct: `entry assets fetch URL DST`, which needs no environment or
	// revision and is never bypassed.
	Direct bool
}

// NewAssetsStepFrom checks the section and returns its step, or nil when
// it lists nothing to fetch. where names the config file in errors.
func NewAssetsStepFrom(a config.Assets, where string) (*AssetsStep, error) {
	if len(a.Manifests) == 0 && len(a.Fetch) == 0 {
		if a.Bucket != "" {
			return nil, fmt.Errorf("%s: assets.bucket is set but assets.manifests lists nothing to fetch (add e.g. - dst: public/packs/manifest.json)", where)
		}
		return nil, nil
	}
	s := &AssetsStep{cfg: a, envVar: a.EnvVar, skipEnvs: a.SkipEnvs, cache: a.Cache == nil || *a.Cache}
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

func (s *AssetsStep) Name() string { return "assets" }

// items lists what to fetch for env and sha.
func (s *AssetsStep) items(env, sha string) ([]assets.Item, error) {
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
func (s *AssetsStep) plan(env *Env) (fetchPlan, error) {
	var p fetchPlan
	if s.Direct {
		items, err := s.items("", "")
		for i := range items {
			items[i].Context, items[i].Hint = "", ""
		}
		p.items = items
		return p, err
	}
	p.env = s.EnvOverride
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
func (s *AssetsStep) revision(env *Env) (string, error) {
	if s.ShaOverride != "" {
		return s.ShaOverride, nil
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
func (s *AssetsStep) Check(env *Env) []error {
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
func (s *AssetsStep) Plan(env *Env) []string {
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
func (s *AssetsStep) Run(ctx context.Context, env *Env, log Logger) error {
	p, err := s.plan(env)
	if err != nil {
		return err
	}
	if p.bypass != "" {
		log("assets: bypassed: %s", p.bypass)
		return nil
	}
	client, err := assets.NewClient(ctx, AssetsOptions(s.cfg))
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

// AssetsOptions are the S3 client options of entry.yml's assets section.
func AssetsOptions(a config.Assets) assets.Options {
	return assets.Options{Region: a.Region, Endpoint: a.Endpoint, PathStyle: a.PathStyle}
}
