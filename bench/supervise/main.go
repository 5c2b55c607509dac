// Command supervise benchmarks entry's supervisor side by side with tini and
// supervisord (issue 3): RSS with three idle processes, idle CPU, log
// throughput of four writers against a plain pipe, and the latency from
// TERM to every child signalled. It prints medians and ratios.
//
//	CGO_ENABLED=0 go build -o /tmp/entry ./cmd/entry   # static, as shipped
//	go run ./bench/supervise -entry /tmp/entry            # all, 60s idle
//	go run ./bench/supervise -entry /tmp/entry -only rss,latency
//
// It needs tini and supervisord (Debian packages tini, supervisor) and
// starts every supervisor as an ordinary child (not PID 1): entry then
// acts as child subreaper, tini is given -s.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

var (
	entryBin = flag.String("entry", "", "entry binary to measure (required)")
	rounds   = flag.Int("rounds", 5, "rounds per measurement (medians are reported)")
	idle     = flag.Duration("idle", 60*time.Second, "idle CPU measurement period")
	lines    = flag.Int("lines", 250000, "lines per writer in the throughput test")
	only     = flag.String("only", "rss,cpu,logs,latency", "measurements to run")
)

func main() {
	flag.Parse()
	if *entryBin == "" {
		fatalf("give -entry PATH (CGO_ENABLED=0 go build -o /tmp/entry ./cmd/entry)")
	}
	for _, p := range []string{"tini", "supervisord"} {
		if _, err := exec.LookPath(p); err != nil {
			fatalf("%s is not installed (apt-get install tini supervisor)", p)
		}
	}
	abs, _ := filepath.Abs(*entryBin)
	*entryBin = abs
	fmt.Printf("# entry supervisor benchmarks, %d rounds, medians\n", *rounds)
	for _, m := range strings.Split(*only, ",") {
		switch m {
		case "rss":
			benchRSS()
		case "cpu":
			benchIdleCPU()
		case "logs":
			benchLogs()
		case "latency":
			benchLatency()
		default:
			fatalf("unknown measurement %q", m)
		}
	}
}

func fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...)
	os.Exit(1)
}

// A peer is one supervisor set up to run the given commands.
type peer struct {
	name  string
	start func(cmds []string, stdout io.Writer) *exec.Cmd
}

func peers() []peer {
	return []peer{
		{"entry", startEntry},
		{"tini", startTini},
		{"supervisord", startSupervisord},
	}
}

func startEntry(cmds []string, stdout io.Writer) *exec.Cmd {
	dir, _ := os.MkdirTemp("", "bench-entry-")
	var b strings.Builder
	b.WriteString("roles:\n  bench:\n")
	for i, c := range cmds {
		fmt.Fprintf(&b, "    p%d: {command: %q, essential: false}\n", i, c)
	}
	os.WriteFile(filepath.Join(dir, "entry.yml"), []byte(b.String()), 0o644)
	cmd := exec.Command(*entryBin, "role=bench")
	cmd.Dir = dir
	cmd.Stdout = stdout
	return cmd
}

// tini runs one child only: a shell running the commands.
func startTini(cmds []string, stdout io.Writer) *exec.Cmd {
	script := strings.Join(cmds, " & ") + " & wait"
	cmd := exec.Command("tini", "-s", "-g", "--", "sh", "-c", script)
	cmd.Stdout = stdout
	return cmd
}

func startSupervisord(cmds []string, stdout io.Writer) *exec.Cmd {
	dir, _ := os.MkdirTemp("", "bench-supervisord-")
	var b strings.Builder
	fmt.Fprintf(&b, "[supervisord]\nnodaemon=true\nlogfile=%s/supervisord.log\npidfile=%s/supervisord.pid\nloglevel=warn\nchildlogdir=%s\n", dir, dir, dir)
	for i, c := range cmds {
		fmt.Fprintf(&b, "[program:p%d]\ncommand=sh -c %q\nautorestart=false\nstartsecs=0\nstopwaitsecs=25\nstdout_logfile=/dev/stdout\nstdout_logfile_maxbytes=0\nstderr_logfile=/dev/stderr\nstderr_logfile_maxbytes=0\n", i, c)
	}
	conf := filepath.Join(dir, "supervisord.conf")
	os.WriteFile(conf, []byte(b.String()), 0o644)
	cmd := exec.Command("supervisord", "-n", "-c", conf)
	cmd.Stdout = stdout
	return cmd
}

