#!/usr/bin/env bash
# Rendering the conformance corpus (render/testdata/corpus, except the
# pending_* templates entry cannot render yet)
# with entry as whole processes against one Ruby `erb` process per template,
# as the seed scripts' docker/setup.sh did it
# (`erb docker/config/database.yml.erb > config/database.yml`), side by side
# in one hyperfine run (erb -P -T -: ERB.new(src, trim_mode: "-"), the mode
# entry matches; without -P the erb command also runs lines starting with %
# as Ruby). Each template is rendered in the first of its environments that
# renders without error. entry runs two ways:
#   entry-startup  as at container start: one `entry --config G.yml -- true`
#                  renders every template listed in G.yml, then execs. The
#                  corpus's templates need conflicting environments (two
#                  want different RAILS_ENV), so the templates are grouped
#                  by agreeing environments, one start-up per group.
#   entry          one `entry render` process per template, the way erb runs.
# Before timing, the script checks that both produce erb's bytes for every
# template. Prints the medians and the ratios (target: entry >= 50x faster
# in total). A fourth command, bench/renderonly (package render alone in a
# binary), separates rendering from the start-up cost of the rest of
# entry's binary.
#
# Usage: bench/render.sh [RUNS]
#        bench/render.sh big [RUNS]
# Needs: hyperfine and ruby (Debian packages), python3.
#
# "big" measures big inputs instead: `entry render --check` and
# `entry render` on a 10 MB template of plain tags (the cap,
# render.MaxSize) and `entry render --check` on a 50 MB one, which must be
# refused at once with its size. It prints the median wall time and the
# CPU time and peak RSS and RssAnon (sampled from /proc every millisecond)
# of RUNS runs.
# The in-process figures are Go benchmarks:
#   go test ./render -run XXX -bench 'Big|OrChain|DatabaseYML' -benchmem -count 5
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = big ]; then
  runs=${2:-5}
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  CGO_ENABLED=0 go build -o "$work/entry" ./cmd/entry
  python3 - "$work" "$runs" <<'PY'
import os, statistics, subprocess, sys, time
work, runs = sys.argv[1], int(sys.argv[2])
unit = b'<%= ENV["X"] %>\nplain: text, as in a long YAML list\n'
def make(name, size):
    path = os.path.join(work, name)
    with open(path, "wb") as f:
        f.write(unit * (size // len(unit)))
    return path
ten = make("ten.yml.erb", 10 << 20)  # just under the cap
fifty = make("fifty.yml.erb", 50 << 20)

def field(status, key):
    for line in status.splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])  # kB
    return 0

def run(args):
    """Runs args, sampling /proc/PID/status: (seconds, peak RSS kB, peak
    RssAnon kB, exit code, stderr, CPU seconds)."""
    env = dict(os.environ, X="value-of-x")
    t0 = time.perf_counter()
    p = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    hwm = anon = 0
    while True:
        try:
            st = open(f"/proc/{p.pid}/status").read()
            hwm = max(hwm, field(st, "VmHWM"))
            anon = max(anon, field(st, "RssAnon"))
        except OSError:
            pass
        pid, status, ru = os.wait4(p.pid, os.WNOHANG)
        if pid:
            break
        time.sleep(0.001)
    dt = time.perf_counter() - t0
    return dt, hwm, anon, os.waitstatus_to_exitcode(status), p.stderr.read().decode(), ru.ru_utime + ru.ru_stime

for label, args, want in (
    ("render --check, 10 MB", [f"{work}/entry", "render", "--check", ten], 0),
    ("render, 10 MB", [f"{work}/entry", "render", ten], 0),
    ("render --check, 50 MB (over the cap)", [f"{work}/entry", "render", "--check", fifty], 1),
):
    res = [run(args) for _ in range(runs)]
    for r in res:
        if r[3] != want:
            sys.exit(f"bench/render.sh big: {label}: exit {r[3]}, want {want}: {r[4]}")
    print(f"{label}: median {statistics.median(r[0] for r in res)*1000:.0f} ms "
          f"({statistics.median(r[5] for r in res)*1000:.0f} ms CPU), "
          f"peak RSS {statistics.median(r[1] for r in res)/1024:.0f} MiB, "
          f"RssAnon {statistics.median(r[2] for r in res)/1024:.0f} MiB ({runs} runs)")
    if want:
        print("  " + res[0][4].strip().splitlines()[0])
