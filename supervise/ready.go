package supervise

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/entryhq/entry/internal/redact"
)

// A Ready check tells that a process serves: a TCP connect, an HTTP GET
// answered 2xx or 3xx, or a command exiting 0.
type Ready struct {
	URL   *url.URL // tcp://host:port, http://… or https://…
	Shell string   // a command run through /bin/sh -c
	Argv  []string // a command run directly
}

// ParseReady reads ready: — a tcp://, http:// or https:// URL, else a
// shell command (or an argument list).
func ParseReady(shell string, argv []string) (*Ready, error) {
	if len(argv) > 0 {
		return &Ready{Argv: argv}, nil
	}
	shell = strings.TrimSpace(shell)
	if shell == "" {
		return nil, errors.New("ready: empty; give tcp://HOST:PORT, http://HOST:PORT/PATH or a command")
	}
	scheme, _, ok := strings.Cut(shell, "://")
	if !ok || strings.ContainsAny(scheme, " \t") {
		return &Ready{Shell: shell}, nil
	}
	u, err := url.Parse(shell)
	if err != nil {
		return nil, fmt.Errorf("ready: %s", redact.Text(err.Error()))
	}
	masked := redact.URL(shell) // errors and logs never show a password
	switch u.Scheme {
	case "tcp":
		if u.Port() == "" || u.Hostname() == "" {
			return nil, fmt.Errorf("ready: %s: give host and port, e.g. tcp://127.0.0.1:3000", masked)
		}
	case "http", "https":
		if u.Host == "" {
			return nil, fmt.Errorf("ready: %s: no host, e.g. http://127.0.0.1:3000/up", masked)
		}
	default:
		return nil, fmt.Errorf("ready: %s: want tcp://, http:// or https://, or a command", masked)
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("ready: %s: port %s is not a TCP port (1 to 65535)", masked, p)
		}
	}
	return &Ready{URL: u}, nil
}

// String is the check as written, a URL's password masked: it appears in
// logs, errors and entry ctl status.
func (r *Ready) String() string {
	switch {
	case r.URL != nil:
		return r.URL.Redacted()
	case r.Shell != "":
		return redact.Text(r.Shell)
	}
	return redact.Text(strings.Join(r.Argv, " "))
}

// check runs p's Ready check once, within ctx.
func (s *Supervisor) check(ctx context.Context, p *proc) error {
	r := p.Ready
	if r.URL != nil && r.URL.Scheme == "tcp" {
		c, err := (&net.Dialer{}).DialContext(ctx, "tcp", r.URL.Host)
		if err != nil {
			return fmt.Errorf("%s: %v", r, unwrapOp(err))
		}
		c.Close()
		return nil
	}
	if r.URL != nil {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.URL.String(), nil)
		if err != nil {
			return err
		}
		client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := client.Do(req)
		if err != nil {
			return fmt.Errorf("%s: %v", r, unwrapOp(err))
		}
		resp.Body.Close()
		if resp.StatusCode >= 400 {
			return fmt.Errorf("%s: %s", r, resp.Status)
		}
		return nil
	}
	argv := r.Argv
	if len(argv) == 0 {
		argv = []string{"/bin/sh", "-c", r.Shell}
	}
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return errors.New("the role has stopped")
	}
	done := make(chan ExitStatus, 1)
	c, err := s.spawn(spawnSpec{name: p.Name + ":ready", argv: argv, env: p.env, dir: p.Dir, quiet: true}, p, func(c *child) { done <- c.exit })
	if err != nil {
		return fmt.Errorf("ready command %s: %v", r, err)
	}
	select {
	case st := <-done:
		if st.Code != 0 {
			return fmt.Errorf("ready command %q %s", r.String(), describe(st))
		}
		return nil
	case <-ctx.Done():
		c.Signal(syscall.SIGKILL)
		<-done
		return fmt.Errorf("ready command %q still running after its timeout", r.String())
	}
}

// unwrapOp shortens a net error to its cause ("connection refused").
func unwrapOp(err error) error {
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		return op.Err
	}
	var ue *url.Error
	if errors.As(err, &ue) && ue.Err != nil {
		return unwrapOp(ue.Err)
	}
	return err
}

