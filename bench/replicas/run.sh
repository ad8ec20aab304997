#!/usr/bin/env bash
# One process against the replicated setup on this machine, side by side (issue #11):
#   A. one process, jobs and events in memory (the default);
#   B. one process on Redis (Service:Role=all);
#   C. two API replicas (Service:Role=api) and two workers (Service:Role=worker) on one Redis.
# For each: POST /gradient requests per second (wrk, W1 body, 16 connections per API process, summed), W5 jobs per
# second (bench/http/minimize-jobs.lua, 4 connections per API process, summed), and the delay from a job's end
# being recorded (its FinishedAt) to its completed event reaching a subscriber on the other API process, and on Redis
# from every iteration event appearing in the job's Redis stream to its reaching that subscriber (delay.py says how).
# Usage: bench/replicas/run.sh [seconds per wrk run, default 10] [jobs for the delay, default 200]
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds="${1:-10}"
delay_jobs="${2:-200}"
redis_port=6400
dir=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  redis-cli -p $redis_port shutdown nosave >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap cleanup EXIT

command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
dotnet build -c Release src/Api -v quiet -nologo >/dev/null
dll=src/Api/bin/Release/net10.0/Autograd.Api.dll

start() { # port, then environment assignments
  local port=$1; shift
  env Serilog__MinimumLevel__Default=Warning Minimize__MaxQueuedJobs=1000 "$@" \
    dotnet $dll --urls "http://127.0.0.1:$port" >"$dir/api-$port.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/health/ready" >/dev/null && return; sleep 0.2; done
  echo "the service on port $port did not become ready"; cat "$dir/api-$port.log"; exit 1
}
stop_all() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  pids=()
}

measure() { # label, the Redis port for delay.py (empty: in memory), then the API ports
  local label=$1 redis=$2; shift 2
  # Waits for the wrk runs only (a bare wait would wait for the services too).
  local runs=()
  for port in "$@"; do wrk -t1 -c16 -d5s -s bench/http/post-gradient.lua "http://127.0.0.1:$port/gradient" >/dev/null 2>&1 & runs+=($!); done
  wait "${runs[@]}"; runs=()
  for port in "$@"; do wrk -t1 -c16 -d"${seconds}s" -s bench/http/post-gradient.lua "http://127.0.0.1:$port/gradient" >"$dir/g-$port" 2>&1 & runs+=($!); done
  wait "${runs[@]}"; runs=()
  local rps; rps=$(for port in "$@"; do awk '/Requests\/sec/ {print $2}' "$dir/g-$port"; done | awk '{s += $1} END {printf "%.0f", s}')
  for port in "$@"; do wrk -t1 -c4 -d"${seconds}s" -s bench/http/minimize-jobs.lua "http://127.0.0.1:$port" >"$dir/w-$port" 2>&1 & runs+=($!); done
  wait "${runs[@]}"
  local jobs; jobs=$(for port in "$@"; do awk '/W5 jobs per second/ {print $5}' "$dir/w-$port"; done | awk '{s += $1} END {printf "%.1f", s}')
  local from=$1 to=${2:-$1}
  local delay; delay=$(python3 bench/replicas/delay.py "http://127.0.0.1:$from" "http://127.0.0.1:$to" "$delay_jobs" $redis)
  echo "$label | $rps req/s | $jobs jobs/s | $delay"
}

echo "setup | POST /gradient | W5 | delay to a subscriber on the other API process: completed (FinishedAt -> arrival); every iteration (in Redis -> arrival)"
start 5300
measure "A. one process, in memory" "" 5300
stop_all

redis-server --port $redis_port --bind 127.0.0.1 --daemonize yes --save '' --appendonly no --dir "$dir" \
  --pidfile "$dir/redis.pid" --logfile "$dir/redis.log"
start 5301 Store__Redis=127.0.0.1:$redis_port
measure "B. one process on Redis" $redis_port 5301
stop_all
redis-cli -p $redis_port flushall >/dev/null

start 5302 Store__Redis=127.0.0.1:$redis_port Service__Role=api
start 5303 Store__Redis=127.0.0.1:$redis_port Service__Role=api
start 5304 Store__Redis=127.0.0.1:$redis_port Service__Role=worker
start 5305 Store__Redis=127.0.0.1:$redis_port Service__Role=worker
measure "C. 2 API replicas + 2 workers on Redis" $redis_port 5302 5303
