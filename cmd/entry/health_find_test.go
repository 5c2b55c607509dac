package main

import (
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/entryhq/entry/internal/testtool"
)

// A container is entry started as PID 1 of new PID and mount namespaces
// that look like an image's: entry at /run/bin/entry, the app in /run/app,
// a fresh /tmp, and /run writable by root only.
type container struct {
	*runningEntry
}

// asNobody runs a command as user and group 65534, like a non-root USER.
var asNobody = []string{"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"}

func startContainer(t *testing.T, nonRoot bool, files map[string]string, env []string, args ...string) *container {
	t.Helper()
	stage := t.TempDir()
	writeFiles(t, stage, files)
	return startContainerDir(t, nonRoot, stage, "app | up", env, args...)
}

// startContainerDir is startContainer with the app's files copied from
// stage, modes kept; it returns once entry's output holds up.
func startContainerDir(t *testing.T, nonRoot bool, stage, up string, env []string, args ...string) *container {
	t.Helper()
	testtool.Require(t, "setpriv")
	testtool.Require(t, "nsenter")
	user := ""
	if nonRoot {
		user = strings.Join(asNobody, " ")
	}
	script := fmt.Sprintf(`set -e
mount -t tmpfs -o mode=0755 tmpfs /run
mkdir -p /run/bin /run/app
cp %s /run/bin/entry
cp -R %s/. /run/app/
chmod -R a+rX /run/bin /run/app
mount -t tmpfs -o mode=1777 tmpfs /tmp
cd /run/app
exec %s /run/bin/entry "$@"`, entryBin, stage, user)
	r := &runningEntry{t: t}
	r.cmd = exec.Command("/bin/sh", append([]string{"-c", script, "sh"}, args...)...)
	r.cmd.Env = append([]string{"PATH=" + "/usr/bin:/bin:/usr/sbin:/sbin"}, env...)
	r.cmd.Stdout, r.cmd.Stderr = &r.stdout, &r.stderr
	r.pid = testtool.StartContained(t, r.cmd, true)
	r.waitFor(up, testtool.Patience)
	return &container{r}
}

// exec runs entry inside the container (docker exec): in dir, with only
// env, as root or as nobody.
func (c *container) exec(nonRoot bool, dir string, env []string, args ...string) result {
	c.t.Helper()
	// nsenter opens --wd= before entering the mount namespace: change
	// directory inside it instead.
	argv := []string{"-t", strconv.Itoa(c.pid), "-m", "-p"}
	if nonRoot {
		argv = append(argv, asNobody...)
	}
	argv = append(argv, append([]string{"/bin/sh", "-c", `cd "$1" && shift && exec /run/bin/entry "$@"`, "sh", dir}, args...)...)
	ctx, cancel := context.WithTimeout(context.Background(), testtool.Patience)
	defer cancel()
	cmd := exec.CommandContext(ctx, "nsenter", argv...)
	cmd.Env = append([]string{"PATH=/usr/bin:/bin"}, env...)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		c.t.Fatalf("nsenter %v: %v", argv, err)
	}
	return result{stdout.String(), stderr.String(), code}
}

// healthy checks that entry health, run as ECS runs it (the task's
// environment, the image's WORKDIR, none of the ENTRYPOINT's flags),
// finds the supervisor.
func (c *container) healthy(nonRoot bool, dir string, env ...string) {
	c.t.Helper()
	if r := c.exec(nonRoot, dir, env, "health"); r.code != 0 || r.stdout != "healthy\n" {
		c.t.Fatalf("entry health in %s with %v (nonRoot %v): exit %d\nstdout %q\nstderr %q\nentry's stderr:\n%s", dir, env, nonRoot, r.code, r.stdout, r.stderr, c.stderr.String())
	}
	if r := c.exec(nonRoot, dir, env, "ctl", "status"); r.code != 0 || !strings.Contains(r.stdout, "app ") {
		c.t.Fatalf("entry ctl status in %s with %v: exit %d\nstdout %q\nstderr %q", dir, env, r.code, r.stdout, r.stderr)
	}
}

