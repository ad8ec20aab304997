#!/usr/bin/python3
"""Prints one markdown table from a BenchmarkDotNet JSON export (engine and floors) and bench/pytorch/workloads.py's
JSON (PyTorch and numpy), with the ratios the issue's targets are about. Run by bench/side-by-side.sh."""
import glob
import json
import sys

bdn_dir, torch_file = sys.argv[1], sys.argv[2]
bench = {}
for path in glob.glob(f"{bdn_dir}/results/*-report-full-compressed.json"):
    for b in json.load(open(path))["Benchmarks"]:
        if b.get("Statistics") is None:
            continue
        key = (b["Method"], b["Parameters"] or "")
        bench[key] = (b["Statistics"]["Median"], b["Memory"]["BytesAllocatedPerOperation"])
torch = json.load(open(torch_file))

FLOOR_NAMES = {
    "ParaboloidFloor": "by hand, not inlined",
    "RosenbrockFloor": "scalar loop",
    "LeastSquaresFloor": "Vector<double>, 1 thread",
    "LeastSquaresFloorVector512": "Vector512, 1 thread",
    "LeastSquaresFloorTwoThreads": "Vector512, 2 threads",
    "ManyParametersFloor": "Vector<double> SinCos, 1 thread",
    "ManyParametersFloorVector512": "Vector512 SinCos, 1 thread",
    "ManyParametersFloorVector512SinThenCos": "Vector512 Sin+Cos, 1 thread",
    "ManyParametersFloorTwoThreads": "Vector512 SinCos, 2 threads",
}

# label, engine method, engine f32 method, floor methods, parameters, torch key, floor target
ROWS = [
    ("W1 paraboloid through the objective (compiled)", "ParaboloidEngine", None, ["ParaboloidFloor"], "", "W1", 3),
    ("W1 compiled replay alone", "ParaboloidReplay", None, ["ParaboloidFloor"], "", "W1", 3),
    ("W1 interpreter (first replays)", "ParaboloidFirstReplays", None, ["ParaboloidFloor"], "", "W1", 10),
    ("W1 node-by-node sweeps (explain)", "ParaboloidInterpreted", None, ["ParaboloidFloor"], "", "W1", None),
    ("W1 cold (parse + record + first call)", "ParaboloidCold", None, [], "", "W1", None),
    ("W2 Rosenbrock sgd iteration", "RosenbrockEngine", None, ["RosenbrockFloor"], "", "W2", 3),
    ("W3 least squares n = 200", "LeastSquaresEngine", "LeastSquaresEngineFloat",
     ["LeastSquaresFloor", "LeastSquaresFloorVector512", "LeastSquaresFloorTwoThreads"], "Rows=200", "W3 n=200", 2),
    ("W3 least squares n = 10^6", "LeastSquaresEngine", "LeastSquaresEngineFloat",
     ["LeastSquaresFloor", "LeastSquaresFloorVector512", "LeastSquaresFloorTwoThreads"], "Rows=1000000", "W3 n=1000000", 2),
    ("W4 many parameters N = 1,000", "ManyParametersEngine", "ManyParametersEngineFloat",
     ["ManyParametersFloor", "ManyParametersFloorVector512", "ManyParametersFloorVector512SinThenCos", "ManyParametersFloorTwoThreads"],
     "N=1000", "W4 N=1000", 2),
    ("W4 many parameters N = 100,000", "ManyParametersEngine", "ManyParametersEngineFloat",
     ["ManyParametersFloor", "ManyParametersFloorVector512", "ManyParametersFloorVector512SinThenCos", "ManyParametersFloorTwoThreads"],
     "N=100000", "W4 N=100000", 2),
]


def fmt(ns):
    if ns is None:
        return "–"
    for unit, scale in (("ms", 1e6), ("µs", 1e3)):
        if ns >= scale:
            return f"{ns / scale:.3g} {unit}"
    return f"{ns:.3g} ns"


def ratio(a, b):
    return None if a is None or b is None else a / b


def fr(r, target=None, at_least=True):
    if r is None:
        return "–"
    text = f"{r:,.1f}x" if r < 100 else f"{r:,.0f}x"
    if target is not None:
        text += " ✓" if (r >= target if at_least else r <= target) else " ✗"
    return text


print("| workload | engine f64 | floor (which) | engine / floor (target) | PyTorch f64 (threads) | PyTorch f64 / engine (≥ 3) "
      "| engine f32 | PyTorch f32 | PyTorch f32 / engine f32 (≥ 1) | numpy f64 | engine alloc/op |")
print("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|")
for label, engine, engine32, floors, params, tkey, target in ROWS:
    e = bench.get((engine, params))
    if e is None:
        print(f"| {label} | not run | | | | | | | | | |")
        continue
    floor = min(((bench[(f, params)][0], f) for f in floors if (f, params) in bench), default=None)
    t = torch["workloads"].get(tkey, {})
    e32 = bench.get((engine32, params)) if engine32 else None
    t32 = t.get("torch_f32")
    # W1 and W2 have no float32 engine run: the float64 engine is compared with PyTorch float32.
    e32_ns = e32[0] if e32 else e[0]
    floor_text = f"{fmt(floor[0])} ({FLOOR_NAMES[floor[1]]})" if floor else "–"
    floor_ratio = fr(ratio(e[0], floor[0]), target, at_least=False) + f" (≤ {target})" if floor and target else "–"
    print(f"| {label} | {fmt(e[0])} | {floor_text} | {floor_ratio} | {fmt(t.get('torch_f64'))} ({t.get('torch_f64_threads', '–')}) "
          f"| {fr(ratio(t.get('torch_f64'), e[0]), 3)} | {fmt(e32[0]) if e32 else '(f64)'} | {fmt(t32)} "
          f"| {fr(ratio(t32, e32_ns), 1)} | {fmt(t.get('numpy_f64'))} | {e[1]} B |")
print()
print(f"PyTorch {torch['torch']} eager, numpy {torch['numpy']}; medians. ✓/✗: target met or not in this run.")
