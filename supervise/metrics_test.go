package supervise

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Names with quotes, backslashes and newlines come out escaped, so that
// the exposition stays valid; counters follow the events.
func TestMetricsTextFormat(t *testing.T) {
	m := newMetricSet([]*proc{{Process: Process{Name: `we"ird\name`}}, {Process: Process{Name: "cron"}}})
	exit := ExitStatus{Code: 3}
	m.observe(Fields{Event: "started", Process: `we"ird\name`, Pid: 10})
	m.observe(Fields{Event: "restarting", Process: `we"ird\name`, Exit: &exit, Restarts: 1})
	m.observe(Fields{Event: "started", Process: "cron"})
	m.observe(Fields{Event: "cron_scheduled", Process: "cron", Job: "a\nb"})
	m.observe(Fields{Event: "cron_ok", Process: "cron", Job: "a\nb", Outcome: "ok", Exit: &ExitStatus{}, Duration: 1500 * time.Millisecond})
	m.observe(Fields{Event: "cron_skipped", Process: "cron", Job: "a\nb", Outcome: "skipped"})
	var b strings.Builder
	m.write(&b)
	p := expfmt.NewTextParser(model.LegacyValidation)
	families, err := p.TextToMetricFamilies(strings.NewReader(b.String()))
	if err != nil {
		t.Fatalf("%v\n%s", err, b.String())
	}
	got := map[string]float64{}
	for name, f := range families {
		for _, mt := range f.Metric {
			key := name
			for _, l := range mt.Label {
				key += "," + l.GetName() + "=" + l.GetValue()
			}
			if mt.Counter != nil {
				got[key] = mt.Counter.GetValue()
			} else {
				got[key] = mt.Gauge.GetValue()
			}
		}
	}
	for key, want := range map[string]float64{
		`entry_process_up,process=we"ird\name`:                        0,
		`entry_process_restarts_total,process=we"ird\name`:            1,
		"entry_process_up,process=cron":                               1,
		"entry_cron_runs_total,process=cron,job=a\nb,outcome=ok":      1,
		"entry_cron_runs_total,process=cron,job=a\nb,outcome=failed":  0,
		"entry_cron_runs_total,process=cron,job=a\nb,outcome=skipped": 1,
		"entry_cron_last_run_duration_seconds,process=cron,job=a\nb":  1.5,
	} {
		if v, ok := got[key]; !ok || v != want {
			t.Errorf("%q = %v (present %v), want %v\n%s", key, v, ok, want, b.String())
		}
	}
	if _, ok := got["entry_cron_last_success_timestamp_seconds,process=cron,job=a\nb"]; !ok {
		t.Errorf("no last success time\n%s", b.String())
	}
	var off *metricSet
	off.observe(Fields{Event: "started", Process: "x"}) // metrics off: a no-op
}
