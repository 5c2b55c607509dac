package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	evtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"
	sctypes "github.com/aws/aws-sdk-go-v2/service/scheduler/types"
	"go.yaml.in/yaml/v3"

	"github.com/entryhq/entry/deploy/ecsfake"
)

// The CI recipes of docs/deploy.md run as written: each YAML block that is
// a GitHub Actions workflow, a CodeBuild buildspec or a CircleCI config is
// extracted and played step by step with bash, in a copy of examples/rails
// with Dockerfile.example as its Dockerfile, against the ECS, EventBridge,
// Scheduler and STS fakes. docker and aws are the stand-ins of
// recipes_shims_test.go (docker run applies the image's ENTRYPOINT as
// Docker does, --entrypoint included). A recipe passes when both services
// run a new revision with the image it pushed, after the migration ran.
func TestCIRecipesRunAsWritten(t *testing.T) {
	recipes := ciRecipes(t, "../../docs/deploy.md")
	var kinds []string
	for _, r := range recipes {
		kinds = append(kinds, r.kind)
	}
	if want := []string{"github", "codebuild", "circleci"}; !slices.Equal(kinds, want) {
		t.Fatalf("docs/deploy.md CI recipes: %v, want %v", kinds, want)
	}
	for _, r := range recipes {
		t.Run(r.kind, func(t *testing.T) {
			env := newRecipeEnv(t)
			if err := env.play(r); err != nil {
				t.Fatalf("%s recipe (docs/deploy.md:%d): %v\n%s", r.kind, r.line, err, env.log.String())
			}
			env.checkDeployed(t, r.kind)
		})
	}
	// CodeBuild runs post_build after a failed build unless the phase says
	// on-failure: ABORT: a failed build must not deploy.
	t.Run("codebuild failed build", func(t *testing.T) {
		env := newRecipeEnv(t)
		env.extra = append(env.extra, "RECIPE_FAIL_BUILD=1")
		if err := env.play(recipes[1]); err == nil {
			t.Fatalf("a failed docker build passed\n%s", env.log.String())
		}
		if n := env.ecs.Calls()["RegisterTaskDefinition"] + env.ecs.Calls()["UpdateService"]; n != 0 {
			t.Errorf("a failed build deployed (%d calls)\n%s", n, env.log.String())
		}
	})
}

type ciRecipe struct {
	kind string
	line int
	doc  map[string]any
}

// ciRecipes returns the YAML blocks of a document that are CI recipes.
func ciRecipes(t *testing.T, doc string) []ciRecipe {
	data, err := os.ReadFile(doc)
	if err != nil {
		t.Fatal(err)
	}
	var out []ciRecipe
	for _, b := range codeBlocks(string(data), "yaml") {
		var m map[string]any
		if err := yaml.Unmarshal([]byte(b.text), &m); err != nil {
			t.Errorf("%s:%d: yaml block does not parse: %v", doc, b.line, err)
			continue
		}
		kind := ""
		switch {
		case strings.Contains(b.text, "runs-on:"):
			kind = "github"
		case m["phases"] != nil:
			kind = "codebuild"
		case m["workflows"] != nil:
			kind = "circleci"
		case m["jobs"] != nil || m["steps"] != nil || strings.Contains(b.text, "run:"):
			t.Errorf("%s:%d: a CI fragment, not a whole recipe: make it complete, so this test can run it", doc, b.line)
			continue
		default:
			continue // entry.yml
		}
		out = append(out, ciRecipe{kind, b.line, m})
	}
	return out
}

type codeBlock struct {
	text string
	line int
}

func codeBlocks(text, lang string) []codeBlock {
	var out []codeBlock
	lines := strings.Split(text, "\n")
	for i := 0; i < len(lines); i++ {
		if strings.TrimSpace(lines[i]) != "```"+lang {
			continue
		}
		start := i + 1
		for i++; i < len(lines) && strings.TrimSpace(lines[i]) != "```"; i++ {
		}
		out = append(out, codeBlock{strings.Join(lines[start:i], "\n"), start + 1})
	}
	return out
}

const (
	recipeRegistry = "123456789012.dkr.ecr.ap-northeast-1.amazonaws.com"
	recipeSHA      = "4f1c2e3d4c5b6a798897a6b5c4d3e2f1a0b9c8d7"
)

