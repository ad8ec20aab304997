#!/usr/bin/env bash
# One W5 job: POST /minimize with the tutorial's Rosenbrock run (recordEvery 1), then read its whole
# event stream until the completed event. Prints the number of iteration events it read.
set -euo pipefail
base="$1"
id=$(curl -sf "$base/minimize" -H 'Content-Type: application/json' \
  -d '{"expression": "(a - x[1])^2 + b*(x[2] - x[1]^2)^2", "parameters": {"x": [-1, 1]}, "constants": {"a": 1, "b": 5}, "optimizer": {"type": "sgd", "learningRate": 0.01}, "maxIterations": 1000, "recordEvery": 1}' \
  | sed -n 's/.*"id":"\([0-9a-f]*\)".*/\1/p')
curl -sfN "$base/minimize/$id/events" | grep -c '^event: iteration'
