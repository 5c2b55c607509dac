package main

import (
	"os"
	"os/signal"
	"syscall"
)

// stopSignals are the signals start-up acts on: each aborts the pipeline
// (see runPipeline).
var stopSignals = []os.Signal{syscall.SIGTERM, syscall.SIGINT, syscall.SIGQUIT}

// subscribeSignals subscribes to signals before anything else happens. As
// PID 1 it takes every signal, because the kernel drops a signal that PID 1
// has no handler for. Otherwise it takes only the stop signals: each
// subscription is a round trip to the Go runtime's signal thread (all 65
// cost about 1.5 ms, and resetting them before an exec as much again), and
// `entry -- CMD` execs without needing the rest. A supervisor widens the
// subscription with subscribeAllSignals before it starts anything.
func subscribeSignals() chan os.Signal {
	c := make(chan os.Signal, 64)
	if os.Getpid() == 1 {
		signal.Notify(c)
	} else {
		signal.Notify(c, stopSignals...)
	}
	return c
}

// subscribeAllSignals makes c receive every signal, for a supervisor that
// forwards them all to its processes.
func subscribeAllSignals(c chan os.Signal) {
	signal.Notify(c)
}

// resetSignals undoes subscribeSignals before an exec, so that the command
// finds the dispositions entry was started with (a HUP that nohup ignored
// stays ignored).
func resetSignals() {
	if os.Getpid() == 1 {
		signal.Reset()
	} else {
		signal.Reset(stopSignals...)
	}
}
