#!/bin/sh
# bench/cron-burst.sh: does a burst of due cron jobs delay the others?
# (issue 19 item 7)
#
#   bench/cron-burst.sh [SECONDS] [BURST] [ENTRY_BINARY...]
#   (defaults: 40, 400, a binary built from the tree)
#
# For each binary, two crontabs run under `entry cron run --log-format
# json`, one after the other, SECONDS each: both have 10 every-second jobs;
# the second also has BURST jobs all due every 10 seconds. The start
# offset of an every-second run is the time of entry's "started pid" event
# minus the run's due time: how late the scheduler started it (the fork and
# exec included, the job's own start-up not). Reported: median, p99 and max
# over the every-second runs, how many started out of those due, and how
# many were reported skipped or missed. Give two binaries (before, after)
# to compare them on the same machine at nearly the same time.
set -eu
secs=${1:-40}
burst=${2:-400}
[ $# -ge 2 ] && shift 2 || shift $#
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill $pid 2>/dev/null; rm -rf "$work"' EXIT
if [ $# -eq 0 ]; then
	CGO_ENABLED=0 go build -o "$work/entry" "$root/cmd/entry"
	set -- "$work/entry"
fi

tab() { # FILE BURST
	: > "$1"
	for i in $(seq 10); do
		printf '# tick%d\n*/1 * * * * * true\n' "$i" >> "$1"
	done
	for i in $(seq "$2"); do
		printf '# burst%d\n*/10 * * * * * true\n' "$i" >> "$1"
	done
}

report() { # LOG SECONDS
	python3 - "$1" "$2" <<'PY'
import json, sys, re, statistics
from datetime import datetime, timezone
offs, skipped, missed = [], 0, 0
for line in open(sys.argv[1]):
    try:
        rec = json.loads(line)
    except ValueError:
        continue
    text = rec.get("line", "")
    if not text.startswith("tick"):
        continue
    skipped += "skipped the run" in text
    missed += int(m.group(1)) if (m := re.search(r"missed (\d+) run", text)) else 0
    m = re.search(r"started pid \d+ \(due ([^;)]+)", text)
    if not m:
        continue
    due = datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S UTC").replace(tzinfo=timezone.utc)
    at = datetime.fromisoformat(rec["time"].replace("Z", "+00:00"))
    offs.append((at - due).total_seconds() * 1000)
offs.sort()
if not offs:
    print("no runs"); sys.exit()
p99 = offs[min(len(offs) - 1, int(len(offs) * 0.99))]
due = 10 * (int(sys.argv[2]) - 1)
print(f"started {len(offs)} of ~{due} due  median {statistics.median(offs):.1f} ms  p99 {p99:.1f} ms  max {offs[-1]:.1f} ms  skipped {skipped}  missed {missed}")
PY
}

run() { # ENTRY NAME BURST
	tab "$work/$2" "$3"
	"$1" cron run --log-format json --stop-timeout 5s "$work/$2" > "$work/$2.log" 2>&1 &
	pid=$!
	sleep "$secs"
	kill -TERM $pid; wait $pid || true
	pid=
	printf '  %-22s %s\n' "$2, $3 burst jobs:" "$(report "$work/$2.log" "$secs")"
}

echo "start offset of 10 every-second jobs over ${secs}s; load before: $(cut -d' ' -f1-3 /proc/loadavg)"
for entry in "$@"; do
	echo "$entry:"
	run "$entry" quiet 0
	run "$entry" burst "$burst"
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