func (c *container) stop() {
	c.t.Helper()
	c.signal(syscall.SIGTERM)
	if code := c.wait(testtool.Patience); code != 0 {
		c.t.Fatalf("exit code %d\nstderr:\n%s", code, c.stderr.String())
	}
}

const upApp = "roles:\n  web:\n    app: \"trap 'exit 0' TERM; echo up; while :; do sleep 0.05; done\"\n"

// entry health and entry ctl find the running supervisor's socket however
// it was configured (issue 23 §1), as PID 1, for root and non-root.
func TestHealthFindsTheSupervisor(t *testing.T) {
	broken := map[string]string{"elsewhere/entry.yml": "roles: [not: a map\n"}
	with := func(m map[string]string, files map[string]string) map[string]string {
		for k, v := range m {
			files[k] = v
		}
		return files
	}
	t.Run("flag given to the ENTRYPOINT", func(t *testing.T) {
		c := startContainer(t, false, with(broken, map[string]string{"entry.yml": upApp, "sub/keep": ""}), nil, "--control-socket", "/run/app/sub/x.sock", "role=web")
		c.healthy(false, "/")
		c.healthy(false, "/run/app/elsewhere") // a broken ./entry.yml is passed over
		c.healthy(false, "/run/app")           // ./entry.yml names no socket
		c.stop()
	})
	t.Run("variable set by a wrapper", func(t *testing.T) {
		c := startContainer(t, false, map[string]string{"entry.yml": upApp}, []string{"ENTRY_CONTROL_SOCKET=/run/app/wrapped.sock"}, "role=web")
		c.healthy(false, "/")
		c.stop()
	})
	t.Run("relative control_socket through ENTRY_CONFIG", func(t *testing.T) {
		c := startContainer(t, false, map[string]string{"conf/entry.yml": "control_socket: ctl.sock\n" + upApp}, []string{"ENTRY_CONFIG=/run/app/conf/entry.yml"}, "role=web")
		c.healthy(false, "/", "ENTRY_CONFIG=/run/app/conf/entry.yml")
		c.healthy(false, "/tmp")
		if r := c.exec(false, "/", nil, "health", "--config", "conf/entry.yml"); r.code != 2 || !strings.Contains(r.stderr, "conf/entry.yml") {
			t.Errorf("a --config that does not exist: exit %d, stderr %q", r.code, r.stderr)
		}
		c.healthy(false, "/run/app", "ENTRY_CONFIG=conf/entry.yml")
		if r := c.exec(false, "/", nil, "ctl", "status", "--control-socket", "/run/app/conf/ctl.sock"); r.code != 0 {
			t.Errorf("the socket is not beside entry.yml: %+v", r)
		}
		c.stop()
	})
	t.Run("default as root", func(t *testing.T) {
		c := startContainer(t, false, map[string]string{"entry.yml": upApp}, nil, "role=web")
		c.healthy(false, "/")
		if r := c.exec(false, "/", nil, "ctl", "status", "--control-socket", "/run/entry.sock"); r.code != 0 {
			t.Errorf("root's default is not /run/entry.sock: %+v", r)
		}
		// Another user is told it lacks the permission, and what to do.
		r := c.exec(true, "/", nil, "health")
		want := "entry: health: cannot reach the supervisor at /run/entry.sock: permission denied (owned by uid 0, mode 0600): run this as the user entry runs as (docker exec -u USER); and cannot look at the sockets of process 1 (entry): permission denied: run this as the user entry runs as\n"
		if r.code != 1 || r.stderr != want {
			t.Errorf("health as nobody: exit %d, stderr %q\nwant %q", r.code, r.stderr, want)
		}
		c.stop()
	})
	t.Run("default as non-root", func(t *testing.T) {
		c := startContainer(t, true, map[string]string{"entry.yml": upApp}, nil, "role=web")
		c.healthy(true, "/")
		c.healthy(false, "/") // root finds it too
		if !strings.Contains(c.stderr.String(), "entry: control socket /tmp/entry-65534.sock (user 65534 cannot create /run/entry.sock)\n") {
			t.Errorf("no word of the fallback:\n%s", c.stderr.String())
		}
		if strings.Contains(c.stderr.String(), "no control socket") {
			t.Errorf("no socket:\n%s", c.stderr.String())
		}
		c.stop()
	})
}
