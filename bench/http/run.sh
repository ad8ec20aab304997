#!/usr/bin/env bash
# HTTP load test: starts the API in Release on a free port, then
#   1. wrk on POST /gradient (W1 body) and on GET /health/live, same settings, and their ratio;
#   2. W5: many POST /minimize jobs (the tutorial's 1000-iteration run, recordEvery 1), each with its
#      event stream read to the completed event, as jobs per second.
# Usage: [ROUNDS=5] bench/http/run.sh [seconds per wrk run, default 10] [W5 jobs, default 200]
# /gradient and /health/live are measured in alternating rounds after a warm-up; see below.
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

# The two endpoints alternate over several rounds, so that a burst of load from elsewhere on this shared
# machine lands on both; each is reported as the median round, and the ratio as the ratio of the medians.
rounds="${ROUNDS:-5}"
echo "== warm-up: POST /gradient 10 s, GET /health/live 5 s (JIT tiering settles before anything is measured)"
wrk -t2 -c32 -d10s -s bench/http/post-gradient.lua "$base/gradient" >/dev/null 2>&1
wrk -t2 -c32 -d5s "$base/health/live" >/dev/null 2>&1
rounds_file=$(mktemp)
trap 'kill $api 2>/dev/null; rm -f "$rounds_file"' EXIT
: >"$rounds_file"
# Besides requests per second, each round reads the server's CPU time (user + system, /proc/PID/stat) before and
# after, and reports it per request: a busy neighbour lowers the requests per second of both endpoints, but changes
# the CPU a request costs much less, so the extra CPU of /gradient over /health/live is the steadier figure.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$api/stat"; }
hz=$(getconf CLK_TCK)
measure() {  # $1 name, then the wrk arguments; appends "name rps p50 p99 cpu-µs-per-request" to the rounds file
  local name=$1 before out
  shift
  before=$(cpu_ticks)
  out=$(wrk -t2 -c32 -d"${seconds}s" --latency "$@" 2>&1)
  if echo "$out" | grep -q "Non-2xx"; then echo "$name answered with errors:"; echo "$out"; exit 1; fi
  echo "$out" | awk -v name="$name" -v ticks="$(($(cpu_ticks) - before))" -v hz="$hz" '
    /requests in/ {n = $1} /Requests\/sec/ {rps = $2} / 50%/ {p50 = $2} / 99%/ {p99 = $2}
    END {printf "%s %s %s %s %.1f\n", name, rps, p50, p99, ticks / hz * 1e6 / n}' >>"$rounds_file"
}
for round in $(seq "$rounds"); do
  measure gradient -s bench/http/post-gradient.lua "$base/gradient"
  measure health "$base/health/live"
  echo "round $round: /gradient $(grep '^gradient ' "$rounds_file" | tail -1 | awk '{printf "%s req/s, %s µs CPU a request", $2, $5}');" \
    "/health/live $(grep '^health ' "$rounds_file" | tail -1 | awk '{printf "%s req/s, %s µs CPU a request", $2, $5}')"
done
median() { grep "^$1 " "$rounds_file" | sort -k"${2:-2}" -g | awk '{a[NR] = $0} END {print a[int((NR + 1) / 2)]}'; }
mg=$(median gradient)
mh=$(median health)
cg=$(median gradient 5 | cut -d' ' -f5)
ch=$(median health 5 | cut -d' ' -f5)
echo "POST /gradient (W1 body), median of $rounds rounds: $(echo "$mg" | awk '{printf "%s req/s, p50 %s, p99 %s", $2, $3, $4}'), server CPU $cg µs a request"
echo "GET /health/live, median of $rounds rounds:        $(echo "$mh" | awk '{printf "%s req/s, p50 %s, p99 %s", $2, $3, $4}'), server CPU $ch µs a request"
echo "ratio /gradient : /health/live requests per second = $(awk -v g="$(echo "$mg" | cut -d' ' -f2)" -v h="$(echo "$mh" | cut -d' ' -f2)" 'BEGIN {printf "%.2f", g / h}')"
echo "ratio per round: $(paste -d' ' <(grep '^gradient ' "$rounds_file" | cut -d' ' -f2) <(grep '^health ' "$rounds_file" | cut -d' ' -f2) | awk '{printf "%.2f ", $1 / $2}')"
echo "server CPU a request, /health/live : /gradient = $(awk -v g="$cg" -v h="$ch" 'BEGIN {printf "%.2f (/gradient costs %.1f µs more)", h / g, g - h}')"

echo "== W5 with wrk: POST /minimize then its whole event stream, 8 connections, ${seconds} s"
wrk -t2 -c8 -d"${seconds}s" -s bench/http/minimize-jobs.lua "$base" 2>&1 | grep -E "W5|Non-2xx|Socket errors" || true

[ "$jobs" -gt 0 ] || exit 0
echo "== W5 with curl: $jobs jobs, 8 at a time (five processes per job on the same cores, so a lower bound)"
start=$(date +%s.%N)
events=$(seq "$jobs" | xargs -P 8 -I{} bash bench/http/minimize-job.sh "$base" | awk '{s += $1} END {print s}')
end=$(date +%s.%N)
echo "iteration events read: $events (expected $((jobs * 1000)))"
awk -v n="$jobs" -v s="$start" -v e="$end" 'BEGIN {printf "W5 jobs per second: %.1f (%.2f s for %d jobs)\n", n / (e - s), e - s, n}'
