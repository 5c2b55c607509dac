package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/entryhq/entry/deploy/ecsfake"
	"github.com/entryhq/entry/internal/testtool"
)

// The recipes of docs/cron.md "Several tasks, one crontab" work as
// written. Each is a code block marked <!-- recipe: NAME -->:
//
//   - cron-role: the entry.yml passes entry config check, and its cron role
//     really runs a crontab;
//   - cron-service: the create-service line makes a one-task service that
//     never overlaps (desired count 1, maximumPercent 100), and its entry
//     deploy line moves it, with the other services, to a new revision that
//     still runs the cron role;
//   - cron-schedules: the create-schedule line is a valid schedule (its
//     target checked against the Scheduler API model by the fake), and its
//     entry deploy --schedules line moves it to the new revision.
//
// An "…" in a recipe stands for the reader's own values: the test fills in
// the ones it knows and refuses any other.
func TestCronRecipesRunAsWritten(t *testing.T) {
	recipes := markedRecipes(t, "../../docs/cron.md")
	for _, name := range []string{"cron-role", "cron-service", "cron-schedules"} {
		if _, ok := recipes[name]; !ok {
			t.Fatalf("docs/cron.md: no <!-- recipe: %s --> block", name)
		}
	}
	t.Run("cron-role", func(t *testing.T) { checkCronRoleRecipe(t, recipes["cron-role"]) })
	t.Run("cron-service", func(t *testing.T) { checkCronServiceRecipe(t, recipes["cron-service"], recipes["cron-role"]) })
	t.Run("cron-schedules", func(t *testing.T) { checkCronSchedulesRecipe(t, recipes["cron-schedules"]) })
}

// markedRecipes returns the code blocks of doc that follow a
// <!-- recipe: NAME --> line, dedented to their fence.
func markedRecipes(t *testing.T, doc string) map[string]string {
	data, err := os.ReadFile(doc)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	lines := strings.Split(string(data), "\n")
	for i := 0; i < len(lines); i++ {
		name, ok := strings.CutPrefix(strings.TrimSpace(lines[i]), "<!-- recipe: ")
		if !ok {
			continue
		}
		name = strings.TrimSpace(strings.TrimSuffix(name, "-->"))
		if i+1 >= len(lines) || !strings.HasPrefix(strings.TrimSpace(lines[i+1]), "```") {
			t.Fatalf("%s:%d: recipe %s: no code block right below the marker", doc, i+1, name)
		}
		indent := lines[i+1][:len(lines[i+1])-len(strings.TrimLeft(lines[i+1], " "))]
		var body []string
		for i += 2; i < len(lines) && strings.TrimSpace(lines[i]) != "```"; i++ {
			body = append(body, strings.TrimPrefix(lines[i], indent))
		}
		out[name] = strings.Join(body, "\n") + "\n"
	}
	return out
}

// shellCommands splits a shell snippet into commands (words, quotes
// removed; a backslash-newline joins lines) and its comments.
func shellCommands(t *testing.T, script string) (cmds [][]string, comments []string) {
	var words []string
	var word strings.Builder
	inWord := false
	flush := func() {
		if inWord {
			words = append(words, word.String())
		}
		word.Reset()
		inWord = false
	}
	end := func() {
		flush()
		if len(words) > 0 {
			cmds = append(cmds, words)
		}
		words = nil
	}
	for i := 0; i < len(script); i++ {
		switch c := script[i]; {
		case c == '\\' && i+1 < len(script) && script[i+1] == '\n':
			i++
		case c == '\\' && i+1 < len(script):
			i++
			word.WriteByte(script[i])
			inWord = true
		case c == '\'' || c == '"':
			j := strings.IndexByte(script[i+1:], c)
			if j < 0 {
				t.Fatalf("unterminated %c quote in:\n%s", c, script)
			}
			word.WriteString(script[i+1 : i+1+j])
			inWord = true
			i += j + 1
		case c == '#' && !inWord:
			j := strings.IndexByte(script[i:], '\n')
			if j < 0 {
				j = len(script) - i
			}
			comments = append(comments, strings.TrimSpace(script[i+1:i+j]))
			i += j - 1
		case c == '\n':
			end()
		case c == ' ' || c == '\t':
			flush()
		default:
			word.WriteByte(c)
			inWord = true
		}
	}
	end()
	return cmds, comments
}

