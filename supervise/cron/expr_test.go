package cron

import (
	"strings"
	"testing"
	"time"
)

func mustZone(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func mustTime(t testing.TB, loc *time.Location, s string) time.Time {
	t.Helper()
	tm, err := time.ParseInLocation("2006-01-02 15:04:05", s, loc)
	if err != nil {
		t.Fatal(err)
	}
	return tm
}

// nextN lists n run times after from, formatted with their zone offset.
func nextN(e *Expr, from time.Time, n int) []string {
	var out []string
	t := from
	for range n {
		t = e.Next(t)
		if t.IsZero() {
			out = append(out, "never")
			break
		}
		out = append(out, t.Format("2006-01-02 15:04:05 -0700"))
	}
	return out
}

func TestNextForms(t *testing.T) {
	from := mustTime(t, time.UTC, "2026-01-30 10:17:42") // a Friday
	tests := []struct {
		expr string
		want []string
	}{
		{"* * * * *", []string{"2026-01-30 10:18:00 +0000", "2026-01-30 10:19:00 +0000"}},
		{"*/15 * * * *", []string{"2026-01-30 10:30:00 +0000", "2026-01-30 10:45:00 +0000", "2026-01-30 11:00:00 +0000"}},
		{"5 4 * * *", []string{"2026-01-31 04:05:00 +0000", "2026-02-01 04:05:00 +0000"}},
		{"0 9-11 * * *", []string{"2026-01-30 11:00:00 +0000", "2026-01-31 09:00:00 +0000", "2026-01-31 10:00:00 +0000"}},
		{"0 8-18/4 * * *", []string{"2026-01-30 12:00:00 +0000", "2026-01-30 16:00:00 +0000", "2026-01-31 08:00:00 +0000"}},
		{"0 22/1 * * *", []string{"2026-01-30 22:00:00 +0000", "2026-01-30 23:00:00 +0000", "2026-01-31 22:00:00 +0000"}},
		{"0,30 0 1,15 * *", []string{"2026-02-01 00:00:00 +0000", "2026-02-01 00:30:00 +0000", "2026-02-15 00:00:00 +0000"}},
		{"0 0 * jan,mar mon", []string{"2026-03-02 00:00:00 +0000", "2026-03-09 00:00:00 +0000"}},
		{"0 0 * * MON-FRI", []string{"2026-02-02 00:00:00 +0000", "2026-02-03 00:00:00 +0000"}},
		{"0 0 * * sat-sun", []string{"2026-01-31 00:00:00 +0000", "2026-02-01 00:00:00 +0000", "2026-02-07 00:00:00 +0000"}},
		{"0 0 * * 7", []string{"2026-02-01 00:00:00 +0000", "2026-02-08 00:00:00 +0000"}},
		{"0 0 * February Sunday", []string{"2026-02-01 00:00:00 +0000", "2026-02-08 00:00:00 +0000"}},
		// Both day fields restricted: either matches (Vixie cron).
		{"0 0 13 * fri", []string{"2026-02-06 00:00:00 +0000", "2026-02-13 00:00:00 +0000", "2026-02-20 00:00:00 +0000"}},
		// A day field starting with * does not widen the other one.
		{"0 0 13 * */2", []string{"2026-06-13 00:00:00 +0000", "2026-08-13 00:00:00 +0000"}},
		{"0 0 L * *", []string{"2026-01-31 00:00:00 +0000", "2026-02-28 00:00:00 +0000", "2026-03-31 00:00:00 +0000"}},
		{"0 0 ? * 5L", []string{"2026-02-27 00:00:00 +0000", "2026-03-27 00:00:00 +0000", "2026-04-24 00:00:00 +0000"}},
		{"0 0 * * mon#1", []string{"2026-02-02 00:00:00 +0000", "2026-03-02 00:00:00 +0000", "2026-04-06 00:00:00 +0000"}},
		// Seconds first (6 fields) and a year last (7 fields).
		{"*/20 * * * * *", []string{"2026-01-30 10:18:00 +0000", "2026-01-30 10:18:20 +0000", "2026-01-30 10:18:40 +0000"}},
		{"*/1 * * * * * *", []string{"2026-01-30 10:17:43 +0000", "2026-01-30 10:17:44 +0000"}},
		{"0 0 0 1 1 * 2028,2030", []string{"2028-01-01 00:00:00 +0000", "2030-01-01 00:00:00 +0000", "never"}},
		{"0 0 0 1 1 * 2020", []string{"never"}},
		{"00 05 * * *", []string{"2026-01-31 05:00:00 +0000"}},
	}
	for _, tt := range tests {
		e, err := ParseExpr(tt.expr, time.UTC)
		if err != nil {
			t.Errorf("ParseExpr(%q): %v", tt.expr, err)
			continue
		}
		got := nextN(e, from, len(tt.want))
		if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
			t.Errorf("%q after %s:\n got %q\nwant %q", tt.expr, from, got, tt.want)
		}
	}
}