// recipeEnv is one CI run: the fakes, a checkout, the shims.
type recipeEnv struct {
	t      *testing.T
	ecs    *ecsfake.Fake
	sts    *stsFake
	repo   string   // the checkout
	base   []string // the runner's environment
	extra  []string
	log    strings.Builder
	pushed string // image ref the recipe deployed
}

func newRecipeEnv(t *testing.T) *recipeEnv {
	e := &recipeEnv{t: t, repo: t.TempDir()}
	if out, err := exec.Command("cp", "-a", "../../examples/rails/.", e.repo).CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if out, err := exec.Command("cp", "../../Dockerfile.example", filepath.Join(e.repo, "Dockerfile")).CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	e.ecs = ecsfake.New()
	t.Cleanup(e.ecs.Close)
	failOnModelErrors(t, e.ecs)
	e.ecs.AddCluster("prod")
	net := &types.NetworkConfiguration{AwsvpcConfiguration: &types.AwsVpcConfiguration{Subnets: []string{"subnet-1"}}}
	for _, fam := range []string{"web", "job"} {
		td := e.ecs.Register(&ecs.RegisterTaskDefinitionInput{
			Family: aws.String(fam), NetworkMode: types.NetworkModeAwsvpc, Cpu: aws.String("512"), Memory: aws.String("1024"),
			RequiresCompatibilities: []types.Compatibility{types.CompatibilityFargate},
			ExecutionRoleArn:        aws.String("arn:aws:iam::123456789012:role/ecsTaskExecutionRole"),
			ContainerDefinitions:    []types.ContainerDefinition{{Name: aws.String("app"), Image: aws.String(recipeRegistry + "/app:old"), Command: []string{"role=" + fam}}},
		})
		e.ecs.AddService(ecsfake.ServiceSpec{Cluster: "prod", Name: fam, TaskDefinition: td, DesiredCount: 1,
			LaunchType: types.LaunchTypeFargate, NetworkConfiguration: net, CircuitBreaker: true, Rollback: true})
	}
	ev, sc, _, side := sideFakes(t)
	clusterARN := "arn:aws:ecs:" + ecsfake.Region + ":123456789012:cluster/prod"
	jobTD := "arn:aws:ecs:" + ecsfake.Region + ":123456789012:task-definition/job:1"
	ev.AddRule("", "nightly-report", evtypes.Target{Id: aws.String("t"), Arn: aws.String(clusterARN),
		EcsParameters: &evtypes.EcsParameters{TaskDefinitionArn: aws.String(jobTD), TaskCount: aws.Int32(1)}})
	sc.AddSchedule(recipeSchedule(clusterARN, jobTD))
	e.sts = newSTSFake(t)
	// ECR holds what the docker stand-in pushed.
	reg, ecrEnv := ecrFake(t)
	reg.External = func(region, registry, repo, tag string) bool {
		_, err := os.Stat(stateFile2(e.base, "pushed", registry+".dkr.ecr."+region+".amazonaws.com/"+repo+":"+tag))
		return err == nil
	}
	side = append(side, ecrEnv...)

	bin := t.TempDir()
	test, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"docker", "aws"} {
		if err := os.Symlink(test, filepath.Join(bin, name)); err != nil {
			t.Fatal(err)
		}
	}
	network := append([]string{"AWS_ENDPOINT_URL_ECS=" + e.ecs.URL, "AWS_ENDPOINT_URL_STS=" + e.sts.srv.URL,
		"AWS_EC2_METADATA_DISABLED=true", "AWS_CONFIG_FILE=/nonexistent", "AWS_SHARED_CREDENTIALS_FILE=/nonexistent",
		"ENTRY_DEPLOY_POLL_INTERVAL=10ms"}, side...)
	e.base = append([]string{
		"PATH=" + bin + ":" + os.Getenv("PATH"),
		"HOME=" + t.TempDir(),
		"RECIPE_STATE=" + t.TempDir(),
		"RECIPE_ENTRY=" + entryBin,
		"RECIPE_NETWORK_ENV=" + strings.Join(network, " "),
	}, network...)
	return e
}

