package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Issue 19, "Accepted though wrong" (deploy): each is refused with the
// place and the fix, exit 2, before any call that changes anything.
func TestDeployRefusesWrongInput(t *testing.T) {
	f, env := deployFake(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "td.json"), []byte(" [] "), 0o644); err != nil {
		t.Fatal(err)
	}
	longTag := "repo/app:" + strings.Repeat("a", 5000)
	base := []string{"deploy", "--cluster", "prod", "--service", "web"}
	run := []string{"deploy", "run", "--cluster", "prod", "--service", "web"}
	docker := " is not an image reference Docker accepts (invalid reference format"
	for _, c := range []struct {
		args []string
		env  string
		want string // the whole stderr, or its start when it ends with "…"
	}{
		{append(base, "--image", "my app:tag"), "", `entry: deploy: --image "my app:tag"` + docker + "); give REPO:TAG with a lower-case repository and a tag of at most 128 letters, digits, '_', '.' or '-', e.g. 123456789012.dkr.ecr.us-east-1.amazonaws.com/app:3f2c1e9 (see 'entry deploy --help')\n"},
		{append(base, "--image", "Repo/App:tag"), "", `entry: deploy: --image "Repo/App:tag"` + docker + ": repository name (App) must be lowercase)…"},
		{append(base, "--image", longTag), "", `entry: deploy: --image "repo/app:aaaa` + "…"},
		{append(base, "--image", "repo/app:1", "--timeout", "-1m"), "", "entry: deploy: --timeout -1m0s: give a positive duration such as 10m (it bounds each wait)\n"},
		{append(base, "--image", "repo/app:1", "--timeout", "0s"), "", "entry: deploy: --timeout 0s: give a positive duration such as 10m (it bounds each wait)\n"},
		{[]string{"deploy", "--cluster", "prod", "--image", "repo/app:1"}, "ENTRY_DEPLOY_SERVICE=web,,job", "entry: deploy: --service: an empty service name in \"web,,job\" (a doubled or trailing comma in --service or ENTRY_DEPLOY_SERVICE?)\n"},
		{[]string{"deploy", "status", "--cluster", "prod", "--service", "web,"}, "", "entry: deploy status: --service: an empty service name in \"web,\" (a doubled or trailing comma in --service or ENTRY_DEPLOY_SERVICE?)\n"},
		{append(run, "--revision", ":5", "--", "true"), "", "entry: deploy run: --revision \":5\": give live (the service's revision), new (its family's newest), FAMILY:REV with REV from 1 (web:42), or a task definition ARN\n"},
		{append(run, "--revision", "web:0", "--", "true"), "", "entry: deploy run: --revision \"web:0\": give live…"},
		{append(run, "--revision", "web:-1", "--", "true"), "", "entry: deploy run: --revision \"web:-1\": give live…"},
		{append(run, "--revision", "LIVE", "--", "true"), "", "entry: deploy run: --revision \"LIVE\": give live…"},
		{append(run, "--", ""), "", "entry: deploy run: no command: the word after -- is empty; give the program to run, e.g. entry deploy run --service web -- bin/rails runner 'Foo.bar'\n"},
		{append(base, "--image", "repo/app:1", "--schedule", "/"), "", "entry: deploy: --schedule \"/\": give [GROUP/]NAME, each 1 to 64 letters, digits, '.', '_' or '-' (e.g. --schedule nightly-report or --schedule default/nightly-report) (see 'entry deploy --help')\n"},
		{[]string{"deploy", "rollback", "--cluster", "prod", "--service", "web", "--rule", "default/"}, "", "entry: deploy rollback: --rule \"default/\": give [BUS/]NAME…"},
		{append(base, "--task-definition", "td.json"), "", "entry: deploy: td.json: the file must hold one JSON object {\"family\": …, \"containerDefinitions\": […]} (as aws ecs register-task-definition --cli-input-json takes it), not an array\n"},
	} {
		e := env
		if c.env != "" {
			e = append(append([]string(nil), env...), c.env)
		}
		r := runEntry(t, dir, e, c.args...)
		ok := r.stderr == c.want
		if prefix, cut := strings.CutSuffix(c.want, "…"); cut {
			ok = strings.HasPrefix(r.stderr, prefix)
		}
		if r.code != 2 || !ok {
			t.Errorf("%.200q: exit %d, stderr %.400q; want 2, %q", c.args, r.code, r.stderr, c.want)
		}
		if len(r.stderr) > 1000 {
			t.Errorf("%.100q: stderr of %d bytes: the input must not be echoed whole", c.args, len(r.stderr))
		}
	}
	if n := f.MutatingCalls(); n != 0 {
		t.Errorf("mutating calls: %v", f.Calls())
	}
	if n := len(f.RunTaskInputs()); n != 0 {
		t.Errorf("%d tasks started", n)
	}
}

// A closed port: a wrong endpoint fails at once, naming it, instead of
// retrying for more than a minute.
func TestDeployConnectionRefusedNamesTheEndpoint(t *testing.T) {
	dir := t.TempDir()
	env := []string{"AWS_EC2_METADATA_DISABLED=true", "AWS_CONFIG_FILE=" + dir + "/none", "AWS_SHARED_CREDENTIALS_FILE=" + dir + "/none",
		"AWS_REGION=us-east-1", "AWS_ACCESS_KEY_ID=AKIDTEST", "AWS_SECRET_ACCESS_KEY=SECRETTEST", "AWS_ENDPOINT_URL_ECS=http://127.0.0.1:1"}
	r := runEntry(t, dir, env, "deploy", "status", "--cluster", "prod", "--service", "web")
	want := "entry: deploy status: web: DescribeServices: cannot connect to http://127.0.0.1:1: connection refused; check the endpoint (AWS_ENDPOINT_URL_ECS, AWS_ENDPOINT_URL and the like) and --region\n"
	if r.code != 1 || r.stderr != want {
		t.Errorf("exit %d, stderr %q; want 1, %q", r.code, r.stderr, want)
	}
}
