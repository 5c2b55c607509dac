package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/entryhq/entry/internal/testtool"
)

// railsNew stands for the files of a Rails 8 application that `rails new`
// generates and examples/rails8 does not hold (docs/rails.md): the
// binstubs its entry.yml and Dockerfile run, and the directories the
// Dockerfile gives to the non-root user. bin/thrust answers GET on
// HTTP_PORT as Thruster would once Puma serves /up; bin/rails server and
// bin/jobs run until SIGTERM; bin/rails db:prepare says it ran.
var railsNew = map[string]string{
	"Gemfile":      "source \"https://rubygems.org\"\ngem \"rails\", \"~> 8.0\"\ngem \"thruster\"\ngem \"solid_queue\"\n",
	"Gemfile.lock": "# stand-in: not a lock file\n",
	"bin/rails": "#!/bin/sh\n" +
		"case \"$1\" in server) ;; db:prepare) echo \"db:prepare ran as user $(id -u)\"; exit 0;; *) exit 0;; esac\n" +
		"trap 'exit 0' TERM; echo \"rails server up on $TARGET_PORT\"; while :; do sleep 0.05; done\n",
	"bin/thrust": "#!/bin/sh\n" +
		"\"$@\" &\n" +
		"exec ruby -rsocket -e 'trap(\"TERM\") { exit }; s = TCPServer.new(\"127.0.0.1\", Integer(ENV[\"HTTP_PORT\"])); loop { c = s.accept; c.gets; c.print \"HTTP/1.1 200 OK\\r\\nContent-Length: 2\\r\\nConnection: close\\r\\n\\r\\nOK\"; c.close }'\n",
	"bin/jobs":      "#!/bin/sh\ntrap 'exit 0' TERM; echo 'jobs up'; while :; do sleep 0.05; done\n",
	"db/.keep":      "",
	"log/.keep":     "",
	"storage/.keep": "",
	"tmp/.keep":     "",
}

