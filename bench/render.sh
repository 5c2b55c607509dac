#!/usr/bin/env bash
# Rendering the conformance corpus (render/testdata/corpus, 54 templates):
# one whole `entry render` process per template against one Ruby `erb`
# process per template, as the seed scripts' docker/setup.sh did it
# (`erb docker/config/database.yml.erb > config/database.yml`), side by side
# in one hyperfine run (erb -P -T -: ERB.new(src, trim_mode: "-"), the mode
# entry matches; without -P the erb command also runs lines starting with %
# as Ruby). Each template is rendered in the first of its
# environments that renders without error; before timing, the script checks
# that entry and erb produce the same bytes for every one.
# Prints the medians and the ratio (target: entry >= 50x faster in total).
# A third command, bench/renderonly (package render alone in a binary),
# separates rendering from the start-up cost of the rest of entry's binary.
#
# Usage: bench/render.sh [RUNS]
# Needs: hyperfine and ruby (Debian packages), python3.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-10}
for p in hyperfine ruby erb python3; do
  command -v "$p" >/dev/null || { echo "bench/render.sh: $p is missing (apt-get install hyperfine ruby)" >&2; exit 1; }
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
CGO_ENABLED=0 go build -o "$work/entry" ./cmd/entry
CGO_ENABLED=0 go build -o "$work/renderonly" ./bench/renderonly
export LANG=C.UTF-8 LC_ALL=C.UTF-8

# Two scripts with one line per template: VAR=value ... CMD TEMPLATE.
# erb gets ActiveSupport's blank?/presence (render/testdata/activesupport.rb)
# and json, as Rails templates expect.
python3 - "$work" <<'PY'
import json, os, shlex, sys
work = sys.argv[1]
corpus = "render/testdata/corpus"
entry_lines, erb_lines, only_lines, n = [], [], [], 0
for name in sorted(os.listdir(corpus)):
    if not name.endswith(".erb"):
        continue
    envs = json.load(open(os.path.join(corpus, name[:-4] + ".env.json")))
    for env in sorted(envs):
        if os.path.exists(os.path.join(corpus, "expected", name[:-4] + "." + env + ".out")):
            break
    else:
        continue
    assign = " ".join(f"{k}={shlex.quote(v)}" for k, v in sorted(envs[env].items()))
    tmpl = shlex.quote(os.path.join(corpus, name))
    entry_lines.append(f"{assign} {work}/entry render {tmpl} >$OUT/{n}")
    only_lines.append(f"{assign} {work}/renderonly {tmpl} >$OUT/{n}")
    erb_lines.append(f"{assign} erb -P -T - -r ./render/testdata/activesupport.rb -r json {tmpl} >$OUT/{n}")
    n += 1
for fname, lines in (("entry.sh", entry_lines), ("erb.sh", erb_lines), ("renderonly.sh", only_lines)):
    with open(os.path.join(work, fname), "w") as f:
        f.write("set -e\n" + "\n".join(lines) + "\n")
print(n, "templates", file=sys.stderr)
PY

# Same bytes first.
mkdir -p "$work/out-entry" "$work/out-erb"
OUT="$work/out-entry" sh "$work/entry.sh"
OUT="$work/out-erb" sh "$work/erb.sh" 2>/dev/null
diff -r "$work/out-entry" "$work/out-erb" >/dev/null || { echo "bench/render.sh: entry and erb outputs differ" >&2; diff -r "$work/out-entry" "$work/out-erb" >&2; exit 1; }
echo "outputs identical for $(ls "$work/out-entry" | wc -l) templates" >&2

export OUT=/dev/null
mkdir -p "$work/null" && export OUT="$work/null"
hyperfine --warmup 1 --runs "$runs" --export-json "$work/result.json" \
  -n entry "sh $work/entry.sh" \
  -n erb "sh $work/erb.sh 2>/dev/null" \
  -n render-only "sh $work/renderonly.sh"

python3 - "$work/result.json" "$work/entry.sh" <<'PY'
import json, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
e, b = r["entry"]["median"], r["erb"]["median"]
o = r["render-only"]["median"]
print(f"median: entry {e*1000:.1f} ms, erb {b*1000:.1f} ms for the corpus; entry is {b/e:.1f}x faster (target >= 50x)")
print(f"median: render package alone (bench/renderonly) {o*1000:.1f} ms: {b/o:.1f}x faster than erb; "
      f"the rest of entry's time, {(e-o)*1000/max(1, len(open(sys.argv[2]).read().splitlines())-1):.2f} ms a process, is the binary's start-up")
PY
