package supervise

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// AllProcesses is the name entry ctl start, stop and restart take for
// every process of the role (supervisorctl's "all"); no process may have
// it (config refuses it).
const AllProcesses = "all"

// A pendingAll is an entry ctl start all (or the start half of restart
// all) waiting until every process it started is ready, or has failed.
type pendingAll struct {
	r     *ctlRequest
	procs []*proc
	lines []string // already written: the stop half, processes that were running
	did   string   // started, restarted
}

// onControlAll handles start, stop and restart of every process.
func (s *Supervisor) onControlAll(r *ctlRequest) {
	switch r.Cmd {
	case "start":
		s.startAll(r, nil, "started")
	case "stop":
		s.stopAll(func(lines []string, failed bool) {
			s.replyLines(r, lines, failed)
		})
	case "restart":
		s.stopAll(func(lines []string, failed bool) {
			if failed || s.stopping {
				s.replyLines(r, append(lines, "not started again: role "+s.role.Name+" is stopping"), true)
				return
			}
			s.startAll(r, lines, "restarted")
		})
	default:
		r.reply <- Response{Error: fmt.Sprintf("%s all: not possible; %s one process at a time", r.Cmd, r.Cmd)}
	}
}

// replyLines answers with one line per process; failed makes it an error
// (the client exits 1).
func (s *Supervisor) replyLines(r *ctlRequest, lines []string, failed bool) {
	text := strings.Join(lines, "\n")
	if failed {
		r.reply <- Response{Error: text}
		return
	}
	r.reply <- Response{Message: text}
}

// stopAll stops every running process by hand, as the role's stop orders
// it: a process is sent its stop signal once no running process that
// starts after it is left (nginx before unicorn). done gets one line a
// process, in the role's order.
func (s *Supervisor) stopAll(done func(lines []string, failed bool)) {
	lines := make([]string, len(s.procs))
	left := map[*proc]bool{}
	for i, p := range s.procs {
		if p.state != stRunning {
			s.dropPending(p)
			lines[i] = fmt.Sprintf("%s: not running (%s)", p.Name, s.stateOf(p))
			continue
		}
		left[p] = true
	}
	finished := false
	var step func()
	step = func() {
		if finished {
			return
		}
		if len(left) == 0 || s.stopping {
			finished = true
			failed := false
			if s.stopping && len(left) > 0 {
				failed = true
				for i, p := range s.procs {
					if left[p] {
						lines[i] = fmt.Sprintf("%s: role %s is stopping", p.Name, s.role.Name)
					}
				}
			}
			done(lines, failed)
			return
		}
		for i, p := range s.procs {
			if !left[p] || p.manualStop {
				continue
			}
			blocked := false
			for q := range left {
				if q.state == stRunning && slices.Contains(q.After, p.Name) {
					blocked = true
				}
			}
			if blocked {
				continue
			}
			s.stopByHand(p, func(st ExitStatus) {
				if end := describeEnd(p, st); strings.HasPrefix(end, "stopped") {
					lines[i] = fmt.Sprintf("%s: %s", p.Name, end)
				} else {
					lines[i] = fmt.Sprintf("%s: stopped: %s", p.Name, end)
				}
				delete(left, p)
				step()
			})
		}
	}
	step()
}

// startAll starts every process that is not running, in after: order
// (each once the processes it starts after are ready), and answers once
// every one is ready or has failed; before are lines to answer first.
func (s *Supervisor) startAll(r *ctlRequest, before []string, did string) {
	pa := &pendingAll{r: r, lines: before, did: did}
	for _, p := range s.procs {
		if p.state == stRunning {
			if did == "started" {
				pa.lines = append(pa.lines, fmt.Sprintf("%s: already running%s", p.Name, pidText(p)))
			}
			continue
		}
		if p.timer != nil {
			p.timer.Stop()
			p.timer = nil
		}
		p.failed, p.restarts, p.backoff = false, nil, 0
		p.state = stWaiting
		pa.procs = append(pa.procs, p)
	}
	for _, p := range pa.procs {
		s.log.eventf(p.Name, "starting (entry ctl %s all)", strings.TrimSuffix(r.Cmd, " all"))
	}
	s.startReady()
	if !s.answerAll(pa) {
		s.pendingAll = append(s.pendingAll, pa)
	}
}

// answerPending answers the start all requests that are complete; Run
// calls it after every event.
func (s *Supervisor) answerPending() {
	if len(s.pendingAll) == 0 {
		return
	}
	s.pendingAll = slices.DeleteFunc(s.pendingAll, s.answerAll)
}

// answerAll answers pa when every process it started is ready (or, for
// --no-wait, has started) or has failed, and reports whether it did.
func (s *Supervisor) answerAll(pa *pendingAll) bool {
	var lines []string
	failed := false
	for _, p := range pa.procs {
		switch {
		case s.stopping:
			lines = append(lines, fmt.Sprintf("%s: role %s is stopping", p.Name, s.role.Name))
			failed = true
		case p.state == stWaiting:
			return false // its after: targets are not ready yet
		case p.state != stRunning:
			lines = append(lines, fmt.Sprintf("%s: not started: %s", p.Name, s.lastEnd(p)))
			failed = true
		case pa.r.NoWait || p.Ready == nil:
			lines = append(lines, fmt.Sprintf("%s: %s%s", p.Name, pa.did, pidText(p)))
		case p.ready:
			took := p.readyAt.Sub(p.startedAt).Round(100 * time.Millisecond)
			lines = append(lines, fmt.Sprintf("%s: %s%s, ready after %s", p.Name, pa.did, pidText(p), took))
		case p.readyCancel != nil:
			return false // still being checked
		default:
			lines = append(lines, fmt.Sprintf("%s: not ready after %s: %v", p.Name, p.ReadyTimeout, p.readyErr))
			failed = true
		}
	}
	s.replyLines(pa.r, append(pa.lines, lines...), failed)
	return true
}
