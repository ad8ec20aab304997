#!/usr/bin/env bash
# Reliability under load: starts the API in Release on a free port, then
#   1. a mixed load for a few minutes (default 300 s): 100,000-iteration jobs with recordEvery 1, POST /gradient
#      loops, 100,000-row CSV uploads (deleted again), late subscribers to finished jobs; RSS and the managed
#      memory budget sampled every 10 s;
#   2. cost per subscriber: one 20,000-iteration job with 0, 1, 10 and 100 subscribers reading its stream,
#      reporting the job's wall time, the process's CPU time and the bytes each subscriber received.
# Usage: bench/reliability/run.sh [seconds of mixed load, default 300; 0 measures only the cost per subscriber]
# Prints Markdown tables for docs/reliability.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds="${1:-300}"
port=5093
base="http://127.0.0.1:$port"
work=$(mktemp -d)

dotnet build -c Release src/Api -v quiet -nologo >/dev/null
Serilog__MinimumLevel__Default=Warning Minimize__MaxQueuedJobs=64 Memory__BudgetBytes=536870912 \
  dotnet src/Api/bin/Release/net10.0/Autograd.Api.dll --urls "$base" >"$work/api.log" 2>&1 &
api=$!
trap 'kill $api 2>/dev/null; pkill -P $$ 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 100); do curl -sf "$base/health/live" >/dev/null && break; sleep 0.2; done

rss_mb() { awk '/VmRSS/ {printf "%.0f", $2 / 1024}' "/proc/$api/status"; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$api/stat"; }
ticks_per_second=$(getconf CLK_TCK)

job_body() { # iterations, recordEvery
  printf '{"expression": "(a - x[1])^2 + b*(x[2] - x[1]^2)^2", "parameters": {"x": [-1, 1]}, "constants": {"a": 1, "b": 5}, "optimizer": {"type": "sgd", "learningRate": 1e-6}, "maxIterations": %d, "recordEvery": %d}' "$1" "$2"
}
start_job() { curl -s "$base/minimize" -H 'Content-Type: application/json' -d "$(job_body "$1" "$2")" | jq -r .id; }
wait_job() { while [ "$(curl -s "$base/minimize/$1" | jq -r .finishedAt)" = "null" ]; do sleep 0.1; done; }

python3 - "$work/data.csv" <<'EOF'
import random, sys
random.seed(1)
with open(sys.argv[1], "w") as f:
    f.write("x,y\n")
    for _ in range(100_000):
        x = random.uniform(0, 2)
        f.write(f"{x:.6f},{1 + x + random.gauss(0, 0.3):.6f}\n")
EOF

if [ "$seconds" -gt 0 ]; then
echo "## Mixed load, ${seconds} s"
echo
echo "| t (s) | RSS (MB) | jobs done | /gradient requests | uploads |"
echo "|---|---|---|---|---|"
deadline=$(( $(date +%s) + seconds ))
( while [ "$(date +%s)" -lt "$deadline" ]; do id=$(start_job 100000 1); [ "$id" != null ] && wait_job "$id" && echo x >>"$work/jobs"; done ) &
loops="$!"
( while [ "$(date +%s)" -lt "$deadline" ]; do
    curl -s "$base/gradient" -H 'Content-Type: application/json' \
      -d '{"expression": "0.2*x1^2 + 0.2*x2^2 - 5", "parameters": {"x1": 2, "x2": 2}}' >/dev/null && echo x >>"$work/gradient"
  done ) &
loops="$loops $!"
( while [ "$(date +%s)" -lt "$deadline" ]; do
    id=$(curl -s "$base/datasets" -H 'Content-Type: text/csv' --data-binary @"$work/data.csv" | jq -r .id)
    [ "$id" != null ] && curl -s -X DELETE "$base/datasets/$id" >/dev/null && echo x >>"$work/uploads"
    latest=$(curl -s "$base/minimize?limit=1" | jq -r '.[0].id // empty')
    [ -n "$latest" ] && curl -s -N --max-time 5 "$base/minimize/$latest/events" >/dev/null || true
  done ) &
loops="$loops $!"
started=$(date +%s)
while [ "$(date +%s)" -lt "$deadline" ]; do
  sleep 10
  count() { [ -f "$1" ] && wc -l <"$1" || echo 0; }
  echo "| $(( $(date +%s) - started )) | $(rss_mb) | $(count "$work/jobs") | $(count "$work/gradient") | $(count "$work/uploads") |"
done
# shellcheck disable=SC2086
wait $loops 2>/dev/null || true
fi

echo
echo "## Cost per subscriber (one 20,000-iteration job, recordEvery 1)"
echo
echo "| subscribers | job wall time (s) | process CPU (s) | bytes per subscriber |"
echo "|---|---|---|---|"
for n in 0 1 10 100; do
  before=$(cpu_ticks)
  id=$(start_job 20000 1)
  subscribers=""
  for i in $(seq "$n"); do curl -s -N "$base/minimize/$id/events" -o "$work/sub.$i" & subscribers="$subscribers $!"; done
  wait_job "$id"
  # shellcheck disable=SC2086
  [ -z "$subscribers" ] || wait $subscribers
  after=$(cpu_ticks)
  wall=$(curl -s "$base/minimize/$id" | jq -r .elapsedSeconds)
  bytes=$( [ "$n" -gt 0 ] && stat -c %s "$work/sub.1" || echo 0)
  printf '| %d | %.3f | %.2f | %s |\n' "$n" "$wall" "$(echo "($after - $before) / $ticks_per_second" | bc -l)" "$bytes"
  rm -f "$work"/sub.*
done
