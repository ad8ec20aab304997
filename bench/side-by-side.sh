#!/usr/bin/env bash
# Engine, hand-written floors and PyTorch on W1-W4, one after the other on this machine, then one table of ratios.
#   bench/side-by-side.sh [job]      job: BenchmarkDotNet job (short, medium, default; default here: medium)
# In process (--inProcess): no per-benchmark build, which times out on a loaded machine.
# Needs the .NET 10 SDK and Debian's python3-torch and python3-numpy (apt-get install -y python3-torch python3-numpy).
set -euo pipefail
cd "$(dirname "$0")/.."
job=${1:-medium}
out=$(mktemp -d /tmp/side-by-side.XXXXXX)
dotnet build -c Release bench/Autograd.Benchmarks -v q -nologo >"$out/build.log"
dotnet bench/Autograd.Benchmarks/bin/Release/net10.0/Autograd.Benchmarks.dll \
  --filter '*ScalarBenchmarks*' '*LeastSquares*' '*ManyParameters*' --job "$job" --inProcess --exporters json \
  --artifacts "$out/bdn" >"$out/bdn.log"
/usr/bin/python3 bench/pytorch/workloads.py --out "$out/torch.json" >/dev/null 2>"$out/torch.log"
/usr/bin/python3 bench/side_by_side.py "$out/bdn" "$out/torch.json" | tee "$out/table.md"
echo "(logs and exports in $out)" >&2