// run runs one script as a CI step: bash -eo pipefail, in dir, with env.
func (e *recipeEnv) run(dir string, env []string, script string) error {
	e.log.WriteString("$ " + script + "\n")
	cmd := exec.Command("bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script)
	cmd.Dir = dir
	cmd.Env = append(append(slices.Clone(e.base), e.extra...), env...)
	r := runPrepared(e.t, cmd)
	e.log.WriteString(r.stdout + r.stderr)
	if r.code != 0 {
		return fmt.Errorf("step exited %d: %s", r.code, script)
	}
	return nil
}

// play runs a recipe of its kind.
func (e *recipeEnv) play(r ciRecipe) error {
	switch r.kind {
	case "github":
		return e.playGitHub(r.doc)
	case "codebuild":
		return e.playCodeBuild(r.doc)
	case "circleci":
		return e.playCircleCI(r.doc)
	}
	return fmt.Errorf("unknown kind %s", r.kind)
}

func (e *recipeEnv) playGitHub(doc map[string]any) error {
	env := []string{"GITHUB_SHA=" + recipeSHA, "CI=true"}
	outputs := map[string]string{}
	for _, job := range mapOf(doc["jobs"]) {
		for _, s := range listOf(mapOf(job)["steps"]) {
			step := mapOf(s)
			with := mapOf(step["with"])
			switch uses, _ := step["uses"].(string); {
			case strings.HasPrefix(uses, "actions/checkout@"):
			case strings.HasPrefix(uses, "aws-actions/configure-aws-credentials@"):
				if with["role-to-assume"] == nil || with["aws-region"] == nil || !strings.Contains(fmt.Sprint(doc["permissions"]), "id-token:write") {
					return fmt.Errorf("configure-aws-credentials with OIDC needs role-to-assume, aws-region and permissions id-token: write")
				}
				region := with["aws-region"].(string)
				env = append(env, "AWS_ACCESS_KEY_ID=ASIATESTGITHUB", "AWS_SECRET_ACCESS_KEY=secret", "AWS_SESSION_TOKEN=token",
					"AWS_REGION="+region, "AWS_DEFAULT_REGION="+region)
			case strings.HasPrefix(uses, "aws-actions/amazon-ecr-login@"):
				if err := e.run(e.repo, env, "aws ecr get-login-password | docker login --username AWS --password-stdin "+recipeRegistry); err != nil {
					return err
				}
				if id, ok := step["id"].(string); ok {
					outputs["steps."+id+".outputs.registry"] = recipeRegistry
				}
			case uses != "":
				return fmt.Errorf("step uses %s, which this test does not model", uses)
			default:
				stepEnv := slices.Clone(env)
				for k, v := range mapOf(step["env"]) {
					val, err := githubExpr(fmt.Sprint(v), outputs)
					if err != nil {
						return err
					}
					stepEnv = append(stepEnv, k+"="+val)
				}
				script, err := githubExpr(fmt.Sprint(step["run"]), outputs)
				if err != nil {
					return err
				}
				if err := e.run(e.repo, stepEnv, script); err != nil {
					return err
				}
			}
		}
	}
	e.pushed = recipeRegistry + "/app:" + recipeSHA
	return nil
}

var githubExprRE = regexp.MustCompile(`\$\{\{\s*([^}]*?)\s*\}\}`)

func githubExpr(s string, outputs map[string]string) (string, error) {
	var err error
	out := githubExprRE.ReplaceAllStringFunc(s, func(m string) string {
		name := githubExprRE.FindStringSubmatch(m)[1]
		v, ok := outputs[name]
		if !ok {
			err = fmt.Errorf("expression %s: no such output", m)
		}
		return v
	})
	return out, err
}

// playCodeBuild runs the phases in one shell session (variables exported
// in one command reach the next). A failed phase skips the next phases,
// except post_build, which CodeBuild runs anyway unless the failed phase
// says on-failure: ABORT.
func (e *recipeEnv) playCodeBuild(doc map[string]any) error {
	env := []string{"CODEBUILD_RESOLVED_SOURCE_VERSION=" + recipeSHA, "CODEBUILD_BUILD_SUCCEEDING=1",
		"AWS_REGION=ap-northeast-1", "AWS_DEFAULT_REGION=ap-northeast-1",
		// The project's service role (container credentials in CodeBuild).
		"AWS_ACCESS_KEY_ID=ASIATESTCODEBUILD", "AWS_SECRET_ACCESS_KEY=secret", "AWS_SESSION_TOKEN=token"}
	for k, v := range mapOf(mapOf(doc["env"])["variables"]) {
		env = append(env, fmt.Sprintf("%s=%v", k, v))
	}
	session := filepath.Join(e.t.TempDir(), "session")
	os.WriteFile(session, nil, 0o644)
	phases := mapOf(doc["phases"])
	var failed error
	for _, name := range []string{"install", "pre_build", "build", "post_build"} {
		phase := mapOf(phases[name])
		if phase == nil || (failed != nil && name != "post_build") {
			continue
		}
		for _, c := range listOf(phase["commands"]) {
			script := fmt.Sprintf("source %s\n%s\nexport -p > %s", session, c, session)
			if err := e.run(e.repo, env, script); err != nil {
				if failed == nil {
					failed = err
				}
				if phase["on-failure"] == "ABORT" {
					return failed
				}
				env = append(env, "CODEBUILD_BUILD_SUCCEEDING=0")
				break
			}
		}
	}
	if failed != nil {
		return failed
	}
	for _, f := range listOf(mapOf(doc["artifacts"])["files"]) {
		if _, err := os.Stat(filepath.Join(e.repo, fmt.Sprint(f))); err != nil {
			return fmt.Errorf("artifact %v: %v", f, err)
		}
	}
	e.pushed = recipeRegistry + "/app:" + recipeSHA
	return nil
}

// playCircleCI runs the workflow's jobs in order, each in a fresh checkout
// (a new machine), with its executor's environment, commands expanded and
// $BASH_ENV sourced before each run step, as CircleCI does.
func (e *recipeEnv) playCircleCI(doc map[string]any) error {
	const pipelineNumber = "318"
	executors, commands, jobs := mapOf(doc["executors"]), mapOf(doc["commands"]), mapOf(doc["jobs"])
	oidcDir := e.t.TempDir()
	for _, w := range mapOf(doc["workflows"]) {
		for n, j := range listOf(mapOf(w)["jobs"]) {
			name, _ := j.(string)
			for k := range mapOf(j) {
				name = k
			}
			job := mapOf(jobs[name])
			if job == nil {
				return fmt.Errorf("workflow names job %q, which jobs: lacks", name)
			}
			dir := e.t.TempDir()
			if out, err := exec.Command("cp", "-a", e.repo+"/.", dir).CombinedOutput(); err != nil {
				return fmt.Errorf("%v\n%s", err, out)
			}
			bashEnv := filepath.Join(e.t.TempDir(), "bash_env")
			os.WriteFile(bashEnv, nil, 0o644)
			env := []string{"CIRCLE_SHA1=" + recipeSHA, fmt.Sprintf("CIRCLE_BUILD_NUM=%d", 900+n), "CIRCLE_OIDC_TOKEN_V2=" + stsToken, "BASH_ENV=" + bashEnv}
			vars := map[string]any{}
			for k, v := range mapOf(job["environment"]) {
				vars[k] = v
			}
			if ex := mapOf(executors[fmt.Sprint(job["executor"])]); ex != nil {
				for k, v := range mapOf(ex["environment"]) {
					vars[k] = v
				}
				if ex["machine"] == nil {
					return fmt.Errorf("executor %v: docker run -v and local docker need the machine executor", job["executor"])
				}
			}
			for k, v := range vars {
				val := strings.ReplaceAll(fmt.Sprint(v), "<< pipeline.number >>", pipelineNumber)
				if strings.Contains(val, "<<") {
					return fmt.Errorf("job %s: %s=%s: unknown pipeline value", name, k, val)
				}
				env = append(env, k+"="+val)
			}
			var steps []any
			for _, s := range listOf(job["steps"]) {
				if c, ok := s.(string); ok && commands[c] != nil {
					steps = append(steps, listOf(mapOf(commands[c])["steps"])...)
				} else {
					steps = append(steps, s)
				}
			}
			for _, s := range steps {
				if s == "checkout" {
					continue
				}
				run, ok := mapOf(s)["run"]
				if !ok {
					return fmt.Errorf("job %s: step %v is not modelled", name, s)
				}
				if m := mapOf(run); m != nil {
					run = m["command"]
				}
				// The OIDC token file goes to a private /tmp of this run.
				script := strings.ReplaceAll(fmt.Sprint(run), "/tmp/", oidcDir+"/")
				if err := e.run(dir, env, "source \"$BASH_ENV\"\n"+script); err != nil {
					return fmt.Errorf("job %s: %v", name, err)
				}
			}
		}
	}
	if e.sts.calls() == 0 {
		return fmt.Errorf("entry never assumed the role through the OIDC token (no AssumeRoleWithWebIdentity call)")
	}
	e.pushed = recipeRegistry + "/app:web-b" + pipelineNumber
	return nil
}

// checkDeployed: both services run a new revision of the pushed image, the
// migration ran, and the image was pushed before it was deployed.
func (e *recipeEnv) checkDeployed(t *testing.T, kind string) {
	if _, err := os.Stat(stateFile2(e.base, "pushed", e.pushed)); err != nil {
		t.Errorf("%s: %s was never pushed\n%s", kind, e.pushed, e.log.String())
	}
	for _, svc := range []string{"web", "job"} {
		s := e.ecs.Service("prod", svc)
		td, _, _ := e.ecs.TaskDefinition(aws.ToString(s.TaskDefinition))
		if got := aws.ToString(td.ContainerDefinitions[0].Image); got != e.pushed || td.Revision < 2 {
			t.Errorf("%s: service %s runs %s:%d with %s, want a new revision with %s\n%s", kind, svc, aws.ToString(td.Family), td.Revision, got, e.pushed, e.log.String())
		}
	}
	runs := e.ecs.RunTaskInputs()
	if len(runs) != 1 || !slices.Equal(runs[0].Overrides.ContainerOverrides[0].Command, []string{"bin/rails", "db:migrate"}) {
		t.Errorf("%s: migration RunTask: %+v", kind, runs)
	}
}

func stateFile2(env []string, kind, key string) string {
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "RECIPE_STATE="); ok {
			return filepath.Join(v, kind+"-"+strings.NewReplacer("/", "_", ":", "_").Replace(key))
		}
	}
	return ""
}

