package cron

import (
	"os"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/entryhq/entry/internal/testtool"
)

// A set of the wall clock is told at once, so that the scheduler needs no
// periodic wake-up to notice one. The clock is set to what it reads (plus
// the few microseconds the two calls take), which moves no clock a
// measurable amount.
func TestWatchClockStepsTellsOfASet(t *testing.T) {
	steps, stop := watchClockSteps()
	defer stop()
	if steps == nil {
		t.Fatal("the kernel cannot tell clock steps (timerfd with TFD_TIMER_CANCEL_ON_SET)")
	}
	if os.Geteuid() != 0 {
		testtool.Missing(t, "root, to set the clock")
		return
	}
	for round := 0; round < 2; round++ { // the watch is armed again after a step
		var ts unix.Timespec
		if err := unix.ClockGettime(unix.CLOCK_REALTIME, &ts); err != nil {
			t.Fatal(err)
		}
		if err := unix.ClockSettime(unix.CLOCK_REALTIME, &ts); err != nil {
			testtool.Missing(t, "permission to set the clock: "+err.Error())
			return
		}
		testtool.Eventually(t, "a clock step notice", func() bool {
			select {
			case <-steps:
				return true
			default:
				return false
			}
		})
	}
}
