package main

import (
	"encoding/json"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	evtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/entryhq/entry/deploy/ecsfake"
	"github.com/entryhq/entry/internal/miniotest"
	"github.com/entryhq/entry/secrets/ssmfake"
)

// An IAM policy of the docs, marked <!-- policy: NAME --> above its block.
type docPolicy struct {
	where   string // file:line
	actions []string
	text    string
}

var policyMarkRE = regexp.MustCompile(`<!-- policy: ([a-z-]+) `)

// docPolicies reads every marked policy of docs/*.md, and fails the test
// for a block that grants actions without a mark (it would go unchecked).
func docPolicies(t *testing.T) map[string]docPolicy {
	t.Helper()
	files, _ := filepath.Glob("../../docs/*.md")
	out := map[string]docPolicy{}
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(string(data), "\n")
		for _, b := range codeBlocks(string(data), "json") {
			if !strings.Contains(b.text, `"Action"`) {
				continue
			}
			where := filepath.Base(file) + ":" + strconv.Itoa(b.line)
			m := policyMarkRE.FindStringSubmatch(lines[b.line-3])
			if m == nil {
				t.Errorf("%s: a policy with no <!-- policy: NAME --> mark above it: name it, and give it scenarios in iam_test.go", where)
				continue
			}
			text := b.text
			if !strings.Contains(text, `"Statement"`) {
				text = `{"Statement": [` + text + `]}` // statements to add to another policy
			}
			var doc struct{ Statement []struct{ Action any } }
			if err := json.Unmarshal([]byte(text), &doc); err != nil {
				t.Errorf("%s: policy %s is not JSON: %v", where, m[1], err)
				continue
			}
			p := docPolicy{where: where, text: b.text}
			for _, s := range doc.Statement {
				switch a := s.Action.(type) {
				case string:
					p.actions = append(p.actions, a)
				case []any:
					for _, x := range a {
						p.actions = append(p.actions, x.(string))
					}
				}
			}
			out[m[1]] = p
		}
	}
	return out
}

// An iamScenario runs one feature against the fakes and returns the IAM
// actions its calls need; its calls must be granted by the union of
// policies.
type iamScenario struct {
	name     string
	policies []string
	run      func(t *testing.T) map[string]bool
}

// notCalled are actions a documented policy grants though no fake sees a
// request for them: permissions AWS checks inside another call.
var notCalled = map[string]string{
	// S3 checks it while answering GetObject/HeadObject of a missing key:
	// NoSuchKey with it, AccessDenied without (S3's documented behaviour;
	// MinIO answers NoSuchKey either way, so the test shows only the first).
	"assets-fetch s3:ListBucket": "checked by S3 inside GetObject of a missing object",
	// SSM decrypts a SecureString with KMS on the caller's behalf when the
	// parameter uses a customer managed key; the fakes model no KMS.
	"secrets-task kms:Decrypt":      "checked by KMS inside ssm:GetParameter (customer managed key)",
	"secrets-execution kms:Decrypt": "checked by KMS inside ssm:GetParameters (customer managed key)",
}

