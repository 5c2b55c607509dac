#!/usr/bin/env bash
# Private memory of the supervisor after many control requests (issue 19
# item 6): entry as PID 1 of a new PID namespace supervising PROCS idle
# processes; RssAnon (beside RSS) when idle, right after REQUESTS requests
# (status and health alternately, over the socket), and again after SETTLE
# seconds idle. Against the binary of BEFORE_COMMIT, measured side by side.
# Medians of ROUNDS rounds.
#
# Usage (root, for unshare --pid):
#   bench/ctl-memory.sh [BEFORE_COMMIT] [PROCS] [REQUESTS] [ROUNDS] [SETTLE]
set -euo pipefail
cd "$(dirname "$0")/.."
before=${1:-a9e81f2}
procs=${2:-3}
requests=${3:-10000}
rounds=${4:-3}
settle=${5:-3}
. bench/lib.sh
bench_work

bench_build "$before" "$work/entry-before"
bench_build . "$work/entry-after"
{
  printf 'roles:\n  idle:\n'
  for ((i = 0; i < procs; i++)); do printf '    p%d: sleep 100000\n' "$i"; done
} >"$work/entry.yml"

kb() { awk -v k="$2:" '$1 == k {print $2}' /proc/"$1"/status; }

# requests SOCKET N: N requests, status and health in turn, one connection
# each, as entry ctl and entry health make them.
requests() {
  python3 - "$1" "$2" <<'PY'
import socket, sys
path, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    s = socket.socket(socket.AF_UNIX)
    s.connect(path)
    s.sendall(b'{"cmd":"status"}\n' if i % 2 == 0 else b'{"cmd":"health","timeout":4000000000}\n')
    buf = b""
    while not buf.endswith(b"\n"):
        d = s.recv(65536)
        if not d:
            break
        buf += d
    s.close()
PY
}

measure() { # NAME BINARY
  local name=$1 bin=$2 i
  for ((i = 0; i < rounds; i++)); do
    rm -f "$work/ctl.sock"
    (cd "$work" && ENTRY_CONTROL_SOCKET="$work/ctl.sock" exec unshare --pid --fork --kill-child --mount-proc "$bin" role=idle >/dev/null 2>&1) &
    local sh=$! pid="" n
    for ((n = 0; n < 200; n++)); do
      [[ -z "$pid" ]] || break
      sleep 0.05
      pid=$(cat /proc/$sh/task/*/children 2>/dev/null | awk '{print $1}')
    done
    [[ -n "$pid" ]] || { echo "entry did not start" >&2; exit 1; }
    for ((n = 0; n < 200; n++)); do [[ -S "$work/ctl.sock" ]] && break; sleep 0.05; done
    requests "$work/ctl.sock" 2 # the first request's one-time cost (code paged in) belongs to idle
    sleep "$settle"
    local idle busy settled
    idle=$(kb "$pid" RssAnon)
    local idlerss; idlerss=$(kb "$pid" VmRSS)
    requests "$work/ctl.sock" "$requests"
    busy=$(kb "$pid" RssAnon)
    sleep "$settle"
    settled=$(kb "$pid" RssAnon)
    echo "$name $idle $idlerss $busy $settled $(kb "$pid" VmRSS)"
    kill -TERM "$pid"; wait "$sh" || true
  done
}
{ measure before "$work/entry-before"; measure after "$work/entry-after"; } >"$work/raw"
python3 - "$work/raw" "$procs" "$requests" "$settle" <<'PY'
import sys, statistics
rows = [l.split() for l in open(sys.argv[1])]
procs, n, settle = sys.argv[2], sys.argv[3], sys.argv[4]
print(f"# entry as PID 1, {procs} idle processes, {n} control requests (status, health); medians of {len(rows)//2} rounds; KiB")
print(f"{'':8s} {'idle RssAnon':>13s} {'idle RSS':>9s} {'just after':>11s} {'after '+settle+'s idle':>14s} {'RSS then':>9s} {'growth':>7s}")
for name in ("before", "after"):
    r = [x for x in rows if x[0] == name]
    m = [statistics.median(float(x[i]) for x in r) for i in range(1, 6)]
    print(f"{name:8s} {m[0]:13.0f} {m[1]:9.0f} {m[2]:11.0f} {m[3]:14.0f} {m[4]:9.0f} {m[3]-m[0]:+7.0f}")
PY