PY
  exit 0
fi
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
# erb gets ActiveSupport's blank?/presence and the stand-in Rails.env and
# Rails.root (render/testdata/rails.rb), and json, as Rails templates
# expect. Everything runs in render/, where the corpus's File.read paths
# and Rails.root point, as in the conformance tests.
cd render
python3 - "$work" <<'PY'
import json, os, re, shlex, sys
work = sys.argv[1]
corpus = "testdata/corpus"
rails_rb = shlex.quote(os.path.abspath("testdata/rails.rb"))
entry_lines, erb_lines, only_lines, n = [], [], [], 0
groups = []  # [app, env, [(template, n, words)]]: templates that can share one directory and environment

def joins(genv, members, e, member):
    """A template joins a group when no variable differs and no variable
    that only one side sets is named in the other side's templates (an
    extra variable would change `ENV['X'] || default`). Templates that
    enumerate ENV stay alone."""
    if any(re.search(r"ENV\.(each|keys|values|to_h|to_a|select|filter|map|reject|sort|size|length|count|inspect)", open(m[0]).read()) for m in members + [member]):
        return False
    if any(genv.get(k, v) != v for k, v in e.items()):
        return False
    if any(k not in e and k in member[2] for k in genv):
        return False
    return not any(k not in genv and k in m[2] for k in e for m in members)
for name in sorted(os.listdir(corpus)):
    if not name.endswith(".erb") or name.startswith("pending_"):
        continue
    envs = json.load(open(os.path.join(corpus, name[:-4] + ".env.json")))
    for env in sorted(envs):
        if os.path.exists(os.path.join(corpus, "expected", name[:-4] + "." + env + ".out")):
            break
    else:
        continue
    e = dict(envs[env])
    # "@app" is the directory the case runs in (Rails.root, credentials).
    app = os.path.abspath(os.path.join(corpus, e.pop("@app"))) if "@app" in e else os.getcwd()
    cd = f"cd {shlex.quote(app)} && "
    assign = " ".join(f"{k}={shlex.quote(v)}" for k, v in sorted(e.items()))
    tmpl = shlex.quote(os.path.abspath(os.path.join(corpus, name)))
    entry_lines.append(f"({cd}{assign} {work}/entry render {tmpl} >$OUT/{n})")
    only_lines.append(f"({cd}{assign} {work}/renderonly {tmpl} >$OUT/{n})")
    src = open(os.path.join(corpus, name)).read()
    # ActiveSupport's durations (5.minutes) only where a template uses
    # them, as erb.rb loads them: loading it costs erb time.
    durations = " -r active_support -r active_support/core_ext/integer/time -r active_support/core_ext/numeric/time" if re.search(r"\.(seconds?|minutes?|hours?|days?|weeks?|fortnights?|months?|years?)\b", src) else ""
    # Byte sizes (256.megabytes) the same way.
    if re.search(r"\.(bytes?|kilobytes?|megabytes?|gigabytes?|terabytes?|petabytes?|exabytes?)\b", src):
        durations += (" -r active_support" if not durations else "") + " -r active_support/core_ext/numeric/bytes"
    erb_lines.append(f"({cd}{assign} erb -P -T - -r {rails_rb} -r json{durations} {tmpl} >$OUT/{n})")
    words = set(re.findall(r"[A-Za-z_]\w*", src))
    # Variables a template reads without naming them: Rails.env reads
    # RAILS_ENV and RACK_ENV, credentials RAILS_MASTER_KEY.
    if "Rails" in words:
        words |= {"RAILS_ENV", "RACK_ENV"}
    if "credentials" in words:
        words.add("RAILS_MASTER_KEY")
    member = (os.path.abspath(os.path.join(corpus, name)), n, words)
    for gapp, genv, members in groups:
        if gapp == app and joins(genv, members, e, member):
            genv.update(e)
            members.append(member)
            break
    else:
        groups.append([app, dict(e), [member]])
    n += 1