// The Rails 8 example (examples/rails8, docs/rails.md) is played as
// Dockerfile.example is: its RUN lines against a copy of the example with
// what `rails new` generates, then the ENTRYPOINT with its CMD for both
// roles, the ECS task definitions, and the web role started as PID 1 by a
// user who is not root, answering entry health as ECS's healthCheck asks.
func TestDockerfileRails8(t *testing.T) {
	b := playDockerfile(t, readFile(t, "../../examples/rails8", "Dockerfile"), "examples/rails8", nil, railsNew)
	if b.failed != "" {
		t.Fatal(b.failed)
	}
	if b.entryRuns != 2 {
		t.Errorf("the RUN lines ran entry %d times; want the 2 config checks of the Dockerfile", b.entryRuns)
	}
	if !slices.Equal(b.entrypoint, []string{"entry"}) || !slices.Equal(b.cmd, []string{"role=web"}) {
		t.Fatalf("ENTRYPOINT %q CMD %q, want [\"entry\"] [\"role=web\"]", b.entrypoint, b.cmd)
	}
	if b.user != "1000:1000" {
		t.Errorf("USER %q, want Rails' 1000:1000", b.user)
	}
	// entry comes from the released image, as Dockerfile.example's does.
	if want := []string{publishedCopy(t)}; !slices.Equal(b.entryCopies, want) {
		t.Errorf("examples/rails8/Dockerfile copies entry with %q, want %q", b.entryCopies, want)
	}
	// jemalloc: LD_PRELOAD names the link a RUN line made, to the library
	// libjemalloc2 installs for the machine the image is built for.
	link, err := os.Readlink(b.root + b.preload)
	if want := "/usr/lib/$(uname -m)-linux-gnu/libjemalloc.so.2"; err != nil || !strings.HasPrefix(link, "/usr/lib/") || !strings.HasSuffix(link, "-linux-gnu/libjemalloc.so.2") {
		t.Errorf("LD_PRELOAD=%q: link %q (%v), want a link made by the build to %s", b.preload, link, err, want)
	}
	if !slices.Contains(b.imageEnv, "RAILS_ENV=production") {
		t.Errorf("the image's environment lacks RAILS_ENV=production: %q", b.imageEnv)
	}
	if _, err := os.Stat(filepath.Join(b.app, "bin/docker-entrypoint")); err == nil {
		t.Errorf("examples/rails8 still has bin/docker-entrypoint")
	}
	// What the container starts with, in production, for each role: no
	// warning, and each program is one the image has.
	plans := map[string]string{}
	for _, role := range []string{"web", "job"} {
		args := []string{"config", "check", "role=" + role}
		if role == "web" {
			args = append([]string{"config", "check"}, b.cmd...)
		}
		r := runEntry(t, b.app, b.imageEnv, args...)
		if r.code != 0 || !strings.Contains(r.stdout, "start role "+role) || r.stderr != "" {
			t.Errorf("entry %q: exit %d\n%s%s", args, r.code, r.stdout, r.stderr)
		}
		plans[role] = r.stdout
	}
	yml := readFile(t, b.app, "entry.yml")
	port := regexp.MustCompile(`HTTP_PORT: "(\d+)"`).FindStringSubmatch(yml)
	if port == nil || !strings.Contains(readFile(t, b.app, "Dockerfile"), "EXPOSE "+port[1]+"\n") {
		t.Fatalf("entry.yml's HTTP_PORT %v is not the port the Dockerfile exposes", port)
	}
	if want := "./bin/thrust ./bin/rails server (ready http://127.0.0.1:" + port[1] + "/up)"; !strings.Contains(plans["web"], want) {
		t.Errorf("the web role does not run Thruster with a ready check through it: want %q in\n%s", want, plans["web"])
	}
	checkRails8TaskDefinitions(t, b.app, port[1])

	// The roles started below bind a free port on 127.0.0.1 in place of
	// the example's.
	free := fmt.Sprint(freePort(t))
	os.WriteFile(filepath.Join(b.app, "entry.yml"), []byte(strings.ReplaceAll(yml, port[1], free)), 0o644)

	// db:prepare at start only for the web role of a container given
	// DB_PREPARE, as bin/docker-entrypoint ran it only for the server: not
	// by default (ECS: entry deploy --migrate), not for the job role, not
	// for a command.
	t.Run("db:prepare hook", func(t *testing.T) {
		if r := runEntry(t, b.app, append(b.imageEnv, "DB_PREPARE=1"), "./bin/rails", "about"); r.code != 0 || strings.Contains(r.stdout, "db:prepare ran") {
			t.Errorf("a command with DB_PREPARE=1: exit %d\n%s%s", r.code, r.stdout, r.stderr)
		}
		for _, c := range []struct {
			env  []string
			args []string
			up   string
		}{
			{nil, b.cmd, "rails server up"},
			{[]string{"DB_PREPARE=1"}, []string{"role=job"}, "jobs up"},
		} {
			r := startEntry(t, b.app, append(slices.Clone(b.imageEnv), c.env...), false, c.args...)
			r.waitFor(c.up, testtool.Patience)
			if strings.Contains(r.stdout.String(), "db:prepare ran") {
				t.Errorf("%v %v: the hook ran db:prepare:\n%s", c.env, c.args, r.stdout.String())
			}
			r.signal(syscall.SIGTERM)
			if code := r.wait(testtool.Patience); code != 0 {
				t.Errorf("%v %v: exit %d after SIGTERM\n%s", c.env, c.args, code, r.stderr.String())
			}
		}
	})

	t.Run("non-root web role answers entry health", func(t *testing.T) {
		testtool.RequireRoot(t)
		testtool.Require(t, "ruby")
		var env []string // the image's ENV; the container has its own PATH and HOME
		for _, kv := range b.imageEnv {
			if !strings.HasPrefix(kv, "PATH=") && !strings.HasPrefix(kv, "HOME=") {
				env = append(env, kv)
			}
		}
		// DB_PREPARE as for one container run by hand: the hook runs
		// db:prepare before the server, as the user the role runs as.
		c := startContainerDir(t, true, b.app, "rails server up on 3000", append(env, "DB_PREPARE=1"), b.cmd...)
		if out := c.stdout.String(); !strings.Contains(out, "db:prepare ran as user 65534\n") || strings.Index(out, "db:prepare ran") > strings.Index(out, "rails server up") {
			t.Errorf("DB_PREPARE=1: db:prepare did not run before the server:\n%s", out)
		}
		if !strings.Contains(c.stderr.String(), "entry: control socket /tmp/entry-65534.sock (user 65534 cannot create /run/entry.sock)\n") {
			t.Errorf("no word of the control socket's fallback:\n%s", c.stderr.String())
		}
		// As ECS runs the healthCheck: the image's user and WORKDIR, the
		// task's environment, none of the ENTRYPOINT's flags.
		testtool.Eventually(t, "entry health", func() bool {
			return c.exec(true, "/run/app", env, "health").stdout == "healthy\n"
		})
		if r := c.exec(true, "/run/app", nil, "ctl", "stop", "rails"); r.code != 0 {
			t.Fatalf("entry ctl stop rails: %+v", r)
		}
		r := c.exec(true, "/run/app", nil, "health")
		if r.code != 1 || !strings.Contains(r.stderr, "rails") {
			t.Errorf("entry health with Thruster stopped: exit %d, stderr %q; want unhealthy naming rails", r.code, r.stderr)
		}
		c.stop()
	})
}

