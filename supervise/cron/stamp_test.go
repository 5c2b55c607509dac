package cron

import (
	"testing"
	"time"
)

// An @every job's due times count from the role's start, so they are rarely
// on a whole second: the log keeps their milliseconds.
func TestStampKeepsMilliseconds(t *testing.T) {
	at := time.Date(2026, 1, 30, 10, 0, 1, 0, time.UTC)
	for _, c := range []struct {
		t    time.Time
		want string
	}{
		{at, "2026-01-30 10:00:01 UTC"},
		{at.Add(250 * time.Millisecond), "2026-01-30 10:00:01.250 UTC"},
		{at.Add(999*time.Millisecond + 999*time.Microsecond), "2026-01-30 10:00:01.999 UTC"},
	} {
		if got := stamp(c.t); got != c.want {
			t.Errorf("stamp(%v) = %q, want %q", c.t, got, c.want)
		}
	}
}
