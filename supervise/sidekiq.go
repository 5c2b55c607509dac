package supervise

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// sidekiqDefaultTimeout is sidekiq's own shutdown timeout when neither -t
// nor its config file sets one.
const sidekiqDefaultTimeout = 25 * time.Second

// SidekiqWarning returns a warning when p runs sidekiq with a shutdown
// timeout (-t, --timeout or :timeout: in its -C file, default 25s) that is
// not below p's stop timeout: sidekiq then pushes its unfinished jobs back
// only as entry sends SIGKILL, and the stop ends in exit 137. It returns ""
// when all is well or p does not run sidekiq.
func SidekiqWarning(p Process) string {
	args := p.Argv
	if len(args) == 0 {
		args = strings.Fields(p.Shell)
	}
	at := -1
	for i, a := range args {
		if filepath.Base(a) == "sidekiq" {
			at = i
			break
		}
	}
	if at < 0 {
		return ""
	}
	stop := p.StopTimeout
	if stop <= 0 {
		stop = DefaultStopTimeout
	}
	timeout, from := sidekiqDefaultTimeout, "sidekiq's default shutdown timeout"
	var configFile string
args:
	for i := at + 1; i < len(args); i++ {
		a, next := args[i], ""
		if i+1 < len(args) {
			next = args[i+1]
		}
		var val string
		switch {
		case a == "-t" || a == "--timeout":
			val = next
		case strings.HasPrefix(a, "--timeout="):
			val = strings.TrimPrefix(a, "--timeout=")
		case strings.HasPrefix(a, "-t") && len(a) > 2:
			val = a[2:]
		case a == "-C" || a == "--config":
			configFile = next
			continue
		default:
			continue
		}
		if n, err := strconv.Atoi(val); err == nil {
			timeout, from = time.Duration(n)*time.Second, "sidekiq -t "+val
			configFile = ""
			break args
		}
	}
	if configFile != "" {
		if n, ok := sidekiqConfigTimeout(filepath.Join(p.Dir, configFile)); ok {
			timeout, from = time.Duration(n)*time.Second, fmt.Sprintf(":timeout: %d in %s", n, configFile)
		}
	}
	if timeout < stop {
		return ""
	}
	return fmt.Sprintf("%s (%s) is not below stop_timeout %s: a job still running then is killed with SIGKILL (exit 137) before sidekiq can push it back; run sidekiq -t %d, or raise stop_timeout above %s",
		from, timeout, stop, max(int((stop-5*time.Second)/time.Second), 1), timeout)
}

// sidekiqConfigTimeout reads :timeout: (or timeout:) from a sidekiq.yml.
func sidekiqConfigTimeout(path string) (int, bool) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, false
	}
	var m map[string]any
	if yaml.Unmarshal(data, &m) != nil {
		return 0, false
	}
	for _, k := range []string{":timeout", "timeout"} {
		if n, ok := m[k].(int); ok {
			return n, true
		}
	}
	return 0, false
}
