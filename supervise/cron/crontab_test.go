package cron

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

const sampleCrontab = `# Rails jobs for the job role.
SHELL=/bin/sh
RAILS_ENV = "production"
CRON_TZ=Asia/Tokyo

# db-cleanup: prune old sessions
# entry: timeout=30m
0 3 * * * bundle exec rake db:cleanup   >> log/cleanup.log

# reports
# entry: overlap=allow
*/5 9-18 * * mon-fri bundle exec rake reports:send
@hourly   echo hourly
@every 90s echo every
@reboot bundle exec rake cache:warm
# 0 4 * * * a commented-out job
*/1 * * * * * * date
*/10 * * * * * echo six
0 0 0 1 1 * 2030 echo new-year
MAILTO=''
# entry: name=nightly
@daily echo nightly
`

func TestParseCrontab(t *testing.T) {
	tab, err := Parse("config/crontab", []byte(sampleCrontab), "")
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		Name, Schedule, Command string
		Line                    int
		Overlap, Reboot         bool
		Timeout                 time.Duration
		Zone                    string
	}
	var got []row
	for _, j := range tab.Jobs {
		got = append(got, row{j.Name, j.Schedule, j.Command, j.Line, j.Overlap, j.Reboot, j.Timeout, j.Location().String()})
	}
	want := []row{
		{"db-cleanup", "0 3 * * *", "bundle exec rake db:cleanup   >> log/cleanup.log", 8, false, false, 30 * time.Minute, "Asia/Tokyo"},
		{"reports", "*/5 9-18 * * mon-fri", "bundle exec rake reports:send", 12, true, false, 0, "Asia/Tokyo"},
		{"line13", "@hourly", "echo hourly", 13, false, false, 0, "Asia/Tokyo"},
		{"line14", "@every 90s", "echo every", 14, false, false, 0, "Asia/Tokyo"},
		{"line15", "@reboot", "bundle exec rake cache:warm", 15, false, true, 0, "Asia/Tokyo"},
		{"line17", "*/1 * * * * * *", "date", 17, false, false, 0, "Asia/Tokyo"},
		{"line18", "*/10 * * * * *", "echo six", 18, false, false, 0, "Asia/Tokyo"},
		{"line19", "0 0 0 1 1 * 2030", "echo new-year", 19, false, false, 0, "Asia/Tokyo"},
		{"nightly", "@daily", "echo nightly", 22, false, false, 0, "Asia/Tokyo"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("jobs:\n got %+v\nwant %+v", got, want)
	}
	if env := strings.Join(tab.Jobs[0].Env, " "); env != "SHELL=/bin/sh RAILS_ENV=production CRON_TZ=Asia/Tokyo" {
		t.Errorf("env of the first job: %s", env)
	}
	if env := tab.Jobs[len(tab.Jobs)-1].Env; env[len(env)-1] != "MAILTO=" {
		t.Errorf("env of the last job: %q", env)
	}
	// The schedule follows Tokyo's wall clock.
	next := tab.Jobs[0].Next(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	if want := "2026-01-02 03:00:00 +0900"; next.Format("2006-01-02 15:04:05 -0700") != want {
		t.Errorf("next db-cleanup run %s, want %s", next, want)
	}
	// @every counts from the previous run; @reboot has no next run.
	from := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if got := tab.Jobs[3].Next(from); !got.Equal(from.Add(90 * time.Second)) {
		t.Errorf("@every 90s: next %s", got)
	}
	if got := tab.Jobs[4].Next(from); !got.IsZero() {
		t.Errorf("@reboot: next %s, want none", got)
	}
}

func TestParseTimeZones(t *testing.T) {
	tab, err := Parse("tab", []byte("0 0 * * * a\nTZ=Europe/London\n0 0 * * * b\nCRON_TZ=:Asia/Tokyo\n0 0 * * * c\nTZ=America/New_York\n0 0 * * * d\n"), "UTC")
	if err != nil {
		t.Fatal(err)
	}
	var zones []string
	for _, j := range tab.Jobs {
		zones = append(zones, j.Location().String())
	}
	// TZ from the environment, then TZ=, then CRON_TZ= which a later TZ=
	// does not override (TZ= then only sets the jobs' environment).
	if want := "UTC Europe/London Asia/Tokyo Asia/Tokyo"; strings.Join(zones, " ") != want {
		t.Errorf("zones %q, want %q", zones, want)
	}
	if _, err := Parse("tab", []byte("0 0 * * * a\n"), ":Europe/Paris"); err != nil {
		t.Errorf("TZ=:Europe/Paris: %v", err)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct{ name, tab, tz, want string }{
		{"minute out of range", "# ok\n61 * * * * echo", "", `config/crontab:2: minute field "61": 61 is out of range 0-59`},
		{"too few fields", "* * *", "", `config/crontab:1: 3 fields; a job line needs 5 time fields (minute hour day-of-month month day-of-week) and then a command`},
		{"no command", "\n\n* * * * *", "", `config/crontab:3: no command after the schedule "* * * * *"`},
		{"unknown month", "0 0 1 foo * echo", "", `config/crontab:1: month field "foo": unknown month name "foo" (use 1-12 or jan-dec)`},
		{"unknown day", "0 0 * * mon-fry echo", "", `config/crontab:1: day-of-week field "mon-fry": unknown day name "fry" (use 0-7 (0 and 7 are Sunday) or sun-sat)`},
		{"bad CRON_TZ", "CRON_TZ=Mars/Olympus\n* * * * * echo", "", `config/crontab:1: CRON_TZ=Mars/Olympus: unknown time zone "Mars/Olympus" (use a tz database name such as Asia/Tokyo, Europe/London or UTC)`},
		{"bad TZ line", "TZ=Nowhere\n", "", `config/crontab:1: TZ=Nowhere: unknown time zone "Nowhere" (use a tz database name such as Asia/Tokyo, Europe/London or UTC)`},
		{"bad TZ environment", "* * * * * echo", "Nowhere", `config/crontab: TZ=Nowhere in the environment: unknown time zone "Nowhere" (use a tz database name such as Asia/Tokyo, Europe/London or UTC)`},
		{"unknown macro", "@fortnightly echo", "", `config/crontab:1: unknown schedule @fortnightly (use @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly, @reboot or @every DURATION)`},
		{"every without interval", "@every", "", `config/crontab:1: @every needs an interval, e.g. @every 90s`},
		{"every bad interval", "@every soon echo", "", `config/crontab:1: @every soon: not a duration (write it like 90s, 15m or 1h30m)`},
		{"every too short", "@every 10ms echo", "", `config/crontab:1: @every 10ms: the interval must be at least 1s`},
		{"macro without command", "@daily", "", `config/crontab:1: no command after the schedule "@daily"`},
		{"unknown option", "# entry: retries=3\n* * * * * echo", "", `config/crontab:1: entry: unknown option "retries" (known: overlap, timeout, name)`},
		{"bad overlap", "# entry: overlap=yes\n* * * * * echo", "", `config/crontab:1: entry: overlap=yes: want overlap=allow or overlap=skip`},
		{"bad timeout", "# entry: timeout=-1s\n* * * * * echo", "", `config/crontab:1: entry: timeout=-1s: want a positive duration such as 30s, 10m or 2h`},
		{"option without value", "# entry: overlap\n* * * * * echo", "", `config/crontab:1: entry: "overlap": want KEY=VALUE (overlap=allow, timeout=30m, name=NAME)`},
		{"bad name", "# entry: name=a/b\n* * * * * echo", "", `config/crontab:1: entry: name=a/b: a name is letters, digits, '.', '_' and '-'`},
		{"orphan options at the end", "* * * * * echo\n# entry: overlap=allow\n", "", `config/crontab:2: "entry:" is not followed by a job line (put it directly above the job it is for)`},
		{"options then blank line", "# entry: overlap=allow\n\n* * * * * echo", "", `config/crontab:2: a blank line separates "entry:" on line 1 from the job below (put it directly above the job it is for)`},
		{"options then env", "# entry: overlap=allow\nA=1\n* * * * * echo", "", `config/crontab:2: "entry:" on line 1 must be directly above a job line, not above A=`},
		{"duplicate name", "# sync\n* * * * * a\n# sync\n* * * * * b", "", `config/crontab:4: job name "sync" is already used by the job on line 2 (names label the output; give each job its own)`},
		{"impossible date", "0 0 31 2 * echo", "", `config/crontab:1: day-of-month field "31": no month in the month field has that many days, so the job would never run`},
		// A bad value is blamed on its field, not taken for the command.
		{"bad day-of-week before a command", "0 3 * * 8 bundle exec rake x", "", `config/crontab:1: day-of-week field "8": 8 is out of range 0-7`},
		{"bad hour, no command", "0 24 * * *", "", `config/crontab:1: hour field "24": 24 is out of range 0-23`},
		{"bad hour before a command", "0 24 * * * bin/x", "", `config/crontab:1: hour field "24": 24 is out of range 0-23`},
		{"bad day-of-month", "0 3 0 * * bin/x", "", `config/crontab:1: day-of-month field "0": 0 is out of range 1-31`},
		{"bad month", "0 3 * 13 * bin/x", "", `config/crontab:1: month field "13": 13 is out of range 1-12`},
		{"command word in a field", "0 3 * * bundle exec", "", `config/crontab:1: day-of-week field "bundle": unknown day name "bundle" (use 0-7 (0 and 7 are Sunday) or sun-sat)`},
		// supercronic's year form is an error that shows the 7-field form.
		{"supercronic year form", "0 0 1 1 * 2030 echo happy", "", `config/crontab:1: day-of-week field "2030": 2030 is out of range 0-7 (entry reads 6 time fields as second minute hour day-of-month month day-of-week; for a year after 5 fields, as supercronic allows, write 7 fields with a second first: 0 0 0 1 1 * 2030)`},
		{"supercronic year form with a step", "*/5 * * * * 2027 echo", "", `config/crontab:1: day-of-week field "2027": 2027 is out of range 0-7 (entry reads 6 time fields as second minute hour day-of-month month day-of-week; for a year after 5 fields, as supercronic allows, write 7 fields with a second first: 0 */5 * * * * 2027)`},
		{"bad 7-field year", "0 0 0 1 1 * 1900 x", "", `config/crontab:1: year field "1900": 1900 is out of range 1970-2099 (a 7-field line is second minute hour day-of-month month day-of-week year)`},
		{"bad 6-field line", "61 * * * * * x", "", `config/crontab:1: second field "61": 61 is out of range 0-59 (a 6-field line is second minute hour day-of-month month day-of-week)`},
		{"eight time fields", "0 0 0 1 1 * 2030 5 x", "", `config/crontab:1: "0 0 0 1 1 * 2030 5": more than 7 words that look like time fields before the command; a job line has 5 time fields (minute hour day-of-month month day-of-week), 6 (a second first) or 7 (a second first, a year last), then the command`},
		// Inline comments after variables (cron keeps them in the value).
		{"comment after CRON_TZ", "CRON_TZ=Asia/Tokyo   # the zone\n* * * * * echo", "", `config/crontab:1: CRON_TZ=Asia/Tokyo   # the zone: a variable line takes no inline comment (the value would include it, as in cron): put the comment on a line of its own`},
		{"comment after a variable", "RAILS_ENV=production # env\n* * * * * echo", "", `config/crontab:1: RAILS_ENV=production # env: a variable line takes no inline comment (the value would include it, as in cron): put the comment on a line of its own`},
		{"quoted hash", "A='x # y'\nB=a#b\n* * * * * echo", "", ``},
		// An option error names the option's line, not the job's.
		{"option error on its own line", "# entry: overlap=allow\n# entry: timeout=5\n# comment\n0 3 * * * x", "", `config/crontab:2: entry: timeout=5: want a positive duration such as 30s, 10m or 2h`},
		{"system crontab user column", "0 3 * * * root echo", "", `config/crontab:1: "root" looks like the user column of a system crontab (/etc/crontab, /etc/cron.d); remove it: jobs run as entry's user`},
	}
	for _, tt := range tests {
		_, err := Parse("config/crontab", []byte(tt.tab), tt.tz)
		if tt.want == "" {
			if err != nil {
				t.Errorf("%s: %v", tt.name, err)
			}
			continue
		}
		if err == nil {
			t.Errorf("%s: no error, want %s", tt.name, tt.want)
			continue
		}
		if err.Error() != tt.want {
			t.Errorf("%s:\n got %s\nwant %s", tt.name, err, tt.want)
		}
	}
}

func TestParseJobNames(t *testing.T) {
	tab, err := Parse("tab", []byte(`# backup
# entry: timeout=1h
0 1 * * * a
# Send the reports to the team.
0 2 * * * b
# nightly-reindex: rebuild the search index
0 3 * * * c
# one

0 4 * * * d
`), "")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, j := range tab.Jobs {
		names = append(names, j.Name)
	}
	if want := "backup line5 nightly-reindex line10"; strings.Join(names, " ") != want {
		t.Errorf("names %q, want %q", names, want)
	}
}

// FuzzParse checks that no input crashes the parser, that every job it
// accepts has a command and a schedule, and that Next is well-behaved.
func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		sampleCrontab,
		"61 * * * * echo",
		"* * *",
		"0 0 * foo * echo",
		"CRON_TZ=Bad/Zone\n* * * * * echo",
		"@every 1s echo\n@reboot echo\n@weekly echo",
		"*/7 1-5,9 L * 5L,mon#2 echo",
		"0 0 29 2 * echo",
		"0 30 1 * * * * x",
		"# entry: overlap=allow timeout=5s name=x\n* * * * * echo",
		"A='b'\nB=\"c\"\n* * * * * env",
		"5-1 * * * * x",
		"*/0 * * * * x",
		"? ? ? ? ? ? ? x",
		"0 0 0 1 1 * 2099 x",
		"0 0 1 1 * 2030 echo happy",
		"0 3 * * 8 bundle exec rake x",
		"1 2 3 4 5 6 7 8 9",
		"CRON_TZ=UTC # zone\n* * * * * x",
		"# entry: overlap=allow\n# entry: timeout=0\n* * * * * x",
		"* * * * * x\nA=1",
		"15W,L 5L 1-2/1 ? sat#1 7z x",
	} {
		f.Add(seed)
	}
	from := time.Date(2026, 3, 8, 6, 30, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, data string) {
		tab, err := Parse("fuzz", []byte(data), "America/New_York")
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz:") {
				t.Fatalf("error without the file name: %v", err)
			}
			return
		}
		for _, j := range tab.Jobs {
			if j.Command == "" || j.Schedule == "" || j.Name == "" {
				t.Fatalf("incomplete job %+v", j)
			}
			prev := from
			for range 3 {
				next := j.Next(prev)
				if next.IsZero() {
					break
				}
				if !next.After(prev) {
					t.Fatalf("%q: Next(%s) = %s, not after", j.Schedule, prev, next)
				}
				prev = next
			}
		}
	})
}