// Every action an IAM policy in docs/ grants is one its feature's
// scenarios need, and every call those scenarios make against the fakes
// (ECS, EventBridge, Scheduler, CloudWatch Logs, SSM, S3 through MinIO) is
// granted by the feature's policies (issue 21 §3). What AWS checks inside
// a call (iam:PassRole of a task definition's roles, ecs:TagResource of a
// registration with tags, the execution role's ssm:GetParameters for a
// task definition's secrets) is derived from the requests the fakes saw.
func TestIAMPoliciesMatchCalls(t *testing.T) {
	policies := docPolicies(t)
	minio := miniotest.Start(t)
	scenarios := []iamScenario{
		{"deploy with migration, --keep and a task definition file", []string{"deploy"}, iamDeployHappy},
		{"deploy whose rollout fails, rolled back", []string{"deploy"}, iamDeployFails},
		{"deploy whose migration never starts", []string{"deploy"}, iamDeployUnstarted},
		{"deploy status and rollback", []string{"deploy"}, iamDeployStatusRollback},
		{"deploy --schedules", []string{"deploy", "deploy-extras"}, iamDeploySchedules},
		{"deploy run with its log", []string{"deploy", "deploy-extras"}, iamDeployRun},
		{"ECS starts the examples' tasks (execution role)", []string{"secrets-execution"}, iamExecutionRole},
		{"secrets with the key in SSM (task role)", []string{"secrets-task"}, iamSecretsSSM},
		{"assets push --if-absent (CI role)", []string{"assets-push"}, func(t *testing.T) map[string]bool { return iamAssets(t, minio, policies, "push") }},
		{"assets fetch (task role)", []string{"assets-fetch"}, func(t *testing.T) map[string]bool { return iamAssets(t, minio, policies, "fetch") }},
	}
	used := map[string]bool{} // "policy action" some scenario needed
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			granted := map[string]bool{}
			for _, name := range sc.policies {
				p, ok := policies[name]
				if !ok {
					t.Fatalf("no policy marked %q in docs/", name)
				}
				for _, a := range p.actions {
					granted[a] = true
				}
			}
			needed := sc.run(t)
			if len(needed) == 0 {
				t.Fatal("the scenario made no call: it tests nothing")
			}
			for _, a := range slices.Sorted(maps.Keys(needed)) {
				if !granted[a] {
					t.Errorf("%s is needed but not in the policies %v (%s)", a, sc.policies, policies[sc.policies[len(sc.policies)-1]].where)
				}
				for _, name := range sc.policies {
					used[name+" "+a] = true
				}
			}
		})
	}
	if t.Failed() {
		return // a failed scenario did not make all its calls
	}
	for _, name := range slices.Sorted(maps.Keys(policies)) {
		for _, a := range policies[name].actions {
			if used[name+" "+a] || notCalled[name+" "+a] != "" {
				continue
			}
			t.Errorf("policy %s (%s) grants %s, which none of its scenarios needed: remove it, or add the scenario that needs it", name, policies[name].where, a)
		}
	}
}

// iamECS is the ECS fake of deployFake (whose web revision names an
// execution role, as real ones do), with the revisions that were there
// before the scenario's commands ran.
type iamECS struct {
	*ecsfake.Fake
	before map[string]int
}

func newIAMECS(t *testing.T) (*iamECS, []string) {
	f, env := deployFake(t)
	e := &iamECS{Fake: f}
	e.mark()
	return e, env
}

// mark takes the revisions registered so far as the scenario's set-up.
func (e *iamECS) mark() {
	e.before = map[string]int{"web": len(e.Revisions("web")), "job": len(e.Revisions("job"))}
}

// needs adds the actions the fake's calls need: each operation; and what
// ECS authorises inside them: iam:PassRole when a revision entry
// registered or ran names a role, ecs:TagResource when it registered one
// with tags or ran a task with tags.
func (e *iamECS) needs(needed map[string]bool) {
	for op := range e.Calls() {
		needed["ecs:"+op] = true
	}
	passes := func(td types.TaskDefinition) {
		if td.TaskRoleArn != nil || td.ExecutionRoleArn != nil {
			needed["iam:PassRole"] = true
		}
	}
	for fam, n := range e.before {
		for _, rev := range e.Revisions(fam)[n:] {
			td, tags, _ := e.TaskDefinition(fam + ":" + strconv.Itoa(int(rev)))
			passes(td)
			if len(tags) > 0 {
				needed["ecs:TagResource"] = true
			}
		}
	}
	for _, in := range e.RunTaskInputs() {
		td, _, _ := e.TaskDefinition(aws.ToString(in.TaskDefinition))
		passes(td)
		if len(in.Tags) > 0 {
			needed["ecs:TagResource"] = true
		}
	}
}

func iamRun(t *testing.T, env []string, wantCode int, args ...string) {
	t.Helper()
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"ecs/web.json.erb": readFile(t, "../../examples/rails8", "ecs/web.json.erb")})
	if r := runEntry(t, dir, env, args...); r.code != wantCode {
		t.Fatalf("entry %q: exit %d, want %d\n%s%s", args, r.code, wantCode, r.stdout, r.stderr)
	}
}