// checkRails8TaskDefinitions renders the example's ECS task definitions
// and checks what the migration guide promises of them.
func checkRails8TaskDefinitions(t *testing.T, app, port string) {
	t.Helper()
	for _, role := range []string{"web", "job"} {
		file := "ecs/" + role + ".json.erb"
		r := runEntry(t, app, []string{"IMAGE=123456789012.dkr.ecr.ap-northeast-1.amazonaws.com/app:0123abc"}, "render", file)
		if r.code != 0 {
			t.Fatalf("entry render %s: exit %d\n%s", file, r.code, r.stderr)
		}
		var td struct {
			Family               string
			ContainerDefinitions []struct {
				Command      []string
				StopTimeout  int
				PortMappings []struct{ ContainerPort int }
				Secrets      []struct{ Name string }
				HealthCheck  struct{ Command []string }
			}
		}
		if err := json.Unmarshal([]byte(r.stdout), &td); err != nil || len(td.ContainerDefinitions) != 1 {
			t.Fatalf("%s: %v\n%s", file, err, r.stdout)
		}
		c := td.ContainerDefinitions[0]
		if td.Family != role || !slices.Equal(c.Command, []string{"role=" + role}) {
			t.Errorf("%s: family %q command %q", file, td.Family, c.Command)
		}
		if !slices.Equal(c.HealthCheck.Command, []string{"CMD", "entry", "health"}) {
			t.Errorf("%s: healthCheck %q, want [CMD entry health]", file, c.HealthCheck.Command)
		}
		if c.StopTimeout <= 25 {
			t.Errorf("%s: stopTimeout %d is not above the processes' stop_timeout 25s", file, c.StopTimeout)
		}
		if !slices.ContainsFunc(c.Secrets, func(s struct{ Name string }) bool { return s.Name == "RAILS_MASTER_KEY" }) {
			t.Errorf("%s: no RAILS_MASTER_KEY secret", file)
		}
		if role == "web" && (len(c.PortMappings) != 1 || fmt.Sprint(c.PortMappings[0].ContainerPort) != port) {
			t.Errorf("%s: portMappings %v, want HTTP_PORT %s", file, c.PortMappings, port)
		}
	}
}

// docs/rails.md shows pieces of examples/rails8, which TestDockerfileRails8
// checks: each line of its entry.yml snippets and each instruction of its
// Dockerfile snippets must be the example's, so the page cannot drift.
func TestRailsDocMatchesExample(t *testing.T) {
	doc := readFile(t, "../..", "docs/rails.md")
	yml := strings.Split(readFile(t, "../../examples/rails8", "entry.yml"), "\n")
	checked := 0
	for _, b := range codeBlocks(doc, "yaml") {
		for _, line := range strings.Split(b.text, "\n") {
			if strings.TrimSpace(line) == "" {
				continue
			}
			checked++
			if !slices.Contains(yml, line) {
				t.Errorf("docs/rails.md:%d: %q is not a line of examples/rails8/entry.yml", b.line, line)
			}
		}
	}
	oneSpace := func(s string) string { return strings.Join(strings.Fields(s), " ") }
	var instructions []string
	for _, ins := range dockerInstructions(readFile(t, "../../examples/rails8", "Dockerfile")) {
		instructions = append(instructions, oneSpace(ins))
	}
	for _, b := range codeBlocks(doc, "dockerfile") {
		for _, ins := range dockerInstructions(b.text) {
			checked++
			if !slices.Contains(instructions, oneSpace(ins)) {
				t.Errorf("docs/rails.md:%d: %q is not an instruction of examples/rails8/Dockerfile", b.line, ins)
			}
		}
	}
	if checked < 15 {
		t.Errorf("checked %d lines of docs/rails.md's snippets; the page lost its yaml or dockerfile blocks", checked)
	}
}
