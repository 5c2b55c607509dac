package release

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/rhysd/actionlint"

	"github.com/entryhq/entry/internal/testtool"
)

// The GitHub Actions workflows pass actionlint, with shellcheck on every
// run: script, as GitHub would run them.
func TestWorkflowsLint(t *testing.T) {
	shellcheck := testtool.Require(t, "shellcheck")
	root := testtool.RepoRoot(t)
	files, err := filepath.Glob(filepath.Join(root, ".github/workflows/*.yml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 2 {
		t.Fatalf(".github/workflows holds %q, want ci.yml and release.yml", files)
	}
	var out bytes.Buffer
	linter, err := actionlint.NewLinter(&out, &actionlint.LinterOptions{
		Shellcheck: shellcheck,
		WorkingDir: root,
		Color:      actionlint.ColorOptionKindNever,
	})
	if err != nil {
		t.Fatal(err)
	}
	errs, err := linter.LintFiles(files, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range errs {
		t.Errorf("actionlint: %s:%d:%d: %s [%s]", filepath.Base(e.Filepath), e.Line, e.Column, e.Message, e.Kind)
	}
}

// CI runs exactly the README's test command, in a job with a time limit,
// and can be called by the release workflow.
func TestWorkflowCIRunsTheREADMECommand(t *testing.T) {
	root := testtool.RepoRoot(t)
	command := readmeTestCommand(t, root)
	w := parseWorkflow(t, root, "ci.yml")
	if !slices.Contains(eventNames(w), "workflow_call") {
		t.Errorf("ci.yml: no workflow_call trigger: release.yml cannot run the tests before publishing")
	}
	found := false
	for id, job := range w.Jobs {
		if job.TimeoutMinutes == nil {
			t.Errorf("ci.yml: job %s has no timeout-minutes", id)
		}
		for _, step := range job.Steps {
			if run, ok := step.Exec.(*actionlint.ExecRun); ok && strings.TrimSpace(run.Run.Value) == command {
				found = true
			}
		}
		if uses := findAction(job, "actions/setup-go"); uses == nil || input(uses, "go-version-file") != "go.mod" {
			t.Errorf("ci.yml: job %s does not set Go up from go.mod (actions/setup-go with go-version-file: go.mod)", id)
		} else if input(uses, "cache") != "true" {
			t.Errorf("ci.yml: job %s does not cache Go modules (actions/setup-go cache: true)", id)
		}
	}
	if !found {
		t.Errorf("ci.yml: no step runs %q, the README's test command", command)
	}
	// The MinIO cache is keyed on the version scripts/test builds.
	script, err := os.ReadFile(filepath.Join(root, "scripts/test"))
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`(?m)^minio_version=\S+$`).Match(script) {
		t.Errorf("scripts/test has no minio_version= line, which ci.yml reads for its MinIO cache key")
	}
}

// The release workflow runs on a version tag, after CI, calls
// scripts/release with the tag, and builds the root Dockerfile for the
// machines scripts/release builds, from the binaries it wrote.
func TestWorkflowReleaseCallsScriptsRelease(t *testing.T) {
	root := testtool.RepoRoot(t)
	w := parseWorkflow(t, root, "release.yml")
	tags := false
	for _, ev := range w.On {
		if hook, ok := ev.(*actionlint.WebhookEvent); ok && hook.Hook.Value == "push" && hook.Tags != nil {
			for _, v := range hook.Tags.Values {
				tags = tags || v.Value == "v*"
			}
		}
	}
	if !tags {
		t.Errorf("release.yml: not run on a push of a tag v*")
	}
	if test := w.Jobs["test"]; test == nil || test.WorkflowCall == nil || test.WorkflowCall.Uses.Value != "./.github/workflows/ci.yml" {
		t.Errorf("release.yml: no job test that runs ./.github/workflows/ci.yml")
	}
	job := w.Jobs["release"]
	if job == nil {
		t.Fatal("release.yml: no job release")
	}
	if len(job.Needs) != 1 || job.Needs[0].Value != "test" {
		t.Errorf("release.yml: job release does not need test: a tag whose tests fail would be published")
	}
	if job.TimeoutMinutes == nil {
		t.Errorf("release.yml: job release has no timeout-minutes")
	}
	for scope, want := range map[string]string{"contents": "write", "packages": "write", "id-token": "write", "attestations": "write"} {
		if job.Permissions == nil || job.Permissions.Scopes[scope] == nil || job.Permissions.Scopes[scope].Value.Value != want {
			t.Errorf("release.yml: job release lacks permissions %s: %s", scope, want)
		}
	}
	if env := job.Env; env == nil || env.Vars["tag"] == nil || env.Vars["tag"].Value.Value != "${{ github.ref_name }}" {
		t.Errorf("release.yml: job release's env TAG is not ${{ github.ref_name }}")
	}
	runs := strings.Join(runScripts(job), "\n")
	if !regexp.MustCompile(`(?m)^scripts/release "\$TAG"$`).MatchString(runs) {
		t.Errorf("release.yml: no step runs scripts/release \"$TAG\"")
	}
	if !strings.Contains(runs, "dist/release/*") {
		t.Errorf("release.yml: the GitHub release does not carry every file of dist/release")
	}

	// scripts/release: which machines, and where the binaries go.
	script, err := os.ReadFile(filepath.Join(root, "scripts/release"))
	if err != nil {
		t.Fatal(err)
	}
	archs := regexp.MustCompile(`(?m)^archs=\(([a-z0-9 ]+)\)$`).FindSubmatch(script)
	out := regexp.MustCompile(`(?m)^out=\$\{ENTRY_RELEASE_DIR:-([^}]+)\}$`).FindSubmatch(script)
	bin := regexp.MustCompile(`(?m)^\s*bin=\$out/(\S+)\$arch$`).FindSubmatch(script)
	if archs == nil || out == nil || bin == nil {
		t.Fatalf("scripts/release: no archs=(...), out=${ENTRY_RELEASE_DIR:-DIR} or bin=$out/NAME$arch line: update this test")
	}
	var platforms []string
	for _, arch := range strings.Fields(string(archs[1])) {
		platforms = append(platforms, "linux/"+arch)
	}
	// The root Dockerfile copies scripts/release's binary of TARGETARCH.
	dockerfile, err := os.ReadFile(filepath.Join(root, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	wantCopy := "COPY " + string(out[1]) + "/" + string(bin[1]) + "${TARGETARCH} /entry"
	if !slices.Contains(strings.Split(string(dockerfile), "\n"), wantCopy) {
		t.Errorf("Dockerfile: no line %q: the image would not hold the binaries scripts/release built", wantCopy)
	}

	push := findAction(job, "docker/build-push-action")
	if push == nil {
		t.Fatal("release.yml: no docker/build-push-action step")
	}
	for name, want := range map[string]string{
		"context":   ".", // the checkout with dist/release, not the git context
		"file":      "Dockerfile",
		"platforms": strings.Join(platforms, ","),
		"push":      "true",
	} {
		if got := input(push, name); got != want {
			t.Errorf("release.yml: docker/build-push-action %s: %q, want %q", name, got, want)
		}
	}
	if env := job.Env; env == nil || env.Vars["image"] == nil || env.Vars["image"].Value.Value != "ghcr.io/entryhq/entry" {
		t.Errorf("release.yml: job release's env IMAGE is not ghcr.io/entryhq/entry")
	}
	for _, action := range []string{"docker/setup-buildx-action", "docker/login-action", "actions/attest-build-provenance"} {
		if findAction(job, action) == nil {
			t.Errorf("release.yml: no %s step", action)
		}
	}
}

// The release workflow's first step takes the notes from the CHANGELOG's
// section of the tagged version, fails the release without one, and tags
// the image; run here as GitHub runs it (bash -eo pipefail).
func TestWorkflowReleaseNotes(t *testing.T) {
	root := testtool.RepoRoot(t)
	w := parseWorkflow(t, root, "release.yml")
	var script string
	for _, step := range w.Jobs["release"].Steps {
		if step.ID != nil && step.ID.Value == "version" {
			script = step.Exec.(*actionlint.ExecRun).Run.Value
		}
	}
	if script == "" {
		t.Fatal("release.yml: no step with id version")
	}
	const changelog = "# Changelog\n\n## Unreleased\n\n- next\n\n" +
		"## 0.3.0-rc.1 - 2027-01-02\n\n- candidate\n\n" +
		"## 0.2.0 - 2026-12-06\n\n### Added\n\n- `entry completion`\n\n" +
		"## 0.1.0 - 2026-11-01\n\n- first\n"
	const image = "ghcr.io/entryhq/entry"
	for _, c := range []struct {
		tag, notes, tags, fails string
	}{
		{tag: "v0.2.0", notes: "### Added\n\n- `entry completion`", tags: image + ":0.2.0," + image + ":0.2," + image + ":latest"},
		{tag: "v0.1.0", notes: "- first", tags: image + ":0.1.0," + image + ":0.1," + image + ":latest"},
		{tag: "v0.3.0-rc.1", notes: "- candidate", tags: image + ":0.3.0-rc.1"},
		{tag: "v0.4.0", fails: `::error file=CHANGELOG.md::no "## 0.4.0 - YYYY-MM-DD" section: rename "## Unreleased" in the release commit, then tag it`},
		{tag: "v0.2", fails: `no "## 0.2 - YYYY-MM-DD" section`},
	} {
		t.Run(c.tag, func(t *testing.T) {
			dir, tmp := t.TempDir(), t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "CHANGELOG.md"), []byte(changelog), 0o644); err != nil {
				t.Fatal(err)
			}
			output := filepath.Join(tmp, "output")
			cmd := exec.Command("bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script)
			cmd.Dir = dir
			cmd.Env = append(os.Environ(), "TAG="+c.tag, "IMAGE="+image, "GITHUB_OUTPUT="+output, "RUNNER_TEMP="+tmp)
			var log testtool.SyncBuffer
			cmd.Stdout, cmd.Stderr = &log, &log
			testtool.StartContained(t, cmd, false)
			err := testtool.WaitCmd(t, cmd, testtool.Patience, log.String)
			if c.fails != "" {
				if err == nil || !strings.Contains(log.String(), c.fails) {
					t.Errorf("exit %v, output %q; want a failure saying %q", err, log.String(), c.fails)
				}
				return
			}
			if err != nil {
				t.Fatalf("%v\n%s", err, log.String())
			}
			notes, _ := os.ReadFile(filepath.Join(tmp, "notes.md"))
			if got := strings.TrimSpace(string(notes)); got != c.notes {
				t.Errorf("notes %q, want %q", got, c.notes)
			}
			outputs, _ := os.ReadFile(output)
			want := "version=" + strings.TrimPrefix(c.tag, "v") + "\ntags=" + c.tags + "\n"
			if string(outputs) != want {
				t.Errorf("outputs %q, want %q", outputs, want)
			}
		})
	}
}

// readmeTestCommand is the command of the README's "Run all the tests".
func readmeTestCommand(t *testing.T, root string) string {
	t.Helper()
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, _ := strings.Cut(string(readme), "\n## Run all the tests\n")
	_, block, ok := strings.Cut(section, "```sh\n")
	command, _, _ := strings.Cut(block, "\n")
	if !ok || command == "" {
		t.Fatal(`README.md: no sh block under "## Run all the tests"`)
	}
	return command
}

func parseWorkflow(t *testing.T, root, name string) *actionlint.Workflow {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, ".github/workflows", name))
	if err != nil {
		t.Fatal(err)
	}
	w, errs := actionlint.Parse(data)
	if len(errs) > 0 {
		t.Fatalf("%s: %v", name, errs[0])
	}
	return w
}

func eventNames(w *actionlint.Workflow) []string {
	var names []string
	for _, ev := range w.On {
		names = append(names, ev.EventName())
	}
	return names
}

// findAction is the job's first step that uses action (at any version).
func findAction(job *actionlint.Job, action string) *actionlint.ExecAction {
	for _, step := range job.Steps {
		if a, ok := step.Exec.(*actionlint.ExecAction); ok && strings.HasPrefix(a.Uses.Value, action+"@") {
			return a
		}
	}
	return nil
}

func input(a *actionlint.ExecAction, name string) string {
	if in := a.Inputs[name]; in != nil && in.Value != nil {
		return in.Value.Value
	}
	return ""
}

func runScripts(job *actionlint.Job) []string {
	var scripts []string
	for _, step := range job.Steps {
		if run, ok := step.Exec.(*actionlint.ExecRun); ok {
			scripts = append(scripts, run.Run.Value)
		}
	}
	return scripts
}