func iamDeployHappy(t *testing.T) map[string]bool {
	f, env := newIAMECS(t)
	iamRun(t, env, 0, "deploy", "--cluster", "prod", "--service", "web,job", "--image", "repo/app:abc",
		"--migrate", "bin/rails db:migrate", "--keep", "1")
	// A whole task definition from a file: registered with entry's digest tag.
	iamRun(t, append(env, "IMAGE=repo/app:def"), 0, "deploy", "--cluster", "prod", "--service", "web",
		"--task-definition", "ecs/web.json.erb")
	// An image in ECR: checked with DescribeImages before anything is registered.
	reg, ecrEnv := ecrFake(t)
	const repo = "123456789012.dkr.ecr." + ecsfake.Region + ".amazonaws.com/app"
	reg.Push(ecsfake.Region, "123456789012", "app", "ghi", 0)
	iamRun(t, append(env, ecrEnv...), 0, "deploy", "--cluster", "prod", "--service", "web", "--image", repo+":ghi", "--container", "app")
	needed := map[string]bool{}
	f.needs(needed)
	for op := range reg.Calls() {
		needed["ecr:"+op] = true
	}
	if !needed["ecr:DescribeImages"] {
		t.Errorf("the ECR image was not checked: %v", slices.Sorted(maps.Keys(needed)))
	}
	return needed
}

func iamDeployFails(t *testing.T) map[string]bool {
	f, env := newIAMECS(t)
	f.Rollout("prod", "web", ecsfake.Rollout{Outcome: ecsfake.CircuitBreaker})
	iamRun(t, env, 1, "deploy", "--cluster", "prod", "--service", "web,job", "--image", "repo/app:bad")
	needed := map[string]bool{}
	f.needs(needed)
	return needed
}

func iamDeployUnstarted(t *testing.T) map[string]bool {
	f, env := newIAMECS(t)
	f.SetTaskOutcome(ecsfake.TaskOutcome{NeverStarts: true})
	iamRun(t, env, 1, "deploy", "--cluster", "prod", "--service", "web", "--image", "repo/app:new",
		"--migrate", "bin/rails db:migrate", "--timeout", "1s")
	needed := map[string]bool{}
	f.needs(needed)
	if !needed["ecs:StopTask"] {
		t.Errorf("the migration that never started was not stopped")
	}
	return needed
}

func iamDeployStatusRollback(t *testing.T) map[string]bool {
	f, env := newIAMECS(t)
	iamRun(t, env, 0, "deploy", "--cluster", "prod", "--service", "web", "--image", "repo/app:abc")
	iamRun(t, env, 0, "deploy", "status", "--cluster", "prod", "--service", "web")
	iamRun(t, env, 0, "deploy", "rollback", "--cluster", "prod", "--service", "web")
	needed := map[string]bool{}
	f.needs(needed)
	return needed
}

func iamDeploySchedules(t *testing.T) map[string]bool {
	f, env := newIAMECS(t)
	ev, sc, lg, side := sideFakes(t)
	clusterARN := "arn:aws:ecs:" + ecsfake.Region + ":123456789012:cluster/prod"
	jobTD := aws.ToString(f.Service("prod", "job").TaskDefinition)
	ev.AddRule("", "nightly-report", evtypes.Target{Id: aws.String("t"), Arn: aws.String(clusterARN),
		RoleArn:       aws.String("arn:aws:iam::123456789012:role/ecsEventsRole"),
		EcsParameters: &evtypes.EcsParameters{TaskDefinitionArn: aws.String(jobTD), TaskCount: aws.Int32(1)}})
	sc.AddSchedule(recipeSchedule(clusterARN, jobTD))
	iamRun(t, append(env, side...), 0, "deploy", "--cluster", "prod", "--service", "job", "--image", "repo/app:abc", "--schedules")
	needed := map[string]bool{}
	f.needs(needed)
	sideNeeds(needed, ev.Calls(), sc.Calls(), lg.Calls())
	if !needed["events:PutTargets"] || !needed["scheduler:UpdateSchedule"] {
		t.Errorf("the scheduled tasks were not moved: %v", slices.Sorted(maps.Keys(needed)))
	}
	return needed
}

// sideNeeds adds the actions of the EventBridge, Scheduler and Logs
// fakes' calls; a target or schedule rewritten passes its role.
func sideNeeds(needed map[string]bool, events, sched, logs map[string]int) {
	for prefix, calls := range map[string]map[string]int{"events:": events, "scheduler:": sched, "logs:": logs} {
		for op := range calls {
			needed[prefix+op] = true
		}
	}
	if events["PutTargets"] > 0 || sched["UpdateSchedule"] > 0 {
		needed["iam:PassRole"] = true
	}
}

