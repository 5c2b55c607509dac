#!/usr/bin/env bash
# Assets manifest fetch: a whole `entry assets fetch` process (the start-up
# step run by hand: resolve RAILS_ENV and the revision, GET, verify SHA-256
# and JSON, write atomically) against `aws s3 cp` (the seed scripts' way),
# for a 200 KB manifest from MinIO on loopback, side by side in one
# hyperfine run. Prints medians and the ratio (target: entry >= 10x faster).
#
# Usage: bench/assets.sh [RUNS]
# Needs: hyperfine and awscli (Debian packages), python3, and MinIO in
# $(go env GOPATH)/bin (scripts/test installs it).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-40}

# Debian's awscli, not a pyenv shim that may come first in PATH.
aws=/usr/bin/aws
minio=$(go env GOPATH)/bin/minio
for p in hyperfine python3 "$aws" "$minio"; do
  command -v "$p" >/dev/null || { echo "bench/assets.sh: $p is missing (apt-get install hyperfine awscli; scripts/test installs minio)" >&2; exit 1; }
done

work=$(mktemp -d)
minio_pid=
cleanup() {
  [ -n "$minio_pid" ] && kill "$minio_pid" 2>/dev/null && wait "$minio_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

CGO_ENABLED=0 go build -o "$work/entry" ./cmd/entry

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
MINIO_ROOT_USER=benchuser MINIO_ROOT_PASSWORD=bench-secret MINIO_BROWSER=off MINIO_UPDATE=off HOME="$work" \
  "$minio" server --quiet --address "127.0.0.1:$port" "$work/data" >"$work/minio.log" 2>&1 &
minio_pid=$!
for _ in $(seq 1 300); do # at most 30 s
  python3 -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:$port/minio/health/ready', timeout=1)" 2>/dev/null && break
  kill -0 "$minio_pid" 2>/dev/null || { cat "$work/minio.log" >&2; exit 1; }
  sleep 0.1
done

export AWS_ACCESS_KEY_ID=benchuser AWS_SECRET_ACCESS_KEY=bench-secret AWS_REGION=us-east-1
export AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_EC2_METADATA_DISABLED=true
export AWS_ENDPOINT_URL="http://127.0.0.1:$port"
export RAILS_ENV=production ENTRY_REVISION=0123abc

# A 200 KB Sprockets-style manifest.
python3 - "$work/manifest.json" <<'PY'
import hashlib, json, sys
files, i = {}, 0
while len(json.dumps({"files": files})) < 200 * 1024 - 200:
    d = hashlib.sha256(str(i).encode()).hexdigest()
    files[f"application-{d[:32]}.js"] = {"logical_path": f"app{i}.js", "mtime": "2024-01-01T00:00:00+00:00",
                                         "size": 1000 + i, "digest": d, "integrity": "sha256-" + d[:44]}
    i += 1
json.dump({"files": files, "assets": {"application.js": "application.js"}}, open(sys.argv[1], "w"))
PY

cd "$work"
"$aws" --endpoint-url "$AWS_ENDPOINT_URL" s3 mb s3://bench >/dev/null
cat >entry.yml <<'YML'
assets:
  bucket: bench
  prefix: app
  manifests:
    - dst: out/entry/manifest.json
YML
./entry assets push --env production --sha 0123abc manifest.json >/dev/null 2>&1
url=s3://bench/app/production/0123abc/manifest.json
mkdir -p out/entry out/aws

# Both write a fresh file each run (--prepare removes it), so entry's local
# cache never short-cuts the download.
hyperfine -N --warmup 3 --runs "$runs" --export-json "$work/assets.json" \
  --prepare "rm -f out/entry/manifest.json out/aws/manifest.json" \
  -n "entry assets fetch" "./entry assets fetch --no-cache" \
  -n "aws s3 cp" "$aws --endpoint-url $AWS_ENDPOINT_URL s3 cp --quiet $url out/aws/manifest.json" >/dev/null
# Both really fetched the manifest.
./entry assets fetch --no-cache 2>/dev/null && cmp out/entry/manifest.json manifest.json
"$aws" --endpoint-url "$AWS_ENDPOINT_URL" s3 cp --quiet "$url" out/aws/manifest.json && cmp out/aws/manifest.json manifest.json
ls -l manifest.json | awk '{print "manifest: "$5" bytes"}'
python3 - "$work/assets.json" <<'PY'
import json, sys, statistics
res = json.load(open(sys.argv[1]))["results"]
med = {r["command"]: statistics.median(r["times"]) for r in res}
e, a = med["entry assets fetch"], med["aws s3 cp"]
for cmd, m in med.items():
    print(f"{cmd:20s} median {m*1e3:8.2f} ms")
print(f"entry is {a/e:.1f}x faster than aws s3 cp (median wall time; target >= 10x)")
PY
