package cron

import (
	"errors"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// watchClockSteps tells, on the returned channel, each time the wall clock
// is set (an NTP step, a resumed host, date -s), so that the scheduler can
// sleep until the next due time instead of waking every minute to check.
// It uses a timerfd armed far in the future with TFD_TIMER_CANCEL_ON_SET,
// waited on by the runtime's poller: no wake-up until the clock is set. A
// nil channel means the kernel cannot tell (the caller then caps its
// sleeps). stop releases the timerfd.
func watchClockSteps() (steps <-chan struct{}, stop func()) {
	fd, err := unix.TimerfdCreate(unix.CLOCK_REALTIME, unix.TFD_NONBLOCK|unix.TFD_CLOEXEC)
	if err != nil {
		return nil, func() {}
	}
	arm := func() error {
		far := unix.ItimerSpec{Value: unix.Timespec{Sec: time.Now().Unix() + 50*365*24*3600}}
		return unix.TimerfdSettime(fd, unix.TFD_TIMER_ABSTIME|unix.TFD_TIMER_CANCEL_ON_SET, &far, nil)
	}
	if arm() != nil {
		unix.Close(fd)
		return nil, func() {}
	}
	f := os.NewFile(uintptr(fd), "timerfd")
	ch := make(chan struct{}, 1)
	go func() {
		var buf [8]byte
		for {
			_, err := f.Read(buf[:])
			if !errors.Is(err, syscall.ECANCELED) {
				return // closed by stop (or the far timer expired)
			}
			select {
			case ch <- struct{}{}:
			default: // one pending notice is enough
			}
			if arm() != nil {
				return
			}
		}
	}()
	return ch, func() { f.Close() }
}