func iamDeployRun(t *testing.T) map[string]bool {
	f, env := newIAMECS(t)
	ev, sc, lg, side := sideFakes(t)
	f.Register(&ecs.RegisterTaskDefinitionInput{
		Family: aws.String("web"), NetworkMode: types.NetworkModeAwsvpc,
		TaskRoleArn: aws.String("arn:aws:iam::123456789012:role/app-task"),
		ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("app"), Image: aws.String("repo/app:new"),
			LogConfiguration: &types.LogConfiguration{LogDriver: types.LogDriverAwslogs, Options: map[string]string{"awslogs-group": "/ecs/web", "awslogs-stream-prefix": "web"}}}},
	})
	f.mark()
	lg.Stream("/ecs/web", "web/app/*", 1, 1, "reconciled")
	iamRun(t, append(env, append(side, "ENTRY_DEPLOY_LOG_GRACE=200ms")...), 0, "deploy", "run", "--cluster", "prod", "--service", "web", "--revision", "new", "--", "bin/rails", "runner", "Invoice.reconcile!")
	needed := map[string]bool{}
	f.needs(needed)
	sideNeeds(needed, ev.Calls(), sc.Calls(), lg.Calls())
	if !needed["logs:GetLogEvents"] {
		t.Errorf("the task's log was not read")
	}
	return needed
}

// iamExecutionRole: ECS itself reads a task definition's secrets before
// the container starts, as the execution role: ssm:GetParameters (one
// call for all of them) for Parameter Store, secretsmanager:GetSecretValue
// for Secrets Manager. The task definitions are the examples'. (Pulling
// from ECR and writing to CloudWatch Logs are the managed
// AmazonECSTaskExecutionRolePolicy's, which the docs do not repeat.)
func iamExecutionRole(t *testing.T) map[string]bool {
	needed := map[string]bool{}
	for _, file := range []string{"../../examples/rails/ecs/web.json.erb", "../../examples/rails8/ecs/web.json.erb"} {
		file, _ = filepath.Abs(file)
		r := runEntry(t, t.TempDir(), []string{"IMAGE=repo/app:1", "DOCKER_REPO=repo/app", "BUILD_NUM=1"}, "render", file)
		var td ecs.RegisterTaskDefinitionInput
		if r.code != 0 || json.Unmarshal([]byte(r.stdout), &td) != nil {
			t.Fatalf("%s: exit %d %s", file, r.code, r.stderr)
		}
		for _, c := range td.ContainerDefinitions {
			for _, s := range c.Secrets {
				switch from := aws.ToString(s.ValueFrom); {
				case strings.HasPrefix(from, "arn:aws:ssm:") || !strings.HasPrefix(from, "arn:"):
					needed["ssm:GetParameters"] = true
				case strings.HasPrefix(from, "arn:aws:secretsmanager:"):
					needed["secretsmanager:GetSecretValue"] = true
				}
			}
		}
	}
	return needed
}

func iamSecretsSSM(t *testing.T) map[string]bool {
	f := newSecretsFixture(t)
	srv := ssmfake.New()
	t.Cleanup(srv.Close)
	srv.Put("/app/production/age-key", ssmfake.Parameter{Value: f.key})
	env := append(slices.Clone(f.env), "AWS_ACCESS_KEY_ID=AKIDFAKE", "AWS_SECRET_ACCESS_KEY=fake", "AWS_REGION=ap-northeast-1",
		"AWS_EC2_METADATA_DISABLED=true", "AWS_ENDPOINT_URL_SSM="+srv.URL, "ENTRY_AGE_KEY_SSM=/app/production/age-key")
	if r := runEntry(t, f.dir, env, "secrets", "decrypt", "config/secrets.yml.enc"); r.code != 0 {
		t.Fatalf("secrets decrypt with the key in SSM: exit %d %s", r.code, r.stderr)
	}
	needed := map[string]bool{}
	for _, c := range srv.Calls() {
		needed["ssm:"+strings.TrimPrefix(c.Target, "AmazonSSM.")] = true
	}
	return needed
}

// s3Recorder is a reverse proxy in front of MinIO that records the IAM
// action each S3 request needs (path-style: /bucket/key).
type s3Recorder struct {
	mu      sync.Mutex
	actions map[string]bool
}