# One entry start-up per group renders all of the group's templates, as at
# container start: its entry.yml lists them, entry renders them into $OUT
# and execs true.
startup_lines = [f'ln -sfn "$OUT" {work}/dst']
for i, (app, genv, members) in enumerate(groups):
    with open(os.path.join(work, f"group{i}.yml"), "w") as f:
        f.write("render:\n  templates:\n" + "".join(f"    - {{src: {json.dumps(t)}, dst: '{work}/dst/{k}'}}\n" for t, k, _ in members))
    assign = " ".join(f"{k}={shlex.quote(v)}" for k, v in sorted(genv.items()))
    startup_lines.append(f"(cd {shlex.quote(app)} && {assign} {work}/entry --config {work}/group{i}.yml -- true)")
for fname, lines in (("entry.sh", entry_lines), ("erb.sh", erb_lines), ("renderonly.sh", only_lines), ("startup.sh", startup_lines)):
    with open(os.path.join(work, fname), "w") as f:
        f.write("set -e\n" + "\n".join(lines) + "\n")
print(n, "templates,", len(groups), "environment groups", file=sys.stderr)
PY

# Same bytes first.
mkdir -p "$work/out-entry" "$work/out-erb" "$work/out-startup"
OUT="$work/out-entry" sh "$work/entry.sh"
OUT="$work/out-erb" sh "$work/erb.sh" 2>/dev/null
OUT="$work/out-startup" sh "$work/startup.sh"
for out in out-entry out-startup; do
  diff -r "$work/$out" "$work/out-erb" >/dev/null || { echo "bench/render.sh: $out and erb outputs differ" >&2; diff -r "$work/$out" "$work/out-erb" >&2; exit 1; }
done
echo "outputs identical for $(ls "$work/out-entry" | wc -l) templates" >&2

export OUT=/dev/null
mkdir -p "$work/null" && export OUT="$work/null"
hyperfine --warmup 1 --runs "$runs" --export-json "$work/result.json" \
  -n entry "sh $work/entry.sh" \
  -n erb "sh $work/erb.sh 2>/dev/null" \
  -n render-only "sh $work/renderonly.sh" \
  -n entry-startup "sh $work/startup.sh"

python3 - "$work/result.json" "$work/entry.sh" "$work/startup.sh" <<'PY'
import json, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
e, b = r["entry"]["median"], r["erb"]["median"]
o, s = r["render-only"]["median"], r["entry-startup"]["median"]
groups = open(sys.argv[3]).read().count(" --config ")
print(f"median: erb {b*1000:.1f} ms for the corpus, one process per template (target: entry >= 50x faster)")
print(f"median: entry start-up {s*1000:.1f} ms, one process per environment ({groups}) rendering its templates: {b/s:.1f}x faster")
print(f"median: entry render {e*1000:.1f} ms, one process per template: {b/e:.1f}x faster")
# On a loaded machine wall time says little; CPU time (user + system,
# hyperfine's means) still compares the two.
cpu = {k: v["user"] + v["system"] for k, v in r.items()}
print(f"CPU (user+system, mean): erb {cpu['erb']*1000:.0f} ms, entry render {cpu['entry']*1000:.0f} ms "
      f"({cpu['erb']/cpu['entry']:.1f}x less), entry start-up {cpu['entry-startup']*1000:.0f} ms "
      f"({cpu['erb']/cpu['entry-startup']:.1f}x less), render package alone {cpu['render-only']*1000:.0f} ms "
      f"({cpu['erb']/cpu['render-only']:.1f}x less)")
print(f"median: render package alone (bench/renderonly) {o*1000:.1f} ms: {b/o:.1f}x faster than erb; "
      f"the rest of entry's time, {(e-o)*1000/max(1, len(open(sys.argv[2]).read().splitlines())-1):.2f} ms a process, is the binary's start-up")
PY