// cliFlags reads --name value pairs after the first n words of a command.
func cliFlags(t *testing.T, cmd []string, n int) map[string]string {
	flags := map[string]string{}
	for i := n; i < len(cmd); i++ {
		if cmd[i] == "…" {
			continue // the reader's other flags
		}
		name, ok := strings.CutPrefix(cmd[i], "--")
		if !ok || i+1 >= len(cmd) {
			t.Fatalf("%s: %q is not a --flag VALUE pair", strings.Join(cmd[:n], " "), cmd[i])
		}
		flags[name] = cmd[i+1]
		i++
	}
	return flags
}

// shorthand parses the AWS CLI's Key=Value,Key=Value form.
func shorthand(s string) map[string]string {
	out := map[string]string{}
	for _, kv := range strings.Split(s, ",") {
		k, v, _ := strings.Cut(kv, "=")
		out[k] = v
	}
	return out
}

func checkCronRoleRecipe(t *testing.T, recipe string) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"entry.yml": recipe,
		// A job every second, so that the role shows it runs the crontab.
		"config/crontab": "# tick\n* * * * * *  echo tick >> ticked\n",
	})
	// The image has bundle; this one does nothing.
	bin := t.TempDir()
	writeFiles(t, bin, map[string]string{"bundle": "#!/bin/sh\nexit 0\n"})
	if err := os.Chmod(filepath.Join(bin, "bundle"), 0o755); err != nil {
		t.Fatal(err)
	}
	path := []string{"PATH=" + bin + ":" + os.Getenv("PATH")}
	for _, role := range []string{"role=cron", "role=job"} {
		if r := runEntry(t, dir, path, "config", "check", role); r.code != 0 {
			t.Fatalf("entry config check %s: exit %d\n%s%s", role, r.code, r.stdout, r.stderr)
		}
	}
	if r := runEntry(t, dir, nil, "cron", "check", "config/crontab"); r.code != 0 || !strings.Contains(r.stdout, "tick") {
		t.Fatalf("entry cron check: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	e := startEntry(t, dir, nil, false, "role=cron")
	testtool.Eventually(t, "the cron role to run the tick job", func() bool {
		_, err := os.Stat(filepath.Join(dir, "ticked"))
		return err == nil
	}, func() string { return e.stdout.String() + e.stderr.String() })
	e.signal(syscall.SIGTERM)
	if code := e.wait(testtool.Patience); code != 0 {
		t.Fatalf("role cron exited %d\n%s%s", code, e.stdout.String(), e.stderr.String())
	}
}

// cronDeployFake is the cluster "app" of the recipes: services web and
// job (families app-web and app-job, the job one at revision 42), an
// ECR holding the images.
func cronDeployFake(t *testing.T) (*ecsfake.Fake, []string) {
	f := ecsfake.New()
	t.Cleanup(f.Close)
	failOnModelErrors(t, f)
	f.AddCluster("app")
	for _, svc := range []string{"web", "job"} {
		td := cronRegister(f, "app-"+svc, "role="+svc)
		if svc == "job" {
			for range 41 {
				td = cronRegister(f, "app-job", "role=job")
			}
		}
		f.AddService(ecsfake.ServiceSpec{Cluster: "app", Name: svc, TaskDefinition: td, DesiredCount: 2,
			LaunchType: types.LaunchTypeFargate, NetworkConfiguration: cronNetwork, CircuitBreaker: true, Rollback: true})
	}
	reg, ecrEnv := ecrFake(t)
	reg.Push(ecsfake.Region, ecsfake.Account, "app", "new", 0)
	return f, append([]string{"AWS_ENDPOINT_URL_ECS=" + f.URL, "AWS_REGION=" + ecsfake.Region,
		"AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "AWS_EC2_METADATA_DISABLED=true",
		"AWS_CONFIG_FILE=/nonexistent", "AWS_SHARED_CREDENTIALS_FILE=/nonexistent",
		"ENTRY_DEPLOY_POLL_INTERVAL=10ms"}, ecrEnv...)
}

var cronNetwork = &types.NetworkConfiguration{AwsvpcConfiguration: &types.AwsVpcConfiguration{Subnets: []string{"subnet-1"}}}

const cronImage = ecsfake.Account + ".dkr.ecr." + ecsfake.Region + ".amazonaws.com/app:new"

func cronRegister(f *ecsfake.Fake, family string, command ...string) string {
	return f.Register(&ecs.RegisterTaskDefinitionInput{
		Family: aws.String(family), NetworkMode: types.NetworkModeAwsvpc, Cpu: aws.String("512"), Memory: aws.String("1024"),
		RequiresCompatibilities: []types.Compatibility{types.CompatibilityFargate},
		ContainerDefinitions:    []types.ContainerDefinition{{Name: aws.String("app"), Image: aws.String(strings.TrimSuffix(cronImage, ":new") + ":old"), Command: command}},
	})
}

// runDeployLine runs a recipe's entry deploy command, its "…" given the
// image to deploy.
func runDeployLine(t *testing.T, env []string, cmd []string) {
	if len(cmd) < 2 || cmd[0] != "entry" || cmd[1] != "deploy" {
		t.Fatalf("want an entry deploy command, got %q", cmd)
	}
	var args []string
	for _, w := range cmd[1:] {
		if w == "…" {
			args = append(args, "--image", cronImage)
			continue
		}
		args = append(args, w)
	}
	if !slices.Contains(args, "--image") {
		t.Fatalf("%q: no … for the image and the reader's other flags", cmd)
	}
	if r := runEntry(t, t.TempDir(), env, args...); r.code != 0 {
		t.Fatalf("%s: exit %d\n%s%s", strings.Join(cmd, " "), r.code, r.stdout, r.stderr)
	}
}

// checkRevision: service svc of cluster app runs a newer revision than
// old, with the deployed image and command.
func checkRevision(t *testing.T, f *ecsfake.Fake, svc string, old int32, command []string) {
	td, _, _ := f.TaskDefinition(aws.ToString(f.Service("app", svc).TaskDefinition))
	c := td.ContainerDefinitions[0]
	if td.Revision <= old || aws.ToString(c.Image) != cronImage || !slices.Equal(c.Command, command) {
		t.Errorf("service %s runs %s:%d (%s, command %q), want a revision after %d with %s, command %q",
			svc, aws.ToString(td.Family), td.Revision, aws.ToString(c.Image), c.Command, old, cronImage, command)
	}
}

func checkCronServiceRecipe(t *testing.T, recipe, roles string) {
	cmds, comments := shellCommands(t, recipe)
	if len(cmds) != 2 || strings.Join(cmds[0][:3], " ") != "aws ecs create-service" {
		t.Fatalf("want aws ecs create-service and entry deploy, got %q", cmds)
	}
	flags := cliFlags(t, cmds[0], 3)
	dc := shorthand(flags["deployment-configuration"])
	if flags["desired-count"] != "1" || dc["minimumHealthyPercent"] != "0" || dc["maximumPercent"] != "100" {
		t.Errorf("create-service: --desired-count %s --deployment-configuration %s: a one-task service that never overlaps needs 1, minimumHealthyPercent=0,maximumPercent=100",
			flags["desired-count"], flags["deployment-configuration"])
	}
	for k := range dc {
		if _, ok := ecsfake.ECSModel().Shapes["DeploymentConfiguration"].Members[k]; !ok {
			t.Errorf("create-service: --deployment-configuration: ECS has no %q", k)
		}
	}
	// The task definition's command, from the comment, names a role of
	// the cron-role recipe.
	var command []string
	for _, c := range comments {
		if v, ok := strings.CutPrefix(c, "the task definition's command:"); ok {
			if err := json.Unmarshal([]byte(v), &command); err != nil {
				t.Fatalf("comment %q: %v", c, err)
			}
		}
	}
	role, ok := strings.CutPrefix(strings.Join(command, " "), "role=")
	if !ok || !strings.Contains(roles, "\n  "+role+":\n") {
		t.Fatalf("the task definition's command %q is not role=ROLE for a role of the cron-role recipe:\n%s", command, roles)
	}

	f, env := cronDeployFake(t)
	desired, err := strconv.Atoi(flags["desired-count"])
	if err != nil {
		t.Fatal(err)
	}
	cronTD := cronRegister(f, flags["task-definition"], command...)
	f.AddService(ecsfake.ServiceSpec{Cluster: "app", Name: flags["service-name"], TaskDefinition: cronTD, DesiredCount: int32(desired),
		LaunchType: types.LaunchTypeFargate, NetworkConfiguration: cronNetwork, CircuitBreaker: true, Rollback: true})
	runDeployLine(t, env, cmds[1])
	checkRevision(t, f, "web", 1, []string{"role=web"})
	checkRevision(t, f, "job", 42, []string{"role=job"})
	checkRevision(t, f, flags["service-name"], 1, command)
}

func checkCronSchedulesRecipe(t *testing.T, recipe string) {
	cmds, _ := shellCommands(t, recipe)
	if len(cmds) != 2 || strings.Join(cmds[0][:3], " ") != "aws scheduler create-schedule" {
		t.Fatalf("want aws scheduler create-schedule and entry deploy, got %q", cmds)
	}
	flags := cliFlags(t, cmds[0], 3)
	f, env := cronDeployFake(t)
	_, sc, _, side := sideFakes(t)
	env = append(env, side...)

	// The reader's values for the "…" of the target.
	target := strings.NewReplacer(
		"arn:aws:ecs:…:", "arn:aws:ecs:"+ecsfake.Region+":"+ecsfake.Account+":",
		`"RoleArn":"…"`, `"RoleArn":"arn:aws:iam::`+ecsfake.Account+`:role/scheduler"`,
		`"NetworkConfiguration":{…}`, `"NetworkConfiguration":{"awsvpcConfiguration":{"Subnets":["subnet-1"]}}`,
	).Replace(flags["target"])
	if strings.Contains(target, "…") {
		t.Fatalf("create-schedule --target: an … this test cannot fill in: %s", target)
	}
	window := map[string]string{}
	for k, v := range shorthand(flags["flexible-time-window"]) {
		window[k] = v
	}
	// The fake serves UpdateSchedule, whose input is CreateSchedule's: it
	// checks the schedule against the Scheduler API model.
	name := flags["name"]
	placeholder := recipeSchedule("arn:aws:ecs:"+ecsfake.Region+":"+ecsfake.Account+":cluster/app", "placeholder")
	placeholder.Name = aws.String(name)
	sc.AddSchedule(placeholder)
	body, _ := json.Marshal(map[string]any{
		"ScheduleExpression": flags["schedule-expression"], "FlexibleTimeWindow": window, "Target": json.RawMessage(target)})
	req, _ := http.NewRequest(http.MethodPut, sc.URL+"/schedules/"+name, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=test/20260102/"+ecsfake.Region+"/scheduler/aws4_request")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	answer := new(bytes.Buffer)
	answer.ReadFrom(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("create-schedule %s: the Scheduler API refuses it: %s\n%s", flags["name"], answer, body)
	}
	got, _ := sc.Schedule("default", name)
	tgt := got.Target
	if tgt == nil || tgt.EcsParameters == nil || tgt.Input == nil {
		t.Fatalf("schedule target without EcsParameters or Input: %+v", tgt)
	}
	// The Input overrides a container the task definition has.
	var input struct {
		ContainerOverrides []struct {
			Name    string
			Command []string
		}
	}
	if err := json.Unmarshal([]byte(*tgt.Input), &input); err != nil || len(input.ContainerOverrides) != 1 {
		t.Fatalf("target Input %q: want one containerOverrides entry (%v)", *tgt.Input, err)
	}
	old := aws.ToString(tgt.EcsParameters.TaskDefinitionArn)
	td, _, ok := f.TaskDefinition(old)
	if !ok || aws.ToString(td.ContainerDefinitions[0].Name) != input.ContainerOverrides[0].Name || len(input.ContainerOverrides[0].Command) == 0 {
		t.Fatalf("target runs %s, overriding container %q with %q: want a task definition of the cluster and its container",
			old, input.ContainerOverrides[0].Name, input.ContainerOverrides[0].Command)
	}

	runDeployLine(t, env, cmds[1])
	checkRevision(t, f, "job", 42, []string{"role=job"})
	got, _ = sc.Schedule("default", name)
	now := aws.ToString(got.Target.EcsParameters.TaskDefinitionArn)
	if want := fmt.Sprintf("%s:%d", strings.TrimSuffix(old, ":42"), 43); now != want || aws.ToString(got.Target.Input) != *tgt.Input {
		t.Errorf("after entry deploy --schedules the schedule runs %s (input %s), want %s (input kept)", now, aws.ToString(got.Target.Input), want)
	}
}

// The JSON events docs/cron.md names are those of docs/supervise.md's
// table (all of its cron_ events but cron_scheduled, which is no run's),
// and a crontab run with --log-format json writes them with the job and
// its outcome.
func TestCronDocsEventNames(t *testing.T) {
	cronDoc, err := os.ReadFile("../../docs/cron.md")
	if err != nil {
		t.Fatal(err)
	}
	superviseDoc, err := os.ReadFile("../../docs/supervise.md")
	if err != nil {
		t.Fatal(err)
	}
	eventRE := regexp.MustCompile("`(cron_[a-z_]+)`")
	named := map[string]bool{}
	for _, m := range eventRE.FindAllStringSubmatch(string(cronDoc), -1) {
		named[m[1]] = true
	}
	table := map[string]bool{}
	for _, m := range regexp.MustCompile("(?m)^\\| `(cron_[a-z_]+)` \\|").FindAllStringSubmatch(string(superviseDoc), -1) {
		table[m[1]] = true
	}
	for e := range named {
		if !table[e] {
			t.Errorf("docs/cron.md names the event %s, which docs/supervise.md's table of events lacks", e)
		}
	}
	for e := range table {
		if !named[e] && e != "cron_scheduled" {
			t.Errorf("docs/cron.md does not name the cron event %s of docs/supervise.md", e)
		}
	}

	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"crontab": "# good\n* * * * * *  true\n# bad\n* * * * * *  exit 3\n# slow\n* * * * * *  sleep 30\n"})
	e := startEntry(t, dir, nil, false, "cron", "run", "--log-format", "json", "crontab")
	for _, w := range []string{
		`"event":"cron_run",`, `"event":"cron_ok",`, `"job":"good",`, `"event":"cron_failed",`, `"exit_code":3,`,
		`"event":"cron_skipped",`, `"job":"slow","due":`,
	} {
		e.waitFor(w, testtool.Patience)
	}
	e.signal(syscall.SIGTERM)
	if code := e.wait(testtool.Patience); code != 0 {
		t.Fatalf("entry cron run exited %d\n%s%s", code, e.stdout.String(), e.stderr.String())
	}
	seen := map[string]bool{}
	for _, line := range strings.Split(e.stdout.String()+e.stderr.String(), "\n") {
		var ev struct{ Event, Job, Outcome string }
		if json.Unmarshal([]byte(line), &ev) == nil && strings.HasPrefix(ev.Event, "cron_") {
			seen[ev.Event+" "+ev.Job+" "+ev.Outcome] = true
		}
	}
	for _, w := range []string{"cron_ok good ok", "cron_failed bad failed", "cron_skipped slow skipped", "cron_stopped slow stopped"} {
		if !seen[w] {
			t.Errorf("no event %q in:\n%s%s", w, e.stdout.String(), e.stderr.String())
		}
	}
}