func TestNextMonthEndsAndLeapYears(t *testing.T) {
	tests := []struct {
		expr, from string
		want       []string
	}{
		// The 31st skips the months without one.
		{"0 0 31 * *", "2026-01-31 00:00:00", []string{"2026-03-31 00:00:00 +0000", "2026-05-31 00:00:00 +0000", "2026-07-31 00:00:00 +0000", "2026-08-31 00:00:00 +0000"}},
		// Feb 29 only in leap years; 2100 is not one, so 2096 is the last
		// before the year limit.
		{"0 0 29 2 *", "2025-03-01 00:00:00", []string{"2028-02-29 00:00:00 +0000", "2032-02-29 00:00:00 +0000"}},
		{"0 0 29 2 *", "2096-03-01 00:00:00", []string{"never"}},
		{"0 0 L 2 *", "2027-01-01 00:00:00", []string{"2027-02-28 00:00:00 +0000", "2028-02-29 00:00:00 +0000"}},
		// Year and month roll over at the end of December.
		{"59 23 31 12 *", "2026-12-31 23:59:00", []string{"2027-12-31 23:59:00 +0000"}},
		{"*/1 * * * * * *", "2026-12-31 23:59:58", []string{"2026-12-31 23:59:59 +0000", "2027-01-01 00:00:00 +0000"}},
		// 2000 was a leap year (divisible by 400).
		{"0 0 0 29 2 * 1999-2001", "1999-01-01 00:00:00", []string{"2000-02-29 00:00:00 +0000", "never"}},
	}
	for _, tt := range tests {
		e, err := ParseExpr(tt.expr, time.UTC)
		if err != nil {
			t.Fatalf("ParseExpr(%q): %v", tt.expr, err)
		}
		got := nextN(e, mustTime(t, time.UTC, tt.from), len(tt.want))
		if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
			t.Errorf("%q after %s:\n got %q\nwant %q", tt.expr, tt.from, got, tt.want)
		}
	}
}

// TestNextDST pins the DST rule with real zones: fixed-time jobs run once
// per matching wall time (moved to the end of a gap, first occurrence of a
// repeated time); jobs with * in minute or hour follow the clock.
func TestNextDST(t *testing.T) {
	ny := mustZone(t, "America/New_York")
	london := mustZone(t, "Europe/London")
	tests := []struct {
		loc        *time.Location
		expr, from string
		want       []string
	}{
		// New York springs forward on 2026-03-08: 02:00 EST -> 03:00 EDT.
		{ny, "30 2 * * *", "2026-03-06 12:00:00", []string{"2026-03-07 02:30:00 -0500", "2026-03-08 03:00:00 -0400", "2026-03-09 02:30:00 -0400"}},
		{ny, "0 2 * * *", "2026-03-07 12:00:00", []string{"2026-03-08 03:00:00 -0400", "2026-03-09 02:00:00 -0400"}},
		// A job in the gap and one right after it merge into one run.
		{ny, "0 2,3 * * *", "2026-03-08 00:00:00", []string{"2026-03-08 03:00:00 -0400", "2026-03-09 02:00:00 -0400"}},
		{ny, "30 * * * *", "2026-03-08 00:00:00", []string{"2026-03-08 00:30:00 -0500", "2026-03-08 01:30:00 -0500", "2026-03-08 03:30:00 -0400"}},
		{ny, "*/20 * * * *", "2026-03-08 01:30:00", []string{"2026-03-08 01:40:00 -0500", "2026-03-08 03:00:00 -0400", "2026-03-08 03:20:00 -0400"}},
		// New York falls back on 2026-11-01: 02:00 EDT -> 01:00 EST.
		{ny, "30 1 * * *", "2026-10-31 12:00:00", []string{"2026-11-01 01:30:00 -0400", "2026-11-02 01:30:00 -0500"}},
		{ny, "30 * * * *", "2026-11-01 00:00:00", []string{"2026-11-01 00:30:00 -0400", "2026-11-01 01:30:00 -0400", "2026-11-01 01:30:00 -0500", "2026-11-01 02:30:00 -0500"}},
		{ny, "@hourly", "2026-11-01 00:00:00", []string{"2026-11-01 01:00:00 -0400", "2026-11-01 01:00:00 -0500", "2026-11-01 02:00:00 -0500"}},
		{ny, "0 2 * * *", "2026-10-31 12:00:00", []string{"2026-11-01 02:00:00 -0500", "2026-11-02 02:00:00 -0500"}},
		// London: 01:00 GMT -> 02:00 BST on 2026-03-29, back on 2026-10-25.
		{london, "15 1 * * *", "2026-03-28 12:00:00", []string{"2026-03-29 02:00:00 +0100", "2026-03-30 01:15:00 +0100"}},
		{london, "15 1 * * *", "2026-10-24 12:00:00", []string{"2026-10-25 01:15:00 +0100", "2026-10-26 01:15:00 +0000"}},
		{london, "0 30 1 * * * *", "2026-10-25 00:00:00", []string{"2026-10-25 01:30:00 +0100", "2026-10-26 01:30:00 +0000"}},
	}
	for _, tt := range tests {
		text := tt.expr
		if m, ok := macros[text]; ok {
			text = m
		}
		e, err := ParseExpr(text, tt.loc)
		if err != nil {
			t.Fatalf("ParseExpr(%q): %v", tt.expr, err)
		}
		from := mustTime(t, tt.loc, tt.from)
		got := nextN(e, from, len(tt.want))
		if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
			t.Errorf("%q in %s after %s:\n got %q\nwant %q", tt.expr, tt.loc, from, got, tt.want)
		}
	}
}

