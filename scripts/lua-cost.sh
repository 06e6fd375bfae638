#!/usr/bin/env bash
# Redis instructions per job of a bulk enqueue, counted with callgrind (issue 11): repeatable on
# a shared, noisy machine where timings are not. Starts its own redis-server under valgrind on a
# unix socket in a temp dir, enqueues N jobs with `jobq enqueue --batch`, and divides the
# instructions redis-server ran inside EVALSHA by N.
#   scripts/lua-cost.sh [path/to/jobq]      # N=20000 by default
set -euo pipefail
jobq=${1:-target/release/jobq}
n=${N:-20000}
command -v valgrind >/dev/null || { echo "needs valgrind (apt-get install valgrind)" >&2; exit 2; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
valgrind --tool=callgrind --callgrind-out-file="$dir/cg.out" --collect-atstart=no \
  '--toggle-collect=evalGenericCommand*' redis-server --port 0 --unixsocket "$dir/r.sock" \
  --save '' --appendonly no --dir "$dir" > "$dir/valgrind.log" 2>&1 &
server=$!
until redis-cli -s "$dir/r.sock" ping >/dev/null 2>&1; do sleep 0.2; done
seq 1 "$n" | sed 's/.*/{"type":"t","data":&}/' > "$dir/jobs.jsonl"
"$jobq" enqueue --batch "$dir/jobs.jsonl" --redis-url "unix://$dir/r.sock" > /dev/null
redis-cli -s "$dir/r.sock" shutdown nosave > /dev/null 2>&1 || true
wait "$server" || true
total=$(grep -E '^(summary|totals):' "$dir"/cg.out* | head -1 | awk '{print $2}')
echo "Redis instructions per job inside EVALSHA: $((total / n)) ($n jobs)"