// A variable line applies to the jobs below it only: one with no job below
// is a warning (supercronic would apply it to the whole file).
func TestParseWarnsAboutVariablesBelowEveryJob(t *testing.T) {
	tab, err := Parse("config/crontab", []byte("A=1\n0 3 * * * a\nRAILS_ENV=production\n# the end\nCRON_TZ=Asia/Tokyo\n"), "")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"config/crontab:3: RAILS_ENV= applies to no job: a variable line sets the environment of the jobs below it only (supercronic applies it to the whole file); move it above the jobs it is for",
		"config/crontab:5: CRON_TZ= applies to no job: a variable line sets the environment of the jobs below it only (supercronic applies it to the whole file); move it above the jobs it is for",
	}
	if !reflect.DeepEqual(tab.Warnings, want) {
		t.Errorf("warnings:\n got %q\nwant %q", tab.Warnings, want)
	}
	if env := strings.Join(tab.Jobs[0].Env, " "); env != "A=1" {
		t.Errorf("the job's environment is %q, want A=1 only", env)
	}
	tab, err = Parse("config/crontab", []byte(sampleCrontab), "")
	if err != nil || len(tab.Warnings) != 0 {
		t.Errorf("sample crontab: %v, warnings %q", err, tab.Warnings)
	}
}

