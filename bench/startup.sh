#!/usr/bin/env bash
# Start-up cost: `entry -- true` against `tini -- true` and `dumb-init true`,
# side by side in one hyperfine run (medians; the machine is noisy). Also
# prints the size of the static binaries for both architectures.
#
# With BASE (a commit), it also builds entry at BASE and compares the two:
# `entry -- true` time in the same hyperfine run, and the private memory
# (RssAnon, beside VmRSS) of an idle supervisor running one `sleep`, median
# of 7 starts. A change that adds packages (AWS service clients, say) must
# keep both within 10% of BASE.
#
# Usage: bench/startup.sh [RUNS] [BASE]   (needs hyperfine, tini, dumb-init: Debian packages)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-500}
base=${2:-}
for p in hyperfine tini dumb-init; do
  command -v "$p" >/dev/null || { echo "bench/startup.sh: install $p (apt-get install $p)" >&2; exit 1; }
done
scripts/build >/dev/null
ls -l dist/entry-linux-amd64 dist/entry-linux-arm64 | awk '{print $NF": "$5" bytes"}'

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp dist/entry-linux-amd64 "$work/entry"
cmds=("./entry -- true" "tini -s -- true" "dumb-init true")
if [ -n "$base" ]; then
  src=$work/base-src
  mkdir -p "$src"
  git archive "$base" | tar -x -C "$src"
  (cd "$src" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$work/entry-base" ./cmd/entry)
  echo "entry at $base: $(stat -c %s "$work/entry-base") bytes"
  cmds+=("./entry-base -- true")
fi
cd "$work" # no entry.yml, no .env: the bare pipeline
out=$work/startup.json
hyperfine -N --warmup 50 --runs "$runs" --export-json "$out" "${cmds[@]}" >/dev/null
python3 - "$out" <<'PY'
import json, sys, statistics
res = json.load(open(sys.argv[1]))["results"]
med = {r["command"]: statistics.median(r["times"]) for r in res}
base = med["tini -s -- true"]
for cmd, m in med.items():
    print(f"{cmd:22s} median {m*1e3:7.3f} ms   ratio vs tini {m/base:5.2f}")
if "./entry-base -- true" in med:
    print(f"entry vs entry at base: {med['./entry -- true']/med['./entry-base -- true']:5.3f}")
PY
[ -n "$base" ] || exit 0

# Idle supervisor: one role with one long sleep; read /proc after 1s.
mkdir -p idle && printf 'roles:\n  idle:\n    sleep: sleep 600\n' > idle/entry.yml
rss() { # BIN -> "RssAnon VmRSS" in kB
  (cd idle && "$work/$1" role=idle >/dev/null 2>&1 & echo $! > "$work/pid")
  sleep 1
  pid=$(cat "$work/pid")
  awk '/^RssAnon:/{a=$2} /^VmRSS:/{r=$2} END{print a, r}' "/proc/$pid/status"
  kill -TERM "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
for bin in entry entry-base; do
  for _ in 1 2 3 4 5 6 7; do rss "$bin"; done > "$work/$bin.rss"
done
python3 - "$work/entry.rss" "$work/entry-base.rss" <<'PY'
import sys, statistics
def med(path, i): return statistics.median(float(l.split()[i]) for l in open(path) if l.strip())
for name, path in (("entry", sys.argv[1]), ("entry at base", sys.argv[2])):
    print(f"idle supervisor {name:14s} RssAnon {med(path,0):7.0f} kB   VmRSS {med(path,1):7.0f} kB")
print(f"RssAnon ratio {med(sys.argv[1],0)/med(sys.argv[2],0):5.3f}   VmRSS ratio {med(sys.argv[1],1)/med(sys.argv[2],1):5.3f}")
PY
