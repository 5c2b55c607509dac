#!/usr/bin/env bash
# Private memory of entry at rest, side by side for several builds (issue 20
# §7: keep `entry -- true` and the idle supervisor within 5% of a base):
#   - `entry -- sleep 1000`, entry as PID 1 of a new PID namespace, after 3 s;
#   - a role of two `sleep` processes, likewise;
#   - `entry -- true`: wall time and maximum RSS (GNU time's %M).
# RssAnon and VmRSS from /proc/PID/status; medians of ROUNDS rounds, the
# builds taking turns within each round so that the machine's noise falls on
# all alike. Ratios are against the first REV.
#
# Usage (root, for unshare --pid): bench/idle-memory.sh ROUNDS REV...
#   REV is a commit, or "." for the work tree as it is.
#   e.g. bench/idle-memory.sh 9 dae767e .
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:?usage: bench/idle-memory.sh ROUNDS REV...}
shift
[ $# -ge 1 ] || { echo "usage: bench/idle-memory.sh ROUNDS REV..." >&2; exit 2; }
. bench/lib.sh
bench_work

names=()
for rev in "$@"; do
  name=${rev//\//_}
  [ "$rev" = . ] && name=worktree
  bench_build "$rev" "$work/entry-$name"
  names+=("$name")
done
mkdir -p "$work/two"
printf 'roles:\n  two:\n    a: sleep 1000\n    b: sleep 1000\n' >"$work/two/entry.yml"

# idle DIR BIN ARGS...: start BIN as PID 1 of a new PID namespace in DIR,
# print "RssAnon VmRSS" (kB) after 3 s, stop it.
idle() {
  local dir=$1 bin=$2 sh pid="" n
  shift 2
  (cd "$dir" && exec unshare --pid --fork --kill-child --mount-proc "$bin" "$@" >/dev/null 2>&1) &
  sh=$!
  for ((n = 0; n < 200; n++)); do
    [ -z "$pid" ] || break
    sleep 0.05
    pid=$(cat /proc/$sh/task/*/children 2>/dev/null | awk '{print $1}')
  done
  [ -n "$pid" ] || { echo "entry did not start" >&2; exit 1; }
  sleep 3
  awk '/^RssAnon:/{a=$2} /^VmRSS:/{r=$2} END{print a, r}' /proc/"$pid"/status
  kill -TERM "$pid" 2>/dev/null || true
  wait "$sh" 2>/dev/null || true
}

empty=$work/empty
mkdir -p "$empty"
for ((i = 0; i < rounds; i++)); do
  for name in "${names[@]}"; do
    bin=$work/entry-$name
    echo "$name sleep $(idle "$empty" "$bin" -- sleep 1000)" >>"$work/results"
    echo "$name role $(idle "$work/two" "$bin" role=two)" >>"$work/results"
    # `entry -- true`: seconds and maximum RSS (kB).
    for _ in 1 2 3; do
      (cd "$empty" && /usr/bin/time -f "$name true %e %M" -a -o "$work/results" "$bin" -- true)
    done
  done
done
# Wall time of `entry -- true` at a finer grain than time's %e.
hcmds=()
for name in "${names[@]}"; do hcmds+=("$work/entry-$name -- true"); done
(cd "$empty" && hyperfine -N --warmup 20 --runs $((rounds * 40)) --export-json "$work/true.json" "${hcmds[@]}" >/dev/null 2>&1) || true

python3 - "$work/results" "$work/true.json" "${names[@]}" <<'PY'
import json, os, statistics, sys
path, hjson, names = sys.argv[1], sys.argv[2], sys.argv[3:]
rows = [l.split() for l in open(path) if l.strip()]
def med(name, kind, col):
    vals = [float(r[col]) for r in rows if r[0] == name and r[1] == kind]
    return statistics.median(vals) if vals else float("nan")
wall = {}
if os.path.exists(hjson):
    for r in json.load(open(hjson))["results"]:
        n = os.path.basename(r["command"].split()[0])[len("entry-"):]
        wall[n] = statistics.median(r["times"]) * 1e3
base = names[0]
print(f"{'build':12s} {'sleep RssAnon':>13s} {'VmRSS':>6s} {'role RssAnon':>13s} {'VmRSS':>6s} {'true ms':>8s} {'true maxRSS':>11s}")
for n in names:
    print(f"{n:12s} {med(n,'sleep',2):13.0f} {med(n,'sleep',3):6.0f} {med(n,'role',2):13.0f} {med(n,'role',3):6.0f} {wall.get(n, float('nan')):8.3f} {med(n,'true',3):11.0f}")
for n in names[1:]:
    print(f"{n} / {base}: sleep RssAnon {med(n,'sleep',2)/med(base,'sleep',2):.3f} VmRSS {med(n,'sleep',3)/med(base,'sleep',3):.3f}; "
          f"role RssAnon {med(n,'role',2)/med(base,'role',2):.3f} VmRSS {med(n,'role',3)/med(base,'role',3):.3f}; "
          f"true wall {wall.get(n, float('nan'))/wall.get(base, float('nan')):.3f} maxRSS {med(n,'true',3)/med(base,'true',3):.3f}")
PY