// TestDocsCrontabExamples parses every crontab shown in the docs, so an
// example cannot drift from what entry accepts.
func TestDocsCrontabExamples(t *testing.T) {
	files, err := filepath.Glob("../../docs/*.md")
	if err != nil || len(files) == 0 {
		t.Fatalf("no docs found: %v", err)
	}
	files = append(files, "../../README.md")
	found := 0
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for i, block := range fencedBlocks(string(data), "crontab") {
			found++
			name := fmt.Sprintf("%s (crontab example %d)", filepath.Base(file), i+1)
			tab, err := Parse(name, []byte(block), "UTC")
			if err != nil {
				t.Errorf("%v", err)
				continue
			}
			if len(tab.Jobs) == 0 || len(tab.Warnings) > 0 {
				t.Errorf("%s: %d jobs, warnings %q", name, len(tab.Jobs), tab.Warnings)
			}
		}
	}
	if found == 0 {
		t.Fatal("no ```crontab block in docs/: the docs show crontabs in such blocks")
	}
}

// fencedBlocks returns the bodies of the ```lang blocks of a Markdown text.
func fencedBlocks(md, lang string) []string {
	var blocks []string
	var cur []string
	in := false
	for _, line := range strings.Split(md, "\n") {
		trimmed := strings.TrimSpace(line)
		switch {
		case !in && trimmed == "```"+lang:
			in, cur = true, nil
		case in && trimmed == "```":
			in = false
			blocks = append(blocks, strings.Join(cur, "\n")+"\n")
		case in:
			cur = append(cur, line)
		}
	}
	return blocks
}
