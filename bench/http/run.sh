#!/usr/bin/env bash
# HTTP load test: starts the API in Release on a free port, then
#   1. wrk on POST /gradient (W1 body) and on GET /health/live, same settings, and their ratio;
#   2. W5: many POST /minimize jobs (the tutorial's 1000-iteration run, recordEvery 1), each with its
#      event stream read to the completed event, as jobs per second.
# Usage: bench/http/run.sh [seconds per wrk run, default 10] [W5 jobs, default 200]
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds="${1:-10}"
jobs="${2:-200}"
port=5091
base="http://127.0.0.1:$port"

command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
dotnet build -c Release src/Api -v quiet -nologo >/dev/null
Serilog__MinimumLevel__Default=Warning Minimize__MaxQueuedJobs=1000 \
  dotnet src/Api/bin/Release/net10.0/Autograd.Api.dll --urls "$base" >/tmp/autograd-bench-api.log 2>&1 &
api=$!
trap 'kill $api 2>/dev/null' EXIT
for _ in $(seq 50); do curl -sf "$base/health/live" >/dev/null && break; sleep 0.2; done

run_wrk() { wrk -t2 -c32 -d"${seconds}s" --latency "$@" 2>&1; }
echo "== POST /gradient (W1 body), warm-up then measure"
wrk -t2 -c32 -d3s -s bench/http/post-gradient.lua "$base/gradient" >/dev/null 2>&1
gradient=$(run_wrk -s bench/http/post-gradient.lua "$base/gradient")
echo "$gradient" | grep -E "Requests/sec|50%|99%|Non-2xx" || true
echo "== GET /health/live"
wrk -t2 -c32 -d3s "$base/health/live" >/dev/null 2>&1
health=$(run_wrk "$base/health/live")
echo "$health" | grep -E "Requests/sec|50%|99%" || true
g=$(echo "$gradient" | awk '/Requests\/sec/ {print $2}')
h=$(echo "$health" | awk '/Requests\/sec/ {print $2}')
echo "ratio /gradient : /health/live requests per second = $(awk -v g="$g" -v h="$h" 'BEGIN {printf "%.2f", g / h}')"

echo "== W5 with wrk: POST /minimize then its whole event stream, 8 connections, ${seconds} s"
wrk -t2 -c8 -d"${seconds}s" -s bench/http/minimize-jobs.lua "$base" 2>&1 | grep -E "W5|Non-2xx|Socket errors" || true

echo "== W5 with curl: $jobs jobs, 8 at a time (five processes per job on the same cores, so a lower bound)"
start=$(date +%s.%N)
events=$(seq "$jobs" | xargs -P 8 -I{} bash bench/http/minimize-job.sh "$base" | awk '{s += $1} END {print s}')
end=$(date +%s.%N)
echo "iteration events read: $events (expected $((jobs * 1000)))"
awk -v n="$jobs" -v s="$start" -v e="$end" 'BEGIN {printf "W5 jobs per second: %.1f (%.2f s for %d jobs)\n", n / (e - s), e - s, n}'
