#!/usr/bin/env bash
# Idle cost of the supervisor with its control socket open (issue 16),
# against the binary of a commit before it: private memory (RssAnon, beside
# RSS) and wake-ups (context switches of all of entry's threads, and the
# syscalls strace counts) over an idle period, entry as PID 1 of a new PID
# namespace supervising three idle processes. Medians of ROUNDS rounds.
#
# Usage (root, for unshare --pid): bench/ctl-idle.sh [BEFORE_COMMIT] [ROUNDS] [IDLE_SECONDS]
#   BEFORE_COMMIT defaults to fc2dfd2 (the supervisor before entry ctl).
set -euo pipefail
cd "$(dirname "$0")/.."
before=${1:-fc2dfd2}
rounds=${2:-5}
idle=${3:-10}
. bench/lib.sh
bench_work

bench_build "$before" "$work/entry-before"
bench_build . "$work/entry-after"
printf 'roles:\n  idle:\n    a: sleep 100000\n    b: sleep 100000\n    c: sleep 100000\n' >"$work/entry.yml"

# switches PID: voluntary + involuntary context switches of every thread.
switches() {
  cat /proc/"$1"/task/*/status | awk '/ctxt_switches/ {n += $2} END {print n}'
}
kb() { awk -v k="$2:" '$1 == k {print $2}' /proc/"$1"/status; }

measure() { # NAME BINARY
  local name=$1 bin=$2 i
  for ((i = 0; i < rounds; i++)); do
    (cd "$work" && ENTRY_CONTROL_SOCKET="$work/ctl.sock" exec unshare --pid --fork --kill-child --mount-proc "$bin" role=idle >/dev/null 2>&1) &
    local sh=$! pid="" n
    for ((n = 0; n < 200; n++)); do
      [[ -z "$pid" ]] || break
      sleep 0.05
      # The subshell execs unshare, whose first child is entry.
      pid=$(cat /proc/$sh/task/*/children 2>/dev/null | awk '{print $1}')
    done
    [[ -n "$pid" ]] || { echo "entry did not start" >&2; exit 1; }
    sleep 2
    if [[ $name == after ]]; then "$bin" ctl status --control-socket "$work/ctl.sock" >/dev/null; fi
    sleep 1
    local s0 s1 sc
    s0=$(switches "$pid")
    sleep "$idle"
    s1=$(switches "$pid")
    # Then the syscalls over as long again (strace's attach would count as
    # switches above).
    sc=0
    if command -v strace >/dev/null; then
      sc=$({ timeout -s INT "$idle" strace -f -c -p "$pid" 2>&1 || true; } | awk '$NF == "total" {print $(NF-2)}')
    fi
    echo "$name $(kb "$pid" RssAnon) $(kb "$pid" VmRSS) $((s1 - s0)) ${sc:-0}"
    sleep 0.5
    kill -TERM "$pid"; wait "$sh" || true
  done
}
{ measure before "$work/entry-before"; measure after "$work/entry-after"; } >"$work/raw"
python3 - "$work/raw" "$idle" <<'PY'
import sys, statistics
rows = [l.split() for l in open(sys.argv[1])]
idle = sys.argv[2]
print(f"# idle entry as PID 1, 3 idle processes, control socket open (after); medians of {len(rows)//2} rounds")
print(f"{'':8s} {'RssAnon KiB':>12s} {'RSS KiB':>9s} {'ctx switches/'+idle+'s':>18s} {'syscalls/'+idle+'s':>14s}")
med = {}
for name in ("before", "after"):
    r = [x for x in rows if x[0] == name]
    m = [statistics.median(float(x[i]) for x in r) for i in (1, 2, 3, 4)]
    med[name] = m
    print(f"{name:8s} {m[0]:12.0f} {m[1]:9.0f} {m[2]:18.0f} {m[3]:14.0f}")
b, a = med["before"], med["after"]
print(f"RssAnon after/before: {a[0]/b[0]:.3f}   RSS after/before: {a[1]/b[1]:.3f}")
PY