func newS3Recorder(t *testing.T, upstream string) (*s3Recorder, string) {
	u, err := url.Parse(upstream)
	if err != nil {
		t.Fatal(err)
	}
	rec := &s3Recorder{actions: map[string]bool{}}
	proxy := httputil.NewSingleHostReverseProxy(u) // keeps the Host the request was signed for
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec.mu.Lock()
		rec.actions[s3Action(r)] = true
		rec.mu.Unlock()
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return rec, srv.URL
}

// seen returns the actions recorded so far.
func (rec *s3Recorder) seen() map[string]bool {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return maps.Clone(rec.actions)
}

// s3Action is the IAM action S3 authorises a request as.
func s3Action(r *http.Request) string {
	_, key, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	q := r.URL.Query()
	switch {
	case q.Has("location"):
		return "s3:GetBucketLocation"
	case key == "" && (r.Method == http.MethodGet || r.Method == http.MethodHead):
		return "s3:ListBucket" // ListObjects(V2), HeadBucket
	case r.Method == http.MethodGet || r.Method == http.MethodHead:
		return "s3:GetObject" // GetObject, HeadObject
	case r.Method == http.MethodPut:
		return "s3:PutObject"
	case r.Method == http.MethodDelete:
		return "s3:DeleteObject"
	}
	return "s3:" + r.Method + "?" + r.URL.RawQuery
}

// iamAssets runs the CI side (push) or the start side (fetch) of the
// assets manifest with credentials MinIO limits to the documented policy,
// through a recorder: the policy must be enough, and the recorder says
// what it must hold.
func iamAssets(t *testing.T, srv *miniotest.Server, policies map[string]docPolicy, side string) map[string]bool {
	const bucket, prefix = "my-app-assets", "manifests" // the docs' names
	srv.CreateBucket(t, bucket)
	rec, endpoint := newS3Recorder(t, srv.Endpoint)
	creds := func(policy string) []string {
		c := srv.Restricted(t, policy)
		return []string{"AWS_ENDPOINT_URL=" + endpoint, "AWS_REGION=" + miniotest.Region, "AWS_EC2_METADATA_DISABLED=true",
			"AWS_CONFIG_FILE=" + os.DevNull, "AWS_SHARED_CREDENTIALS_FILE=" + os.DevNull,
			"AWS_ACCESS_KEY_ID=" + c.AccessKeyID, "AWS_SECRET_ACCESS_KEY=" + c.SecretAccessKey, "AWS_SESSION_TOKEN=" + c.SessionToken,
			"ENTRY_ASSETS_BUCKET=" + bucket, "ENTRY_ASSETS_PREFIX=" + prefix}
	}
	dir := t.TempDir()
	const manifest = `{"files":{},"assets":{"application.js":"application-0123.js"}}`
	writeFiles(t, dir, map[string]string{"public/packs/manifest.json": manifest,
		"entry.yml": "assets:\n  bucket: " + bucket + "\n  prefix: " + prefix + "\n  manifests:\n    - dst: public/packs/manifest.json\n"})
	if side == "push" {
		env := creds(policies["assets-push"].text)
		for i := 0; i < 2; i++ { // the second finds the object there
			if r := runEntry(t, dir, env, "assets", "push", "--env", "production", "--sha", "0123abc", "--if-absent", "public/packs/manifest.json"); r.code != 0 {
				t.Fatalf("push %d with the documented CI policy: exit %d %s", i+1, r.code, r.stderr)
			}
		}
		return rec.seen()
	}
	assetsPutObject(t, srv, bucket, prefix+"/production/0123abc/manifest.json", manifest, nil)
	env := creds(policies["assets-fetch"].text)
	if r := runEntry(t, dir, append(env, "RAILS_ENV=production", "ENTRY_REVISION=0123abc"), "assets", "fetch"); r.code != 0 {
		t.Fatalf("fetch with the documented task policy: exit %d %s", r.code, r.stderr)
	}
	needed := rec.seen()
	// A missing manifest is named as missing with the documented policy.
	missing := append(env, "RAILS_ENV=production", "ENTRY_REVISION=fedcba9")
	if r := runEntry(t, dir, missing, "assets", "fetch"); r.code != 1 || !strings.Contains(r.stderr, "assets: no manifest at") {
		t.Errorf("a missing manifest with the documented policy: exit %d %q, want 'no manifest at'", r.code, r.stderr)
	}
	return needed
}