// stop ends a supervisor and everything under it.
func stop(cmd *exec.Cmd) {
	cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		<-done
	}
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// statusKB reads a "Key: N kB" field of /proc/PID/status.
func statusKB(pid int, key string) float64 {
	data, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, key+":"); ok {
			f := strings.Fields(v)
			n, _ := strconv.ParseFloat(f[0], 64)
			return n
		}
	}
	return 0
}

// smapsKB reads one field of /proc/PID/smaps_rollup (Pss_Anon: the
// supervisor's private memory, shared pages divided among their users).
func smapsKB(pid int, key string) float64 {
	data, _ := os.ReadFile(fmt.Sprintf("/proc/%d/smaps_rollup", pid))
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, key+":"); ok {
			n, _ := strconv.ParseFloat(strings.Fields(v)[0], 64)
			return n
		}
	}
	return 0
}

// waitSleepers waits (up to 30 s: the machine may be busy) until the three
// sleep processes run below pid, so that memory is read once the supervisor
// has started them all (under tini a shell stands between).
func waitSleepers(pid int) {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if len(descendants(pid, "sleep")) >= 3 {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	fatalf("supervisor %d did not start its 3 processes within 30s", pid)
}

// benchRSS reports each supervisor's memory with the same three idle
// processes: RSS, and beside it the private memory (RssAnon; Pss_Anon),
// which is what a supervisor costs. RSS also counts the clean, shared,
// reclaimable pages of the executable and libraries.
func benchRSS() {
	fmt.Println("\n## Memory of the supervisor with 3 idle processes (sleep infinity), KiB")
	cmds := []string{"exec sleep infinity", "exec sleep infinity", "exec sleep infinity"}
	keys := []string{"VmRSS", "RssAnon", "Pss_Anon"}
	res := map[string]map[string][]float64{}
	for range *rounds {
		for _, p := range peers() {
			cmd := p.start(cmds, io.Discard)
			if err := cmd.Start(); err != nil {
				fatalf("%s: %v", p.name, err)
			}
			waitSleepers(cmd.Process.Pid)
			time.Sleep(time.Second) // let start-up garbage be returned
			if res[p.name] == nil {
				res[p.name] = map[string][]float64{}
			}
			pid := cmd.Process.Pid
			res[p.name]["VmRSS"] = append(res[p.name]["VmRSS"], statusKB(pid, "VmRSS"))
			res[p.name]["RssAnon"] = append(res[p.name]["RssAnon"], statusKB(pid, "RssAnon"))
			res[p.name]["Pss_Anon"] = append(res[p.name]["Pss_Anon"], smapsKB(pid, "Pss_Anon"))
			stop(cmd)
		}
	}
	fmt.Printf("%-12s %9s %9s %9s\n", "", keys[0], keys[1], keys[2])
	for _, p := range peers() {
		fmt.Printf("%-12s", p.name)
		for _, k := range keys {
			fmt.Printf(" %9.0f", median(res[p.name][k]))
		}
		fmt.Println()
	}
	for _, p := range peers() {
		if p.name == "entry" {
			continue
		}
		fmt.Printf("entry/%-10s", p.name)
		for _, k := range keys {
			fmt.Printf(" %8.2fx", median(res["entry"][k])/median(res[p.name][k]))
		}
		fmt.Println()
	}
}

// cpuNS sums the CPU time of every thread of pid (schedstat, ns).
func cpuNS(pid int) (cpu, switches float64) {
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*", pid))
	for _, task := range tasks {
		data, _ := os.ReadFile(task + "/schedstat")
		if f := strings.Fields(string(data)); len(f) > 0 {
			n, _ := strconv.ParseFloat(f[0], 64)
			cpu += n
		}
		status, _ := os.ReadFile(task + "/status")
		for _, line := range strings.Split(string(status), "\n") {
			if v, ok := strings.CutPrefix(line, "voluntary_ctxt_switches:"); ok {
				n, _ := strconv.ParseFloat(strings.TrimSpace(v), 64)
				switches += n
			}
			if v, ok := strings.CutPrefix(line, "nonvoluntary_ctxt_switches:"); ok {
				n, _ := strconv.ParseFloat(strings.TrimSpace(v), 64)
				switches += n
			}
		}
	}
	return cpu, switches
}

func benchIdleCPU() {
	fmt.Printf("\n## Idle CPU over %s, 3 idle processes, all three supervisors side by side\n", *idle)
	cmds := []string{"exec sleep infinity", "exec sleep infinity", "exec sleep infinity"}
	var running []*exec.Cmd
	for _, p := range peers() {
		cmd := p.start(cmds, io.Discard)
		if err := cmd.Start(); err != nil {
			fatalf("%s: %v", p.name, err)
		}
		running = append(running, cmd)
	}
	time.Sleep(2 * time.Second)
	type sample struct{ cpu, sw float64 }
	before := make([]sample, len(running))
	for i, c := range running {
		before[i].cpu, before[i].sw = cpuNS(c.Process.Pid)
	}
	time.Sleep(*idle)
	for i, p := range peers() {
		cpu, sw := cpuNS(running[i].Process.Pid)
		fmt.Printf("%-12s %8.3f ms CPU, %4.0f wake-ups (context switches)\n", p.name, (cpu-before[i].cpu)/1e6, sw-before[i].sw)
	}
	for _, c := range running {
		stop(c)
	}
}

// countLines reads r until it has seen n newlines and returns the time
// that took from start.
func countLines(r io.Reader, n int, start time.Time) time.Duration {
	buf := make([]byte, 256<<10)
	seen := 0
	for seen < n {
		k, err := r.Read(buf)
		seen += bytes.Count(buf[:k], []byte{'\n'})
		if err != nil {
			break
		}
	}
	d := time.Since(start)
	go io.Copy(io.Discard, r)
	return d
}

func benchLogs() {
	line := strings.Repeat("x", 99)
	writer := fmt.Sprintf("yes %s | head -n %d", line, *lines)
	cmds := []string{writer, writer, writer, writer}
	total := 4 * *lines
	fmt.Printf("\n## Log throughput: 4 writers x %d lines of 100 bytes, prefixed, read from the supervisor's stdout\n", *lines)
	all := append([]peer{{"plain pipe", func(cmds []string, stdout io.Writer) *exec.Cmd {
		cmd := exec.Command("sh", "-c", strings.Join(cmds, " & ")+" & wait")
		cmd.Stdout = stdout
		return cmd
	}}}, peers()...)
	// cat: the cheapest relay there is, one more pipe hop and nothing else.
	all = append(all, peer{"cat relay", func(cmds []string, stdout io.Writer) *exec.Cmd {
		cmd := exec.Command("sh", "-c", "("+strings.Join(cmds, " & ")+" & wait) | cat")
		cmd.Stdout = stdout
		return cmd
	}})
	// entry again with --log-format raw: the same pipe hop without the
	// prefixing, to tell the cost of the one from the other.
	all = append(all, peer{"entry raw", func(cmds []string, stdout io.Writer) *exec.Cmd {
		cmd := startEntry(cmds, stdout)
		cmd.Env = append(os.Environ(), "ENTRY_LOG_FORMAT=raw")
		return cmd
	}})
	res := map[string][]float64{}
	for range *rounds {
		for _, p := range all {
			if p.name == "tini" {
				continue // tini passes its child's stdout through: the same as a plain pipe
			}
			pr, pw, _ := os.Pipe()
			cmd := p.start(cmds, pw)
			start := time.Now()
			if err := cmd.Start(); err != nil {
				fatalf("%s: %v", p.name, err)
			}
			pw.Close()
			d := countLines(pr, total, start)
			stop(cmd)
			pr.Close()
			res[p.name] = append(res[p.name], float64(total)/d.Seconds())
		}
	}
	plain := median(res["plain pipe"])
	for _, name := range []string{"plain pipe", "cat relay", "entry", "entry raw", "supervisord"} {
		m := median(res[name])
		fmt.Printf("%-12s %10.0f lines/s  %6.1f MB/s  (%.0f%% of the plain pipe)\n", name, m, m*100/1e6, 100*m/plain)
	}
	fmt.Printf("entry/supervisord = %.2f\n", median(res["entry"])/median(res["supervisord"]))
}

// descendants lists the pids of pid's descendants whose command name is
// comm.
func descendants(pid int, comm string) []int {
	parent := map[int]int{}
	name := map[int]string{}
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, f := range stats {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		s := string(data)
		open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
		if open < 0 || end < open {
			continue
		}
		p, _ := strconv.Atoi(strings.TrimSpace(s[:open]))
		fields := strings.Fields(s[end+1:])
		if len(fields) < 2 || fields[0] == "Z" {
			continue
		}
		pp, _ := strconv.Atoi(fields[1])
		parent[p] = pp
		name[p] = s[open+1 : end]
	}
	var out []int
	for p, n := range name {
		if n != comm {
			continue
		}
		for a := parent[p]; a > 1; a = parent[a] {
			if a == pid {
				out = append(out, p)
				break
			}
		}
	}
	return out
}

// benchLatency: three `sleep infinity` children die of TERM's default
// action the moment the signal reaches them; pidfds tell the harness, which
// waits in poll, when each has ended. No child-side runtime adds its own
// wake-up time.
func benchLatency() {
	n := *rounds * 4
	fmt.Printf("\n## Latency from TERM to the supervisor to all 3 children signalled (%d rounds)\n", n)
	// exec: supervisord signals only the process it started, not its group.
	cmds := []string{"exec sleep infinity", "exec sleep infinity", "exec sleep infinity"}
	res := map[string][]float64{}
	for range n {
		for _, p := range peers() {
			cmd := p.start(cmds, io.Discard)
			if err := cmd.Start(); err != nil {
				fatalf("%s: %v", p.name, err)
			}
			var kids []int
			for deadline := time.Now().Add(60 * time.Second); len(kids) < 3; {
				if time.Now().After(deadline) {
					fatalf("%s: children did not start", p.name)
				}
				time.Sleep(5 * time.Millisecond)
				kids = descendants(cmd.Process.Pid, "sleep")
			}
			time.Sleep(100 * time.Millisecond)
			var fds []unix.PollFd
			for _, k := range kids {
				fd, err := unix.PidfdOpen(k, 0)
				if err != nil {
					fatalf("pidfd_open: %v", err)
				}
				fds = append(fds, unix.PollFd{Fd: int32(fd), Events: unix.POLLIN})
			}
			t0 := time.Now()
			cmd.Process.Signal(syscall.SIGTERM)
			var last time.Duration
			for left := len(fds); left > 0; {
				if _, err := unix.Poll(fds, 10000); err != nil && err != unix.EINTR {
					fatalf("poll: %v", err)
				}
				now := time.Since(t0)
				for i := range fds {
					if fds[i].Fd >= 0 && fds[i].Revents != 0 {
						unix.Close(int(fds[i].Fd))
						fds[i].Fd = -1
						left--
						last = now
					}
				}
				if time.Since(t0) > 10*time.Second {
					fatalf("%s: children were not signalled", p.name)
				}
			}
			res[p.name] = append(res[p.name], float64(last.Microseconds()))
			stop(cmd)
		}
	}
	e := median(res["entry"])
	for _, p := range peers() {
		m := median(res[p.name])
		fmt.Printf("%-12s %8.0f µs  (entry/%s = %.2f)\n", p.name, m, p.name, e/m)
	}
}
