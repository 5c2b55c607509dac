#!/usr/bin/env bash
# Idle cost of issue 23's events and metrics, against the binary of the last
# commit before the issue (a9e81f2): private memory (RssAnon, beside RSS)
# and wake-ups (voluntary + involuntary context switches of every thread of
# entry, /proc/PID/task/*/status) over an idle period, entry as PID 1 of a
# new PID namespace. The variants run side by side in each round (idle
# processes do not disturb each other's counts); medians of ROUNDS rounds.
#
#   plain     three idle processes (sleep)
#   cron      the same plus the cron scheduler with one daily job
#   metrics   cron with metrics: on 127.0.0.1, scraped once before the idle
#             period (after only)
#
# Usage (root, for unshare --pid): bench/events-idle.sh [BEFORE_COMMIT] [ROUNDS] [IDLE_SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
before=${1:-a9e81f2}
rounds=${2:-7}
idle=${3:-30}
. bench/lib.sh
bench_work

bench_build "$before" "$work/entry-before"
bench_build . "$work/entry-after"
ls -l "$work/entry-before" "$work/entry-after" | awk '{print "# binary", $NF, $5, "bytes"}'
port=$((20000 + RANDOM % 20000))
mkdir -p "$work/plain" "$work/cron" "$work/metrics"
printf 'control_socket: none\nroles:\n  idle:\n    a: sleep 100000\n    b: sleep 100000\n    c: sleep 100000\n' >"$work/plain/entry.yml"
printf 'control_socket: none\nroles:\n  idle:\n    a: sleep 100000\n    b: sleep 100000\n    c: sleep 100000\n    cron: {crontab: crontab}\n' >"$work/cron/entry.yml"
printf 'control_socket: none\nmetrics: 127.0.0.1:%d\nroles:\n  idle:\n    a: sleep 100000\n    b: sleep 100000\n    c: sleep 100000\n    cron: {crontab: crontab}\n' "$port" >"$work/metrics/entry.yml"
for d in cron metrics; do printf '0 3 * * * true\n' >"$work/$d/crontab"; done

switches() { cat /proc/"$1"/task/*/status | awk '/ctxt_switches/ {n += $2} END {print n}'; }
kb() { awk -v k="$2:" '$1 == k {print $2}' /proc/"$1"/status; }

start() { # NAME DIR BINARY: sets sh[NAME] (the subshell) and pid[NAME] (entry)
  (cd "$2" && exec unshare --pid --fork --kill-child --mount-proc "$3" role=idle >/dev/null 2>&1) &
  local s=$! p="" n
  for ((n = 0; n < 200; n++)); do
    p=$(cat /proc/$s/task/*/children 2>/dev/null | awk '{print $1}')
    [[ -z "$p" ]] || break
    sleep 0.05
  done
  [[ -n "$p" ]] || { echo "entry did not start" >&2; exit 1; }
  sh[$1]=$s pid[$1]=$p
}

for ((i = 0; i < rounds; i++)); do
  declare -A sh=() pid=()
  for v in before-plain after-plain before-cron after-cron after-metrics; do
    bin=$work/entry-${v%%-*} dir=$work/${v#*-}
    start "$v" "$dir" "$bin"
  done
  sleep 2
  curl -fsS "http://127.0.0.1:$port/metrics" >/dev/null
  sleep 1
  declare -A s0=()
  for v in "${!pid[@]}"; do s0[$v]=$(switches "${pid[$v]}"); done
  sleep "$idle"
  for v in "${!pid[@]}"; do
    echo "$v $(kb "${pid[$v]}" RssAnon) $(kb "${pid[$v]}" VmRSS) $(( $(switches "${pid[$v]}") - s0[$v] ))"
  done >>"$work/raw"
  for v in "${!pid[@]}"; do kill -TERM "${pid[$v]}"; done
  for v in "${!sh[@]}"; do wait "${sh[$v]}" || true; done
  unset sh pid s0
done
python3 - "$work/raw" "$idle" "$before" <<'PY'
import sys, statistics
rows = [l.split() for l in open(sys.argv[1])]
idle, before = sys.argv[2], sys.argv[3]
names = ["before-plain", "after-plain", "before-cron", "after-cron", "after-metrics"]
n = len([r for r in rows if r[0] == names[0]])
print(f"# idle entry as PID 1 (before = {before}); medians of {n} rounds of {idle} s idle")
print(f"{'':14s} {'RssAnon KiB':>12s} {'RSS KiB':>9s} {'ctx switches/'+idle+'s':>18s}")
med = {}
for name in names:
    r = [x for x in rows if x[0] == name]
    med[name] = [statistics.median(float(x[i]) for x in r) for i in (1, 2, 3)]
    m = med[name]
    print(f"{name:14s} {m[0]:12.0f} {m[1]:9.0f} {m[2]:18.0f}")
for a, b in (("after-plain", "before-plain"), ("after-cron", "before-cron"), ("after-metrics", "after-cron")):
    print(f"RssAnon {a}/{b}: {med[a][0]/med[b][0]:.3f}   RSS: {med[a][1]/med[b][1]:.3f}")
PY