// Readiness polling backs off from readyFirst to readyMax between checks,
// each bounded by readyCheckTimeout; it runs from a process's start until
// its check passes or its ReadyTimeout has passed, and never after.
const (
	readyFirst        = 100 * time.Millisecond
	readyMax          = 2 * time.Second
	readyCheckTimeout = 5 * time.Second
	readyComplain     = 30 * time.Second
)

// watchReady polls p's Ready check after p started, until it passes (an
// evReady) or p.ReadyTimeout has passed since the start (an
// evReadyTimeout). Each failed check is reported (evNotReady), so that
// entry ctl status can show why a process is not ready yet.
func (s *Supervisor) watchReady(p *proc) {
	if p.Ready == nil || p.state != stRunning {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	p.readyCancel = cancel
	gen, name := p.gen, p.Name
	began, timeout := p.startedAt, p.ReadyTimeout // p's fields belong to Run's goroutine
	deadline := began.Add(timeout)
	go func() {
		wait, complained := readyFirst, false
		var last error // the last check that failed on its own, not cut short by the deadline
		for {
			cctx, ccancel := context.WithTimeout(ctx, max(min(time.Until(deadline), readyCheckTimeout), readyFirst))
			err := s.check(cctx, p)
			cut := cctx.Err() != nil
			ccancel()
			if ctx.Err() != nil {
				return
			}
			if err == nil {
				s.send(event{kind: evReady, p: p, gen: gen})
				return
			}
			if !cut || last == nil {
				last = err
			}
			left := time.Until(deadline)
			if left <= 0 {
				// A check cut short by the deadline says less than the
				// one before it ("connection refused", "exited with 1").
				s.send(event{kind: evReadyTimeout, p: p, gen: gen, err: last})
				return
			}
			s.send(event{kind: evNotReady, p: p, gen: gen, err: err})
			if !complained && timeout > readyComplain && time.Since(began) >= readyComplain {
				complained = true
				s.log.eventf(name, "not ready after %s (%v); still checking, up to ready_timeout %s", readyComplain, err, timeout)
			}
			t := time.NewTimer(min(wait, left))
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
			wait = min(2*wait, readyMax)
		}
	}()
}

// readyTimedOut handles p's Ready check not passing within ReadyTimeout:
// the entry ctl requests waiting for it fail, and so does every process
// waiting for it (after:), which stops the role when it is essential.
func (s *Supervisor) readyTimedOut(p *proc, err error) {
	p.readyCancel = nil
	p.readyErr = err
	why := fmt.Sprintf("not ready after %s (ready_timeout): %v", p.ReadyTimeout, err)
	s.emit(Fields{Event: "not_ready", Process: p.Name, Pid: pidOf(p), Duration: p.ReadyTimeout}, "%s", why)
	s.readyDone(p, fmt.Errorf("not ready after %s: %v", p.ReadyTimeout, err))
	if s.stopping {
		return
	}
	s.failDependants(p, fmt.Sprintf("%s %s", p.Name, why), fmt.Sprintf("%s not ready after %s", p.Name, p.ReadyTimeout))
}

// failDependants fails every process waiting to start after p: it cannot
// start. An essential one stops the role (exit code 1); those waiting after
// it fail in turn.
func (s *Supervisor) failDependants(p *proc, why, short string) {
	for _, q := range s.procs {
		if q.state != stWaiting || !slices.Contains(q.After, p.Name) {
			continue
		}
		q.state, q.failed, q.failure = stDone, true, short
		q.last = ExitStatus{Code: 1}
		s.emit(Fields{Event: "start_failed", Process: q.Name, Exit: &ExitStatus{Code: 1}}, "cannot start: %s", why)
		s.failDependants(q, q.Name+" did not start", q.Name+" did not start")
		if q.Essential && !s.stopping {
			s.cause = q
			s.beginStop(0)
		}
	}
}

// readyDone answers the entry ctl requests waiting for p's readiness: err
// nil means ready.
func (s *Supervisor) readyDone(p *proc, err error) {
	waiters := p.readyWait
	p.readyWait = nil
	for _, w := range waiters {
		w(err)
	}
}
