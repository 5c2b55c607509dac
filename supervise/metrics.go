package supervise

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// A metricSet counts the events that Prometheus scrapes from the metrics
// endpoint (Role.Metrics). It is updated as events happen and read when
// scraped: nothing runs in between, so an idle supervisor stays asleep. A
// nil *metricSet counts nothing (the endpoint is off).
type metricSet struct {
	mu    sync.Mutex
	procs []*procMetrics // in the role's order
	jobs  []*jobMetrics  // in the order the scheduler announced them
}

type procMetrics struct {
	name     string
	up       bool
	restarts uint64
}

type jobMetrics struct {
	process, name string
	runs          map[string]uint64 // by outcome
	lastSuccess   time.Time
	lastDuration  time.Duration
	ran           bool
}

// cronOutcomes are the outcomes every job's runs are counted under from the
// start, so that rate() and increase() see the first run.
var cronOutcomes = []string{"ok", "failed"}

func newMetricSet(procs []*proc) *metricSet {
	m := &metricSet{}
	for _, p := range procs {
		m.procs = append(m.procs, &procMetrics{name: p.Name})
	}
	return m
}

func (m *metricSet) proc(name string) *procMetrics {
	for _, p := range m.procs {
		if p.name == name {
			return p
		}
	}
	return nil
}

func (m *metricSet) job(process, name string) *jobMetrics {
	for _, j := range m.jobs {
		if j.process == process && j.name == name {
			return j
		}
	}
	j := &jobMetrics{process: process, name: name, runs: map[string]uint64{}}
	for _, o := range cronOutcomes {
		j.runs[o] = 0
	}
	m.jobs = append(m.jobs, j)
	return j
}

// observe counts one event.
func (m *metricSet) observe(f Fields) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if f.Job != "" {
		j := m.job(f.Process, f.Job)
		switch f.Event {
		case "cron_ok", "cron_failed", "cron_stopped", "cron_skipped", "cron_missed":
			j.runs[f.Outcome]++
		}
		if f.Event == "cron_ok" {
			j.lastSuccess = time.Now()
		}
		if f.Exit != nil && (f.Event == "cron_ok" || f.Event == "cron_failed" || f.Event == "cron_stopped") {
			j.lastDuration, j.ran = f.Duration, true
		}
		return
	}
	p := m.proc(f.Process)
	if p == nil {
		return
	}
	switch f.Event {
	case "started":
		p.up = true
	case "restarting":
		p.restarts++
		p.up = false
	case "exited", "killed", "stopped", "gave_up", "start_failed", "service_failed":
		p.up = false
	}
}

// write writes the metrics in the Prometheus text exposition format
// (version 0.0.4).
func (m *metricSet) write(b *strings.Builder) {
	m.mu.Lock()
	defer m.mu.Unlock()
	header := func(name, typ, help string) {
		fmt.Fprintf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, typ)
	}
	header("entry_process_up", "gauge", "Whether the process is running (1) or not (0).")
	for _, p := range m.procs {
		v := 0
		if p.up {
			v = 1
		}
		fmt.Fprintf(b, "entry_process_up{process=%s} %d\n", labelValue(p.name), v)
	}
	header("entry_process_restarts_total", "counter", "Restarts of the process since entry started.")
	for _, p := range m.procs {
		fmt.Fprintf(b, "entry_process_restarts_total{process=%s} %d\n", labelValue(p.name), p.restarts)
	}
	if len(m.jobs) == 0 {
		return
	}
	header("entry_cron_runs_total", "counter", "Cron runs ended, by outcome (ok, failed, stopped, skipped, missed).")
	for _, j := range m.jobs {
		outcomes := make([]string, 0, len(j.runs))
		for o := range j.runs {
			outcomes = append(outcomes, o)
		}
		slices.Sort(outcomes)
		for _, o := range outcomes {
			fmt.Fprintf(b, "entry_cron_runs_total{process=%s,job=%s,outcome=%s} %d\n", labelValue(j.process), labelValue(j.name), labelValue(o), j.runs[o])
		}
	}
	header("entry_cron_last_success_timestamp_seconds", "gauge", "When the job's last successful run ended (Unix time); absent until one has.")
	for _, j := range m.jobs {
		if !j.lastSuccess.IsZero() {
			fmt.Fprintf(b, "entry_cron_last_success_timestamp_seconds{process=%s,job=%s} %s\n", labelValue(j.process), labelValue(j.name),
				strconv.FormatFloat(float64(j.lastSuccess.UnixMilli())/1000, 'f', 3, 64))
		}
	}
	header("entry_cron_last_run_duration_seconds", "gauge", "How long the job's last run lasted; absent until one has ended.")
	for _, j := range m.jobs {
		if j.ran {
			fmt.Fprintf(b, "entry_cron_last_run_duration_seconds{process=%s,job=%s} %s\n", labelValue(j.process), labelValue(j.name),
				strconv.FormatFloat(j.lastDuration.Seconds(), 'f', -1, 64))
		}
	}
}

// labelValue quotes a label value as the exposition format wants:
// backslash, double quote and newline escaped.
func labelValue(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s) + `"`
}

// CheckMetricsAddress checks a metrics endpoint's address: HOST:PORT, with
// a numeric port (HOST may be empty for every address, as 0.0.0.0 is).
func CheckMetricsAddress(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%q: want HOST:PORT, e.g. 127.0.0.1:9394", addr)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("%q: port %q is not a number from 1 to 65535", addr, port)
	}
	if host != "" && net.ParseIP(host) == nil && host != "localhost" {
		return fmt.Errorf("%q: host %q: give an IP address (127.0.0.1, 0.0.0.0) or localhost", addr, host)
	}
	return nil
}

// serveMetrics serves GET /metrics on l until it is closed.
func (s *Supervisor) serveMetrics(l net.Listener) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, r *http.Request) {
		var b strings.Builder
		s.metrics.write(&b)
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		w.Write([]byte(b.String()))
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, IdleTimeout: time.Minute}
	if err := srv.Serve(l); err != nil && !errors.Is(err, net.ErrClosed) {
		s.log.eventf("", "metrics endpoint: %v", err)
	}
}

// startMetrics opens the metrics endpoint, if the role has one; the
// returned func closes it. An address that cannot be listened on is
// logged, and the role runs without it, as without a control socket.
func (s *Supervisor) startMetrics() (stop func()) {
	if s.role.Metrics == "" {
		return func() {}
	}
	l, err := net.Listen("tcp", s.role.Metrics)
	if err != nil {
		s.log.eventf("", "no metrics endpoint: %v; set metrics (ENTRY_METRICS) to a free HOST:PORT, or remove it", err)
		return func() {}
	}
	s.infof("", "metrics on http://%s/metrics", l.Addr())
	go s.serveMetrics(l)
	return func() { l.Close() }
}