// The transcript of docs/cron.md "Running a job now" is what entry ctl run
// prints and exits with, against a role whose crontab has the jobs it
// names (db-cleanup succeeds, reports exits 3). Durations may differ.
func TestCronDocsCtlRunTranscript(t *testing.T) {
	data, err := os.ReadFile("../../docs/cron.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(data), "\n## Running a job now\n")
	if !ok {
		t.Fatal("docs/cron.md: no section \"Running a job now\"")
	}
	blocks := codeBlocks(section, "")
	if len(blocks) == 0 {
		t.Fatal("docs/cron.md \"Running a job now\": no transcript")
	}
	type step struct {
		args []string
		want []string
		code int
	}
	var steps []*step
	for _, line := range strings.Split(blocks[0].text, "\n") {
		cmd, isCmd := strings.CutPrefix(line, "$ ")
		switch {
		case isCmd && cmd == "echo $?":
			if len(steps) == 0 {
				t.Fatalf("transcript: echo $? before any command")
			}
			steps = append(steps, &step{}) // its output is the exit code
		case isCmd:
			cmd, _, _ = strings.Cut(cmd, "#")
			words := strings.Fields(cmd)
			if len(words) < 4 || strings.Join(words[:2], " ") != "docker exec" || words[3] != "entry" {
				t.Fatalf("transcript: %q is not docker exec CONTAINER entry ...", line)
			}
			steps = append(steps, &step{args: words[4:]})
		case len(steps) > 0 && steps[len(steps)-1].args == nil:
			code, err := strconv.Atoi(line)
			if err != nil {
				t.Fatalf("transcript: echo $? printed %q", line)
			}
			steps[len(steps)-2].code = code
		case len(steps) > 0:
			steps[len(steps)-1].want = append(steps[len(steps)-1].want, line)
		}
	}

	dir := t.TempDir()
	sock, env := ctlEnv(t)
	writeFiles(t, dir, map[string]string{
		"entry.yml": "roles:\n  job:\n    cron: {crontab: crontab}\n",
		"crontab":   "# db-cleanup\n@every 1h  echo cleaning\n# reports\n@every 1h  echo no report; exit 3\n",
	})
	r := startEntry(t, dir, env, false, "role=job")
	waitSocket(t, r, sock)
	duration := regexp.MustCompile(`[0-9]+\\\.[0-9]+s`)
	ran := 0
	for _, s := range steps {
		if s.args == nil {
			continue
		}
		ran++
		res := runEntry(t, dir, env, s.args...)
		pattern := duration.ReplaceAllString(regexp.QuoteMeta(strings.Join(s.want, "\n")), `[0-9.]+(µs|ms|s)`)
		if got := strings.TrimSuffix(res.stdout+res.stderr, "\n"); res.code != s.code || !regexp.MustCompile("^"+pattern+"$").MatchString(got) {
			t.Errorf("entry %s: exit %d, printed\n%s\ndocs/cron.md shows exit %d,\n%s", strings.Join(s.args, " "), res.code, got, s.code, strings.Join(s.want, "\n"))
		}
	}
	if ran != 2 {
		t.Errorf("transcript: %d commands, want the 2 runs", ran)
	}
}
