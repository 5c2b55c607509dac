#!/bin/sh
# bench/cron.sh: scheduling accuracy and idle CPU of entry's cron, side by
# side with supercronic (or Debian's cron when supercronic is missing).
#
#   bench/cron.sh [SECONDS]      (default 60)
#
# Accuracy: a per-second job writes its start time (date +%s.%N); the
# offset is how far past the whole second it started (fork and exec of sh
# and date included, the same for both schedulers). Both schedulers run at
# the same time, so they share the machine's noise. Debian's cron only has
# minutes, so with it the job is per-minute and the sample is small.
#
# Idle CPU: each scheduler runs a crontab whose only job is yearly, and
# the CPU time it used (utime+stime from /proc/PID/stat, in clock ticks)
# over the same SECONDS is reported.
#
# Build supercronic with: GOBIN=/tmp/cronbench/bin go install github.com/aptible/supercronic@latest
set -eu
secs=${1:-60}
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'kill $pids 2>/dev/null || true; rm -rf "$work"' EXIT
pids=

CGO_ENABLED=0 go build -o "$work/entry" "$root/cmd/entry"
supercronic=$(command -v supercronic || true)
[ -z "$supercronic" ] && [ -x /tmp/cronbench/bin/supercronic ] && supercronic=/tmp/cronbench/bin/supercronic
[ -z "$supercronic" ] && [ -x "$(go env GOPATH)/bin/supercronic" ] && supercronic=$(go env GOPATH)/bin/supercronic

printf '*/1 * * * * * * date +%%s.%%N >> %s/entry.out\n' "$work" > "$work/entry.crontab"
printf '0 0 1 1 *  true\n' > "$work/idle.crontab"
"$work/entry" cron run "$work/entry.crontab" > /dev/null 2>&1 & pids="$pids $!"
"$work/entry" cron run "$work/idle.crontab" > /dev/null 2>&1 & entry_idle=$!; pids="$pids $!"
if [ -n "$supercronic" ]; then
	peer="supercronic"
	printf '*/1 * * * * * * date +%%s.%%N >> %s/peer.out\n' "$work" > "$work/peer.crontab"
	"$supercronic" -quiet "$work/peer.crontab" > /dev/null 2>&1 & pids="$pids $!"
	"$supercronic" -quiet "$work/idle.crontab" > /dev/null 2>&1 & peer_idle=$!; pids="$pids $!"
else
	command -v cron > /dev/null || { echo "neither supercronic nor cron is installed" >&2; exit 1; }
	peer="Debian cron (per-minute job)"
	echo "* * * * * root date +\%s.\%N >> $work/peer.out" > /etc/cron.d/entry-bench
	trap 'kill $pids 2>/dev/null || true; rm -f /etc/cron.d/entry-bench; rm -rf "$work"' EXIT
	cron -f > /dev/null 2>&1 & peer_idle=$!; pids="$pids $!"
fi

cputicks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
sleep 1 # let both start up before the idle window opens
e0=$(cputicks "$entry_idle"); p0=$(cputicks "$peer_idle")
sleep "$secs"
e1=$(cputicks "$entry_idle"); p1=$(cputicks "$peer_idle")
kill $pids 2>/dev/null || true
wait 2>/dev/null || true

# stats FILE: count, median and p99 of the start offset in ms.
stats() {
	[ -s "$1" ] || { echo "no runs"; return; }
	awk '{ s = $1; f = s - int(s); if (f > 0.5) f -= 1; printf "%.3f\n", f * 1000 }' "$1" | sort -n |
		awk '{ v[NR] = $1 } END {
			m = v[int((NR + 1) / 2)]; p = v[int(NR * 0.99 + 0.999)]; if (p == "") p = v[NR]
			printf "runs %d  median %.1f ms  p99 %.1f ms  max %.1f ms\n", NR, m, p, v[NR] }'
}
hz=$(getconf CLK_TCK)
echo "scheduling accuracy over ${secs}s (start offset after the due second):"
echo "  entry:        $(stats "$work/entry.out")"
echo "  $peer: $(stats "$work/peer.out")"
echo "idle CPU over ${secs}s (yearly job only), in 1/${hz}s ticks:"
echo "  entry:        $((e1 - e0))"
echo "  $peer: $((p1 - p0))"