func TestNextDSTNotes(t *testing.T) {
	ny := mustZone(t, "America/New_York")
	e, err := ParseExpr("30 2 * * *", ny)
	if err != nil {
		t.Fatal(err)
	}
	at, note := e.next(mustTime(t, ny, "2026-03-08 00:00:00"))
	if want := "2026-03-08 03:00:00 -0400"; at.Format("2006-01-02 15:04:05 -0700") != want {
		t.Fatalf("got %s, want %s", at, want)
	}
	if want := "2026-03-08 02:30:00 does not exist in America/New_York (the clock springs forward): run at the end of the gap"; note != want {
		t.Errorf("note %q, want %q", note, want)
	}
	e, _ = ParseExpr("30 1 * * *", ny)
	_, note = e.next(mustTime(t, ny, "2026-11-01 00:00:00"))
	if want := "2026-11-01 01:30:00 occurs twice in America/New_York (the clock falls back): run at the first occurrence only"; note != want {
		t.Errorf("note %q, want %q", note, want)
	}
}

// oracleRuns lists, by checking every minute from lo to hi, the instants a
// 5-field expression must run at under the documented DST rule.
func oracleRuns(e *Expr, lo, hi time.Time) []time.Time {
	var runs []time.Time
	matches := func(c civil) bool {
		y, mo, d, h, mi, s := c.parts()
		return e.year.has(y) && e.month.has(mo) && e.dayMatches(y, mo, d) && e.hour.has(h) && e.minute.has(mi) && e.second.has(s)
	}
	for u := lo; !u.After(hi); u = u.Add(time.Minute) {
		c := toCivil(u.In(e.loc))
		if e.wildcardTime() {
			if matches(c) {
				runs = append(runs, u)
			}
			continue
		}
		// A fixed job runs at the first instant its wall time is read...
		first := true
		for _, back := range []time.Duration{30 * time.Minute, time.Hour, 2 * time.Hour} {
			if toCivil(u.Add(-back).In(e.loc)) == c {
				first = false
			}
		}
		run := matches(c) && first
		// ...and at the end of a gap for the wall times the gap skipped.
		prev := toCivil(u.Add(-time.Minute).In(e.loc))
		for g := prev + 60; g < c; g += 60 {
			if matches(g) {
				run = true
			}
		}
		if run {
			runs = append(runs, u)
		}
	}
	return runs
}

