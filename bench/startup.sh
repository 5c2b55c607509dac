#!/usr/bin/env bash
# Start-up cost: `entry -- true` against `tini -- true` and `dumb-init true`,
# side by side in one hyperfine run (medians; the machine is noisy). Also
# prints the size of the static binaries for both architectures.
#
# Usage: bench/startup.sh [RUNS]   (needs hyperfine, tini, dumb-init: Debian packages)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-500}
for p in hyperfine tini dumb-init; do
  command -v "$p" >/dev/null || { echo "bench/startup.sh: install $p (apt-get install $p)" >&2; exit 1; }
done
scripts/build >/dev/null
ls -l dist/entry-linux-amd64 dist/entry-linux-arm64 | awk '{print $NF": "$5" bytes"}'

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp dist/entry-linux-amd64 "$work/entry"
cd "$work" # no entry.yml, no .env: the bare pipeline
out=$work/startup.json
hyperfine -N --warmup 50 --runs "$runs" --export-json "$out" \
  "./entry -- true" "tini -s -- true" "dumb-init true" >/dev/null
python3 - "$out" <<'PY'
import json, sys, statistics
res = json.load(open(sys.argv[1]))["results"]
med = {r["command"]: statistics.median(r["times"]) for r in res}
base = med["tini -s -- true"]
for cmd, m in med.items():
    print(f"{cmd:20s} median {m*1e3:7.3f} ms   ratio vs tini {m/base:5.2f}")
PY