func mapOf(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

func listOf(v any) []any {
	l, _ := v.([]any)
	return l
}

// recipeSchedule is an EventBridge Scheduler schedule default/cleanup
// running taskDef in cluster.
func recipeSchedule(cluster, taskDef string) scheduler.GetScheduleOutput {
	return scheduler.GetScheduleOutput{
		Name: aws.String("cleanup"), GroupName: aws.String("default"),
		ScheduleExpression: aws.String("cron(0 4 * * ? *)"), State: sctypes.ScheduleStateEnabled,
		FlexibleTimeWindow: &sctypes.FlexibleTimeWindow{Mode: sctypes.FlexibleTimeWindowModeOff},
		Target: &sctypes.Target{Arn: aws.String(cluster), RoleArn: aws.String("arn:aws:iam::123456789012:role/scheduler"),
			EcsParameters: &sctypes.EcsParameters{TaskDefinitionArn: aws.String(taskDef), TaskCount: aws.Int32(1)}},
	}
}

// stsToken is the OIDC token the CI hands out and STS accepts.
const stsToken = "fake-oidc-token"

// stsFake answers AssumeRoleWithWebIdentity (the query protocol) for the
// token stsToken, as STS does for a role that trusts the CI's OIDC issuer.
type stsFake struct {
	srv *httptest.Server
	mu  sync.Mutex
	n   int
}

func newSTSFake(t *testing.T) *stsFake {
	f := &stsFake{}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		if r.Form.Get("Action") != "AssumeRoleWithWebIdentity" || strings.TrimSpace(r.Form.Get("WebIdentityToken")) != stsToken || r.Form.Get("RoleArn") == "" {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, `<ErrorResponse><Error><Type>Sender</Type><Code>InvalidIdentityToken</Code><Message>bad token</Message></Error></ErrorResponse>`)
			return
		}
		f.mu.Lock()
		f.n++
		f.mu.Unlock()
		w.Header().Set("Content-Type", "text/xml")
		fmt.Fprintf(w, `<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleWithWebIdentityResult><Credentials><AccessKeyId>ASIATESTOIDC</AccessKeyId><SecretAccessKey>secret</SecretAccessKey><SessionToken>token</SessionToken><Expiration>2099-01-01T00:00:00Z</Expiration></Credentials><AssumedRoleUser><Arn>%s/ci</Arn><AssumedRoleId>AROATEST:ci</AssumedRoleId></AssumedRoleUser></AssumeRoleWithWebIdentityResult><ResponseMetadata><RequestId>1</RequestId></ResponseMetadata></AssumeRoleWithWebIdentityResponse>`, r.Form.Get("RoleArn"))
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *stsFake) calls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.n
}
