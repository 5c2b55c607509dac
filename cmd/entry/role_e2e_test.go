package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/entryhq/entry/internal/testtool"
)

// End-to-end: the real puma and sidekiq of the seed set-ups, under entry as
// PID 1, against a real redis-server on 127.0.0.1.

// freePort returns a TCP port on 127.0.0.1 nothing listens on.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func TestE2EWebRolePuma(t *testing.T) {
	testtool.Require(t, "ruby")
	testtool.Require(t, "puma")
	port := freePort(t)
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"config.ru": `run ->(env) { [200, {"content-type" => "text/plain"}, ["hello from puma, #{ENV['ENTRY_ROLE']}\n"]] }` + "\n",
		"entry.yml": fmt.Sprintf("roles:\n  web:\n    puma: puma -b tcp://127.0.0.1:%d -t 1:2 config.ru\n", port),
	})
	r := startEntry(t, dir, nil, true, "role=web")
	r.waitFor("Listening on http://127.0.0.1:", testtool.Patience)

	client := &http.Client{Timeout: 5 * time.Second}
	resp, err := client.Get(fmt.Sprintf("http://127.0.0.1:%d/", port))
	if err != nil {
		t.Fatalf("GET: %v\n%s", err, r.stdout.String())
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "hello from puma, web\n" {
		t.Fatalf("GET: %d %q", resp.StatusCode, body)
	}

	r.signal(syscall.SIGTERM)
	code := r.wait(testtool.Patience)
	out := r.stdout.String()
	if code != 0 {
		t.Fatalf("exit code %d\nstdout:\n%s\nstderr:\n%s", code, out, r.stderr.String())
	}
	for _, s := range []string{"puma | - Gracefully stopping, waiting for requests to finish"} {
		if !strings.Contains(out, s) {
			t.Errorf("no %q from puma:\n%s", s, out)
		}
	}
	if !strings.Contains(r.stderr.String(), "entry: puma: sending SIGTERM (stop_timeout 25s)") {
		t.Errorf("stderr:\n%s", r.stderr.String())
	}
}

func TestE2EJobRoleSidekiq(t *testing.T) {
	testtool.Require(t, "ruby")
	testtool.Require(t, "sidekiq")
	redisServer := testtool.Require(t, "redis-server")
	port := freePort(t)
	dir := t.TempDir()

	redis := exec.Command(redisServer, "--port", fmt.Sprint(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir)
	redisLog, _ := os.Create(filepath.Join(dir, "redis.log"))
	redis.Stdout, redis.Stderr = redisLog, redisLog
	if err := redis.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { redis.Process.Kill(); redis.Wait() })
	conn := dialRedis(t, port)
	defer conn.Close()

	jobOut := filepath.Join(dir, "job.out")
	writeFiles(t, dir, map[string]string{
		"worker.rb": `require "sidekiq"
class HelloJob
  include Sidekiq::Worker
  def perform(name)
    File.write(ENV.fetch("JOB_OUT"), "hello #{name} from #{ENV['ENTRY_PROCESS']}\n")
    puts "HelloJob ran for #{name}"
  end
end
`,
		"entry.yml": fmt.Sprintf(`roles:
  job:
    sidekiq:
      command: sidekiq -r ./worker.rb -c 2 -t 5
      env: {REDIS_URL: "redis://127.0.0.1:%d/0", JOB_OUT: %q}
      stop_timeout: 10s
`, port, jobOut),
	})
	r := startEntry(t, dir, nil, true, "role=job")
	r.waitFor("INFO: Booting Sidekiq", 2*testtool.Patience) // ruby boots slowly on a busy machine

	payload := `{"class":"HelloJob","args":["entry"],"jid":"0123456789abcdef01234567","retry":false,"queue":"default","created_at":1700000000.0,"enqueued_at":1700000000.0}`
	redisCommand(t, conn, "SADD", "queues", "default")
	redisCommand(t, conn, "LPUSH", "queue:default", payload)
	r.waitFor("sidekiq | HelloJob ran for entry", testtool.Patience)
	if data, err := os.ReadFile(jobOut); err != nil || string(data) != "hello entry from sidekiq\n" {
		t.Fatalf("job output %q, %v", data, err)
	}

	r.signal(syscall.SIGTERM)
	code := r.wait(testtool.Patience)
	all := r.stdout.String() + r.stderr.String()
	if code != 0 {
		t.Fatalf("exit code %d\n%s", code, all)
	}
	for _, s := range []string{"Shutting down", "Bye!", "entry: sidekiq: sending SIGTERM (stop_timeout 10s)", "entry: role job stopped, exit code 0"} {
		if !strings.Contains(all, s) {
			t.Errorf("missing %q in:\n%s", s, all)
		}
	}
}

// dialRedis connects to the test's redis-server once it accepts
// connections (bounded wait).
func dialRedis(t *testing.T, port int) net.Conn {
	t.Helper()
	deadline := time.Now().Add(testtool.Patience)
	for {
		conn, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second)
		if err == nil {
			return conn
		}
		if time.Now().After(deadline) {
			t.Fatalf("redis-server did not come up: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// redisCommand sends one command in RESP and checks the reply is not an
// error.
func redisCommand(t *testing.T, conn net.Conn, args ...string) {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(conn, b.String()); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil || strings.HasPrefix(line, "-") {
		t.Fatalf("redis %v: %q %v", args, line, err)
	}
}
