#!/usr/bin/env bash
# Redis CPU per peer for the same workload (issue 11 item 5), which the peer harness does not
# record: each named peer runs alone (run.py --external-redis) against one private redis-server
# on 127.0.0.1:6391, and Redis's used_cpu_user+sys and summed INFO commandstats usec are read
# around it. Every peer gets the same phases (enqueue N, process N, idle, 500 latency jobs,
# bulk N), so the ratio of two peers' totals is their ratio per job.
# Run ../shared/peers-bench/run once first (it installs the peers and builds the jobq adapter).
#   bench/peers-redis-cpu.sh bullmq-c50 jobq-c50 bullmq jobq
set -euo pipefail
work=${JOBQ_PEERS_WORK:-${TMPDIR:-/tmp}/jobq-peers-bench}
port=${PORT:-6391}
cd "$work"
dir=$(mktemp -d)
redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --daemonize yes \
  --pidfile "$dir/pid" --dir "$dir" --logfile "$dir/log"
trap 'redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || true' EXIT
until redis-cli -p "$port" ping >/dev/null 2>&1; do sleep 0.1; done
cpu() { redis-cli -p "$port" info cpu | awk -F: '/used_cpu_(sys|user):/ {s += $2} END {print s}'; }
for peer in "$@"; do
  before=$(cpu)
  ./run.py --external-redis --port "$port" --peers "$peer" --n "${N:-5000}" > "$dir/$peer.log" 2>&1
  after=$(cpu)
  # The driver resets commandstats when a peer starts; its own INFO/CONFIG/FLUSHALL/SCRIPT are left out.
  usec=$(redis-cli -p "$port" info commandstats | grep -Ev 'cmdstat_(info|config|flushall|script)' |
    sed -n 's/.*,usec=\([0-9]*\),.*/\1/p' | awk '{s += $1} END {print s}')
  grep -q ERROR "$dir/$peer.log" && echo "$peer: the run reported an error, see $dir/$peer.log"
  awk -v p="$peer" -v a="$after" -v b="$before" -v u="$usec" \
    'BEGIN {printf "%s: Redis CPU %.2f s, commandstats %.2f s\n", p, a - b, u / 1e6}'
done
