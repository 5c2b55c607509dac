#!/usr/bin/env bash
# The cost of one health/status call: `entry health` against entry as PID 1
# supervising three idle processes, beside `supervisorctl status` against
# supervisord supervising the same three (Debian's supervisor package).
# Wall time and the client's max RSS (getrusage of the child), calls
# alternated, medians of ROUNDS calls each.
#
# Usage (root, for unshare --pid): bench/health-cost.sh [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-15}
command -v supervisord >/dev/null || { echo "supervisord missing: apt-get install supervisor" >&2; exit 1; }
. bench/lib.sh
bench_work
bench_build . "$work/entry"
printf 'roles:\n  idle:\n    a: sleep 100000\n    b: sleep 100000\n    c: sleep 100000\n' >"$work/entry.yml"
cat >"$work/supervisord.conf" <<CONF
[supervisord]
nodaemon=true
logfile=$work/supervisord.log
pidfile=$work/supervisord.pid
[unix_http_server]
file=$work/supervisor.sock
[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface
[supervisorctl]
serverurl=unix://$work/supervisor.sock
[program:a]
command=sleep 100000
[program:b]
command=sleep 100000
[program:c]
command=sleep 100000
CONF
(cd "$work" && ENTRY_CONTROL_SOCKET="$work/ctl.sock" exec unshare --pid --fork --kill-child --mount-proc "$work/entry" role=idle >/dev/null 2>&1) &
supervisord -c "$work/supervisord.conf" >/dev/null 2>&1 &
for ((n = 0; n < 200; n++)); do
  [[ -S $work/ctl.sock && -S $work/supervisor.sock ]] && break
  sleep 0.05
done
sleep 2 # every program started
python3 - "$rounds" "$work" <<'PY'
import os, subprocess, sys, time, statistics
rounds, work = int(sys.argv[1]), sys.argv[2]
cmds = {
    "entry health": [f"{work}/entry", "health", "--control-socket", f"{work}/ctl.sock"],
    "supervisorctl status": ["supervisorctl", "-c", f"{work}/supervisord.conf", "status"],
}
res = {k: [] for k in cmds}
for i in range(rounds):
    for name, argv in cmds.items():
        t0 = time.perf_counter()
        p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _, status, ru = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t0
        p.returncode = os.waitstatus_to_exitcode(status)
        if p.returncode != 0:
            sys.exit(f"{name}: exit {p.returncode}")
        res[name].append((wall * 1000, ru.ru_maxrss, (ru.ru_utime + ru.ru_stime) * 1000))
print(f"# one call, medians of {rounds} (calls alternated)")
print(f"{'':22s} {'wall ms':>8s} {'CPU ms':>7s} {'max RSS KiB':>12s}")
med = {}
for name, r in res.items():
    med[name] = [statistics.median(x[i] for x in r) for i in (0, 2, 1)]
    print(f"{name:22s} {med[name][0]:8.2f} {med[name][1]:7.2f} {med[name][2]:12.0f}")
e, s = med["entry health"], med["supervisorctl status"]
print(f"supervisorctl/entry: wall {s[0]/e[0]:.1f}x, CPU {s[1]/max(e[1],0.001):.1f}x, max RSS {s[2]/e[2]:.1f}x")
PY