func TestNextMatchesOracleAroundDST(t *testing.T) {
	zones := []string{"America/New_York", "Europe/London", "Australia/Lord_Howe", "Asia/Tokyo", "UTC"}
	exprs := []string{"30 2 * * *", "0 1 * * *", "15,45 1-3 * * *", "*/10 * * * *", "30 * * * *", "0 */2 * * *", "59 1 * * *", "0 0 * * *", "* 2 * * *", "0-30/7 1,2 * * *"}
	days := []string{"2026-03-08", "2026-11-01", "2026-03-29", "2026-10-25", "2026-04-05", "2026-10-04"}
	for _, zone := range zones {
		loc := mustZone(t, zone)
		for _, text := range exprs {
			e, err := ParseExpr(text, loc)
			if err != nil {
				t.Fatal(err)
			}
			for _, day := range days {
				lo := mustTime(t, loc, day+" 00:00:00").Add(-12 * time.Hour)
				hi := lo.Add(36 * time.Hour)
				want := oracleRuns(e, lo, hi)
				var got []time.Time
				for u := e.Next(lo.Add(-time.Second)); !u.IsZero() && !u.After(hi); u = e.Next(u) {
					got = append(got, u)
				}
				if len(got) != len(want) {
					t.Errorf("%s %q around %s: %d runs, oracle %d\n got %v\nwant %v", zone, text, day, len(got), len(want), got, want)
					continue
				}
				for i := range got {
					if !got[i].Equal(want[i]) {
						t.Errorf("%s %q around %s: run %d at %s, oracle %s", zone, text, day, i, got[i], want[i])
						break
					}
				}
			}
		}
	}
}

func TestParseExprErrors(t *testing.T) {
	tests := []struct{ expr, want string }{
		{"61 * * * *", `minute field "61": 61 is out of range 0-59`},
		{"* 24 * * *", `hour field "24": 24 is out of range 0-23`},
		{"* * 0 * *", `day-of-month field "0": 0 is out of range 1-31`},
		{"* * * 13 *", `month field "13": 13 is out of range 1-12`},
		{"* * * * 8", `day-of-week field "8": 8 is out of range 0-7`},
		{"* * * foo *", `month field "foo": unknown month name "foo" (use 1-12 or jan-dec)`},
		{"* * * * funday", `day-of-week field "funday": unknown day name "funday" (use 0-7 (0 and 7 are Sunday) or sun-sat)`},
		{"x * * * *", `minute field "x": "x" is not a number (minutes are 0-59)`},
		{"5-1 * * * *", `minute field "5-1": range 5-1 goes backwards (write 5-59,0-1)`},
		{"*/0 * * * *", `minute field "*/0": step "0" must be a whole number of at least 1`},
		{"*/90 * * * *", `minute field "*/90": step 90 is larger than the field's range 0-59 (steps restart in every hour; for longer intervals use @every)`},
		{"1,,2 * * * *", `minute field "1,,2": empty list item`},
		{"? * * * *", `minute field "?": ? is only allowed alone in the day-of-month and day-of-week fields`},
		{"* * 15W * *", `day-of-month field "15W": 15W: the nearest-weekday form W is not supported (list the days, or use L for the last day)`},
		{"* * * * mon#6", `day-of-week field "mon#6": mon#6: the week number after # must be 1-5`},
		{"0 0 30 2 *", `day-of-month field "30": no month in the month field has that many days, so the job would never run`},
		{"0 0 0 1 1 * 1969", `year field "1969": 1969 is out of range 1970-2099`},
		{"* * *", `3 time fields; want 5 (minute hour day-of-month month day-of-week), 6 (a seconds field first) or 7 (seconds first, year last)`},
	}
	for _, tt := range tests {
		_, err := ParseExpr(tt.expr, time.UTC)
		if err == nil {
			t.Errorf("ParseExpr(%q): no error, want %s", tt.expr, tt.want)
			continue
		}
		if err.Error() != tt.want {
			t.Errorf("ParseExpr(%q):\n got %s\nwant %s", tt.expr, err, tt.want)
		}
	}
}

func BenchmarkNextEverySecond(b *testing.B) {
	e, err := ParseExpr("* * * * * * *", mustZone(b, "Europe/London"))
	if err != nil {
		b.Fatal(err)
	}
	t := time.Date(2026, 3, 29, 0, 0, 0, 0, time.UTC)
	for b.Loop() {
		t = e.Next(t)
	}
}

func BenchmarkNextDaily(b *testing.B) {
	e, err := ParseExpr("30 2 * * *", mustZone(b, "America/New_York"))
	if err != nil {
		b.Fatal(err)
	}
	t := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for b.Loop() {
		t = e.Next(t)
	}
}
