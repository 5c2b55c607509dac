package render

import (
	"os"
	"runtime"
	"strings"
	"testing"

	"github.com/entryhq/entry/internal/testtool"
)

// TestDurationsLikeActiveSupport renders durations with Ruby's ERB and
// ActiveSupport (Debian's ruby-activesupport) and with entry.
func TestDurationsLikeActiveSupport(t *testing.T) {
	rubyBin := testtool.Require(t, "ruby")
	exprs := []string{
		"5.seconds", "1.second", "10.minutes", "1.minute", "2.hours", "1.hour", "1.day", "2.days", "1.week", "3.weeks",
		"1.fortnight", "1.month", "2.months", "1.year", "2.years", "1.5.hours", "0.seconds", "-1.minute", "-5.minutes",
		"1.hour + 30.minutes", "1.day + 2.hours + 3.minutes", "30.minutes + 1.hour", "1.hour + 60", "60 + 1.hour",
		"1.hour - 30.minutes", "1.hour - 60", "60 - 1.minute", "2 * 1.hour", "1.hour * 2", "1.hour * 1.5", "1.hour / 2",
		"1.hour / 1.minute", "7.days == 1.week", "5.minutes == 300", "300 == 5.minutes", "1.hour > 30.minutes", "1.hour > 60",
		"5.minutes.to_i", "5.minutes.to_f", "1.5.hours.to_i", "1.day.in_milliseconds", "1.hour.in_minutes", "90.seconds.in_minutes",
		"1.week.in_days", "1.day.in_hours", "1.hour.in_seconds", "1.5.seconds.in_milliseconds", "5.minutes.to_json", "[5.minutes].to_json",
		"{ a: 1.hour }.to_json", "5.minutes.blank?", "5.minutes.present?", "5.minutes.presence", "5.minutes.nil?", "\"#{5.minutes}\"",
		"1.hour.seconds", "2.hours.minutes", "1.month.to_i", "1.year.to_i", "(1.hour - 1.hour)", "1.minute + 1.minute",
		"2.weeks + 1.day", "1.hour + 1.5", "5.minutes.zero?", "1.hour * 0", "[1.hour, 2.hours].sum", "3.weeks.to_s",
		"[1.minute, 2.hours]", "{ t: 1.minute }", "ENV.fetch('TIMEOUT', 30).to_i.seconds", "ENV.fetch('TIMEOUT', 30).to_i.seconds.to_i",
		"1.0.hour", "1.hour.abs", "[5.minutes].include?(300)", "1.day / 0", "1.hour + 'x'", "1.hour < 'x'", "1.hour * 1.hour",
		"1.hour.inspect", "1.day.to_s", "1.minute + 0.seconds", "[1.minute, 5.seconds].sum", "0 + 1.minute", "1.hour + 0", "Integer(1.hour.to_i)", "format('%d', 2.hours.to_i)",
	}
	var srcs []string
	for _, e := range exprs {
		srcs = append(srcs, "<%= "+e+" %>|<%= ("+e+").inspect %>")
	}
	compareWithRuby(t, rubyBin, `require "active_support"; require "active_support/core_ext";`, srcs, map[string]string{"TIMEOUT": "45"}, nil)
}

// TestProcessorCount: Etc.nprocessors and Concurrent.processor_count are
// the CPUs this process may use; Ruby's Etc.nprocessors counts the same
// (its affinity mask).
func TestProcessorCount(t *testing.T) {
	got, err := renderWith(t, `<% require "etc" %><%= Etc.nprocessors %> <%= Concurrent.processor_count %> <%= ENV.fetch("WEB_CONCURRENCY") { Etc.nprocessors }.to_i * 2 %>`, nil, Options{})
	n := runtime.NumCPU()
	if want := strings.Repeat(itoa(n)+" ", 2) + itoa(2*n); err != nil || got != want {
		t.Errorf("got %q, %v; want %q", got, err, want)
	}
	rubyBin := testtool.Require(t, "ruby")
	compareWithRuby(t, rubyBin, `require "etc"; require "socket";`, []string{"<%= Etc.nprocessors %>", "<%= Socket.gethostname %>|<%= Socket.gethostname == `hostname`.strip %>"}, map[string]string{"PATH": os.Getenv("PATH")}, nil)
	if _, err := Parse("t.erb", []byte("<%= Etc.getlogin %>")); err == nil || err.Error() != "t.erb:1:5: unsupported Ruby: Etc.getlogin (entry knows Etc.nprocessors and Concurrent.processor_count)" {
		t.Errorf("Etc.getlogin: %v", err)
	}
}

func itoa(n int) string { return intOf(n).s }
