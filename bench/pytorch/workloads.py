#!/usr/bin/python3
"""W1-W4 in PyTorch eager (float64 and float32, best of 1 and 2 threads) and in numpy (hand-written gradient).

The same formulas, points and data shapes as bench/Autograd.Benchmarks (Workloads.cs). Each workload's answer is
checked against a closed form in float64 before it is timed. Prints one JSON object: workload -> times in
nanoseconds per call (median of rounds) for torch_f64, torch_f32, numpy_f64, numpy_f32 and the thread count that
won. Needs Debian's python3-torch and python3-numpy (apt-get install -y python3-torch python3-numpy).

    python3 bench/pytorch/workloads.py [--rounds 7] [--seconds 0.2] [--out FILE]
"""
import argparse
import json
import math
import sys
import time

import numpy as np
import torch


def time_call(fn, rounds, seconds):
    """Median over rounds of the time per call, each round as many calls as fill about `seconds`."""
    fn()
    start = time.perf_counter()
    calls = 0
    while time.perf_counter() - start < seconds / 4:
        fn()
        calls += 1
    per_round = max(1, int(calls * 4))
    samples = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        for _ in range(per_round):
            fn()
        samples.append((time.perf_counter() - t0) / per_round)
    samples.sort()
    return samples[len(samples) // 2] * 1e9


def check(name, expected, actual, tol):
    if abs(expected - actual) > tol * max(1.0, abs(expected)):
        sys.exit(f"{name}: got {actual!r}, expected {expected!r}; not timing a wrong answer")


def lab_data(n):
    # Same distribution as Workloads.LabData (x ~ U(0, 2), y = 1 + x + N(0, 0.25^2)); numpy's generator, fixed seed.
    rng = np.random.default_rng(42)
    x = 2 * rng.random(n)
    y = 1 + x + 0.25 * rng.standard_normal(n)
    return x, y


def many_data(n):
    rng = np.random.default_rng(7)
    return rng.random(n) * 4 - 2, rng.random(n)


# ---- torch workloads: each returns a zero-argument callable doing one evaluation (or sgd iteration) -------------

def torch_w1(dtype):
    x1 = torch.tensor(2.0, dtype=dtype, requires_grad=True)
    x2 = torch.tensor(2.0, dtype=dtype, requires_grad=True)

    def call():
        x1.grad = None
        x2.grad = None
        f = 0.2 * x1 ** 2 + 0.2 * x2 ** 2 - 5
        f.backward()
        return f
    f = call()
    check("W1 torch value", -3.4, f.item(), 1e-6)
    check("W1 torch d/dx1", 0.8, x1.grad.item(), 1e-6)
    return call


def torch_w2(dtype):
    x = torch.tensor([-1.0, 1.0], dtype=dtype, requires_grad=True)
    a, b, lr = 1.0, 5.0, 0.01

    def call():
        x.grad = None
        f = (a - x[0]) ** 2 + b * (x[1] - x[0] ** 2) ** 2
        f.backward()
        with torch.no_grad():
            x.sub_(lr * x.grad)
        return f
    call()
    # One step from (-1, 1): g = (-2(a - x1) - 4 b x1 (x2 - x1^2), 2 b (x2 - x1^2)) = (-4, 0).
    check("W2 torch x1 after one step", -0.96, x[0].item(), 1e-6)
    with torch.no_grad():
        x.copy_(torch.tensor([-1.0, 1.0], dtype=dtype))
    return call


def torch_w3(n, dtype):
    xs, ys = lab_data(n)
    x = torch.tensor(xs, dtype=dtype)
    y = torch.tensor(ys, dtype=dtype)
    b = torch.tensor([0.5, 0.8], dtype=dtype, requires_grad=True)
    lr = 0.01

    def call():
        b.grad = None
        loss = ((y - (b[0] + b[1] * x)) ** 2).mean()
        loss.backward()
        with torch.no_grad():
            b.sub_(lr * b.grad)
        return loss
    loss = call()
    r = ys - (0.5 + 0.8 * xs)
    check("W3 torch loss", float(np.mean(r * r)), loss.item(), 1e-3 if dtype == torch.float32 else 1e-9)
    with torch.no_grad():
        b.copy_(torch.tensor([0.5, 0.8], dtype=dtype))
    return call


def torch_w4(n, dtype):
    ws, cs = many_data(n)
    w = torch.tensor(ws, dtype=dtype, requires_grad=True)
    c = torch.tensor(cs, dtype=dtype)

    def call():
        w.grad = None
        f = ((w - c) ** 2 * (1 + 0.1 * torch.sin(w))).sum()
        f.backward()
        return f
    f = call()
    d = ws - cs
    check("W4 torch value", float(np.sum(d * d * (1 + 0.1 * np.sin(ws)))), f.item(), 1e-4 if dtype == torch.float32 else 1e-9)
    g = 2 * d * (1 + 0.1 * np.sin(ws)) + 0.1 * d * d * np.cos(ws)
    check("W4 torch gradient[-1]", float(g[-1]), w.grad[-1].item(), 1e-4 if dtype == torch.float32 else 1e-9)
    return call


# ---- numpy: the gradient written by hand (what a numpy user would do without autograd) ---------------------------

def numpy_w3(n, dtype):
    xs, ys = lab_data(n)
    x, y = xs.astype(dtype), ys.astype(dtype)
    b = np.array([0.5, 0.8], dtype=dtype)
    lr = dtype(0.01)
    g = np.empty(2, dtype=dtype)

    def call():
        r = y - (b[0] + b[1] * x)
        loss = np.dot(r, r) / n
        g[0] = -2 * r.sum() / n
        g[1] = -2 * np.dot(r, x) / n
        b[:] -= lr * g
        return loss
    loss = call()
    r = ys - (0.5 + 0.8 * xs)
    check("W3 numpy loss", float(np.mean(r * r)), float(loss), 1e-3 if dtype == np.float32 else 1e-9)
    b[:] = (0.5, 0.8)
    return call


def numpy_w4(n, dtype):
    ws, cs = many_data(n)
    w, c = ws.astype(dtype), cs.astype(dtype)

    def call():
        d = w - c
        s = 1 + dtype(0.1) * np.sin(w)
        dd = d * d
        value = np.dot(dd, s)
        grad = 2 * d * s + dtype(0.1) * dd * np.cos(w)
        return value, grad
    value, _ = call()
    d = ws - cs
    check("W4 numpy value", float(np.sum(d * d * (1 + 0.1 * np.sin(ws)))), float(value), 1e-4 if dtype == np.float32 else 1e-9)
    return call


WORKLOADS = {
    "W1": (lambda dt: torch_w1(dt), None),
    "W2": (lambda dt: torch_w2(dt), None),
    "W3 n=200": (lambda dt: torch_w3(200, dt), lambda dt: numpy_w3(200, dt)),
    "W3 n=1000000": (lambda dt: torch_w3(1_000_000, dt), lambda dt: numpy_w3(1_000_000, dt)),
    "W4 N=1000": (lambda dt: torch_w4(1_000, dt), lambda dt: numpy_w4(1_000, dt)),
    "W4 N=100000": (lambda dt: torch_w4(100_000, dt), lambda dt: numpy_w4(100_000, dt)),
}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--seconds", type=float, default=0.2, help="about how long one round runs")
    parser.add_argument("--out", help="write the JSON here as well as to stdout")
    args = parser.parse_args()
    results = {"torch": torch.__version__, "numpy": np.__version__, "workloads": {}}
    for name, (make_torch, make_numpy) in WORKLOADS.items():
        row = {}
        for label, dtype in (("torch_f64", torch.float64), ("torch_f32", torch.float32)):
            best = None
            for threads in (1, 2):
                torch.set_num_threads(threads)
                ns = time_call(make_torch(dtype), args.rounds, args.seconds)
                if best is None or ns < best[0]:
                    best = (ns, threads)
            row[label] = best[0]
            row[label + "_threads"] = best[1]
        if make_numpy is not None:
            row["numpy_f64"] = time_call(make_numpy(np.float64), args.rounds, args.seconds)
            row["numpy_f32"] = time_call(make_numpy(np.float32), args.rounds, args.seconds)
        results["workloads"][name] = row
        print(f"{name}: " + ", ".join(f"{k} {v:,.0f}" if isinstance(v, float) else f"{k} {v}" for k, v in row.items()), file=sys.stderr)
    text = json.dumps(results, indent=1)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text)
    print(text)


if __name__ == "__main__":
    main()
