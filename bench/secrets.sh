#!/usr/bin/env bash
# Secrets: decrypting a 200-value YAML vault at start.
#
# 1. In process: the Go benchmark BenchmarkDecrypt200 (verify, decrypt and
#    render; target <= 5 ms), median of several runs.
# 2. As whole processes, side by side in one hyperfine run:
#    `entry secrets decrypt` against `sops -d` on the same 200 values, both
#    with one age recipient. sops is built from the Go module proxy
#    (go install github.com/getsops/sops/v3/cmd/sops@latest) when it is not
#    in PATH or $(go env GOPATH)/bin; without it only step 1 runs.
#
# Usage: bench/secrets.sh [RUNS]
# Needs: go, hyperfine (Debian package), python3.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-60}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "== in process: go test -bench Decrypt200 (ns/op, 10 runs)"
go test -run '^$' -bench 'Decrypt200$|Decrypt200PQ$' -count 10 ./secrets/ | tee "$work/gobench.txt" | grep '^Benchmark' || true
python3 - "$work/gobench.txt" <<'PY'
import re, statistics, sys
runs = {}
for line in open(sys.argv[1]):
    m = re.match(r'^(Benchmark\S+)\s+\d+\s+([\d.]+) ns/op', line)
    if m:
        runs.setdefault(m.group(1), []).append(float(m.group(2)))
for name, v in runs.items():
    print(f"{name}: median {statistics.median(v)/1e6:.2f} ms over {len(v)} runs (min {min(v)/1e6:.2f} ms)")
PY

CGO_ENABLED=0 go build -o "$work/entry" ./cmd/entry
sops=$(command -v sops || true)
[ -z "$sops" ] && [ -x "$(go env GOPATH)/bin/sops" ] && sops=$(go env GOPATH)/bin/sops
if [ -z "$sops" ]; then
  echo "== installing sops from the Go module proxy (at most 5 minutes)"
  timeout 300 go install github.com/getsops/sops/v3/cmd/sops@latest && sops=$(go env GOPATH)/bin/sops || true
fi
command -v hyperfine >/dev/null || { echo "bench/secrets.sh: hyperfine is missing (apt-get install hyperfine)" >&2; exit 1; }

# 200 values: 20 services of 10 strings, ints and bools, with comments.
python3 - > "$work/secrets.yml" <<'PY'
for s in range(20):
    print(f"# service {s}")
    print(f"service_{s}:")
    for v in range(10):
        k = v % 4
        if k == 0:   print(f"  password_{v}: p4ss-{s}-{v}-abcdefghijklmnopqrstuvwxyz")
        elif k == 1: print(f"  port_{v}: {5000 + v}")
        elif k == 2: print(f"  enabled_{v}: true")
        else:        print(f"  url_{v}: postgres://user:secret@db-{s}.internal:5432/app_{v}")
PY
"$work/entry" secrets keygen -o "$work/age.key" 2> "$work/pub"
pub=$(sed 's/^Public key: //' "$work/pub")
"$work/entry" secrets encrypt "$work/secrets.yml" -r "$pub" -o "$work/entry.yml.enc"
export ENTRY_AGE_KEY_FILE="$work/age.key" SOPS_AGE_KEY_FILE="$work/age.key"
"$work/entry" secrets decrypt "$work/entry.yml.enc" | cmp - "$work/secrets.yml"

cmds=("$work/entry secrets decrypt $work/entry.yml.enc")
names=("entry secrets decrypt")
if [ -n "$sops" ]; then
  "$sops" --encrypt --age "$pub" "$work/secrets.yml" > "$work/sops.yml"
  "$sops" -d "$work/sops.yml" > /dev/null
  cmds+=("$sops -d $work/sops.yml")
  names+=("sops -d")
else
  echo "sops could not be built here: whole-process comparison skipped"
fi
echo "== whole process: ${names[*]} ($runs runs each)"
args=()
for i in "${!cmds[@]}"; do args+=(-n "${names[$i]}" "${cmds[$i]}"); done
hyperfine -N --warmup 5 --runs "$runs" --export-json "$work/h.json" "${args[@]}" >/dev/null
python3 - "$work/h.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"]
for x in r:
    print(f"{x['command']}: median {x['median']*1e3:.2f} ms (mean {x['mean']*1e3:.2f} ± {x['stddev']*1e3:.2f} ms)")
if len(r) == 2:
    print(f"ratio sops/entry (median): {r[1]['median']/r[0]['median']:.1f}x")
PY
ls -l "$work/entry" ${sops:+"$sops"} | awk '{printf "binary %s: %.1f MB\n", $NF, $5/1e6}'
