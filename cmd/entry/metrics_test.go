package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/entryhq/entry/internal/testtool"
)

// scrape gets url and parses it with Prometheus's own text parser.
func scrape(url string) (map[string]*dto.MetricFamily, string, error) {
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, "", err
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain; version=0.0.4") {
		return nil, string(body), fmt.Errorf("Content-Type %q", ct)
	}
	p := expfmt.NewTextParser(model.LegacyValidation)
	families, err := p.TextToMetricFamilies(strings.NewReader(string(body)))
	return families, string(body), err
}

// value is the value of name's series with exactly labels, or -1.
func value(families map[string]*dto.MetricFamily, name string, labels map[string]string) float64 {
	f := families[name]
	if f == nil {
		return -1
	}
	for _, m := range f.Metric {
		if len(m.Label) != len(labels) {
			continue
		}
		same := true
		for _, l := range m.Label {
			same = same && labels[l.GetName()] == l.GetValue()
		}
		if !same {
			continue
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue()
		case m.Gauge != nil:
			return m.Gauge.GetValue()
		}
	}
	return -1
}

// As PID 1 with metrics: set, entry serves the Prometheus text format:
// after a process exited 3 and was restarted, and cron jobs ran (one
// succeeding, one failing), a scrape shows the restart, the processes up,
// the runs by outcome, the last success time and the last run's duration.
func TestMetricsEndpointAsPID1(t *testing.T) {
	dir := t.TempDir()
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	writeFiles(t, dir, map[string]string{
		"entry.yml": `control_socket: none
metrics: ` + addr + `
roles:
  job:
    app: {command: "test -e once && exec sleep 1000; touch once; exit 3", restart: on-failure}
    cron: {crontab: crontab}
`,
		"crontab": "# entry: name=good\n* * * * * * true\n# entry: name=bad\n* * * * * * exit 2\n",
	})
	r := startEntry(t, dir, nil, true, "role=job")
	url := "http://" + addr + "/metrics"
	var families map[string]*dto.MetricFamily
	var body string
	var err error
	testtool.Eventually(t, "metrics after a restart and a cron run of each job", func() bool {
		families, body, err = scrape(url)
		return err == nil &&
			value(families, "entry_process_restarts_total", map[string]string{"process": "app"}) == 1 &&
			value(families, "entry_process_up", map[string]string{"process": "app"}) == 1 &&
			value(families, "entry_cron_runs_total", map[string]string{"process": "cron", "job": "good", "outcome": "ok"}) >= 1 &&
			value(families, "entry_cron_runs_total", map[string]string{"process": "cron", "job": "bad", "outcome": "failed"}) >= 1
	}, func() string { return fmt.Sprintf("scrape: %v\n%s\nstderr:\n%s", err, body, r.stderr.String()) })

	want := map[string]dto.MetricType{
		"entry_process_up":                          dto.MetricType_GAUGE,
		"entry_process_restarts_total":              dto.MetricType_COUNTER,
		"entry_cron_runs_total":                     dto.MetricType_COUNTER,
		"entry_cron_last_success_timestamp_seconds": dto.MetricType_GAUGE,
		"entry_cron_last_run_duration_seconds":      dto.MetricType_GAUGE,
	}
	for name, typ := range want {
		if f := families[name]; f == nil || f.GetType() != typ {
			t.Errorf("%s: missing or not a %v:\n%s", name, typ, body)
		}
	}
	if v := value(families, "entry_process_up", map[string]string{"process": "cron"}); v != 1 {
		t.Errorf("cron up = %v\n%s", v, body)
	}
	if v := value(families, "entry_cron_runs_total", map[string]string{"process": "cron", "job": "bad", "outcome": "ok"}); v != 0 {
		t.Errorf("bad job's ok runs = %v, want 0\n%s", v, body)
	}
	last := value(families, "entry_cron_last_success_timestamp_seconds", map[string]string{"process": "cron", "job": "good"})
	if now := float64(time.Now().Unix()); last < now-120 || last > now+1 {
		t.Errorf("good job's last success %v is not a recent Unix time\n%s", last, body)
	}
	if v := value(families, "entry_cron_last_success_timestamp_seconds", map[string]string{"process": "cron", "job": "bad"}); v != -1 {
		t.Errorf("the failing job has a last success: %v\n%s", v, body)
	}
	if v := value(families, "entry_cron_last_run_duration_seconds", map[string]string{"process": "cron", "job": "bad"}); v < 0 || v > 60 {
		t.Errorf("bad job's last run duration %v\n%s", v, body)
	}
	resp, err := http.Get("http://" + addr + "/other")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /other: %s, want 404", resp.Status)
	}

	r.signal(15)
	if code := r.wait(testtool.Patience); code != 0 {
		t.Fatalf("exit %d after TERM\n%s", code, r.stderr.String())
	}
	if _, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		t.Errorf("the metrics port is still open after entry exited")
	}
}

// A metrics address that is not HOST:PORT is refused before anything runs,
// naming the place and an example.
func TestMetricsAddressRefused(t *testing.T) {
	for yml, want := range map[string]string{
		"metrics: 9394\nroles:\n  web:\n    app: sleep 1\n":             `entry.yml: metrics: "9394": want HOST:PORT, e.g. 127.0.0.1:9394`,
		"metrics: 127.0.0.1:http\nroles:\n  web:\n    app: sleep 1\n":   `entry.yml: metrics: "127.0.0.1:http": port "http" is not a number from 1 to 65535`,
		"metrics: example.com:9394\nroles:\n  web:\n    app: sleep 1\n": `host "example.com": give an IP address (127.0.0.1, 0.0.0.0) or localhost`,
	} {
		dir := t.TempDir()
		writeFiles(t, dir, map[string]string{"entry.yml": yml})
		r := runEntry(t, dir, nil, "role=web")
		if r.code != 2 || !strings.Contains(r.stderr, want) || strings.Contains(r.stderr, "started") {
			t.Errorf("%q: exit %d, want 2 and %q:\n%s", yml, r.code, want, r.stderr)
		}
	}
	r := runEntry(t, t.TempDir(), []string{"ENTRY_METRICS=:x"}, "--", "true")
	if r.code != 2 || !strings.Contains(r.stderr, `--metrics (ENTRY_METRICS): ":x": port "x" is not a number`) {
		t.Errorf("ENTRY_METRICS=:x: exit %d\n%s", r.code, r.stderr)
	}
}
