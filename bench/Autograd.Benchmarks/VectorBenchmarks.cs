using System.Numerics;
using System.Numerics.Tensors;
using Autograd.Expressions;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;

namespace Autograd.Benchmarks;

/// <summary>W3: least squares over a data column, engine (fused replay, as optimisers use it) against the fused floor.</summary>
[MemoryDiagnoser]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory, BenchmarkLogicalGroupRule.ByParams)]
[CategoriesColumn]
public class LeastSquaresBenchmarks
{
    CompiledFormula<double> _leastSquares = null!;
    double[] _x = null!, _y = null!;
    double _gb0, _gb1;

    [Params(200, 1_000_000)]
    public int Rows { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        (_x, _y) = Workloads.LabData(Rows);
        _leastSquares = Workloads.Compile(Workloads.LeastSquares,
            InputSpec.Scalar("b0", InputKind.Parameter), InputSpec.Scalar("b1", InputKind.Parameter),
            InputSpec.Vector("x", InputKind.Data, Rows), InputSpec.Vector("y", InputKind.Data, Rows));
        _leastSquares.SetInput(0, [0.5]);
        _leastSquares.SetInput(1, [0.8]);
        _leastSquares.BindInput(2, _x);
        _leastSquares.BindInput(3, _y);
        Workloads.Check("W3 value", LeastSquaresFloor(), LeastSquaresEngine());
        Workloads.Check("W3 d/db0", _gb0, _leastSquares.GradientOf(0)[0]);
        Workloads.Check("W3 d/db1", _gb1, _leastSquares.GradientOf(1)[0]);
        // Past a few million replayed rows a chain of arithmetic runs as a compiled loop over rows: time that.
        if (Rows >= 4096)
        {
            if (!_leastSquares.CompileRowSweep()) throw new InvalidOperationException("W3 should compile to a row sweep.");
            Workloads.Check("W3 value, compiled", LeastSquaresFloor(), LeastSquaresEngine());
            Workloads.Check("W3 d/db0, compiled", _gb0, _leastSquares.GradientOf(0)[0]);
            Workloads.Check("W3 d/db1, compiled", _gb1, _leastSquares.GradientOf(1)[0]);
        }
    }


    [BenchmarkCategory("W3 least squares"), Benchmark(Baseline = true)]
    public double LeastSquaresFloor()
    {
        // One fused pass: residual r = y - (b0 + b1 x); loss = mean(r²); d/db0 = -2 mean(r); d/db1 = -2 mean(r x).
        double b0 = 0.5, b1 = 0.8;
        var n = _x.Length;
        Vector<double> vb0 = new(b0), vb1 = new(b1), sumSquares = Vector<double>.Zero, sumR = Vector<double>.Zero, sumRx = Vector<double>.Zero;
        var i = 0;
        for (; i <= n - Vector<double>.Count; i += Vector<double>.Count)
        {
            var x = new Vector<double>(_x, i);
            var r = new Vector<double>(_y, i) - (vb0 + vb1 * x);
            sumSquares += r * r;
            sumR += r;
            sumRx += r * x;
        }
        double squares = Vector.Sum(sumSquares), rs = Vector.Sum(sumR), rxs = Vector.Sum(sumRx);
        for (; i < n; i++)
        {
            var r = _y[i] - (b0 + b1 * _x[i]);
            squares += r * r;
            rs += r;
            rxs += r * _x[i];
        }
        _gb0 = -2 * rs / n;
        _gb1 = -2 * rxs / n;
        return squares / n;
    }

    [BenchmarkCategory("W3 least squares"), Benchmark]
    public double LeastSquaresEngine() => _leastSquares.EvaluateWithGradientFused();
}

/// <summary>W4: many parameters, sum((w - c)^2 * (1 + 0.1*sin(w))) over N parameters and a data column c.</summary>
[MemoryDiagnoser]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory, BenchmarkLogicalGroupRule.ByParams)]
[CategoriesColumn]
public class ManyParametersBenchmarks
{
    CompiledFormula<double> _many = null!;
    double[] _w = null!, _c = null!, _gw = null!, _sin = null!, _cos = null!;

    [Params(1_000, 100_000)]
    public int N { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var n = N;
        var random = new Random(7);
        _w = Enumerable.Range(0, n).Select(_ => random.NextDouble() * 4 - 2).ToArray();
        _c = Enumerable.Range(0, n).Select(_ => random.NextDouble()).ToArray();
        (_gw, _sin, _cos) = (new double[n], new double[n], new double[n]);
        _many = Workloads.Compile(Workloads.ManyParameters, InputSpec.Vector("w", InputKind.Parameter, n), InputSpec.Vector("c", InputKind.Data, n));
        _many.SetInput(0, _w);
        _many.BindInput(1, _c);
        Workloads.Check("W4 value", ManyParametersFloor(), ManyParametersEngine());
        Workloads.Check("W4 d/dw[1]", _gw[0], _many.GradientOf(0)[0]);
        Workloads.Check("W4 d/dw[n]", _gw[^1], _many.GradientOf(0)[^1]);
    }

    [BenchmarkCategory("W4 many parameters"), Benchmark(Baseline = true)]
    public double ManyParametersFloor()
    {
        // f = Σ (w - c)² (1 + 0.1 sin w); df/dw = 2 (w - c)(1 + 0.1 sin w) + 0.1 (w - c)² cos w.
        TensorPrimitives.SinCos<double>(_w, _sin, _cos);
        var value = 0.0;
        for (var i = 0; i < _w.Length; i++)
        {
            var d = _w[i] - _c[i];
            var scale = 1 + 0.1 * _sin[i];
            value += d * d * scale;
            _gw[i] = 2 * d * scale + 0.1 * d * d * _cos[i];
        }
        return value;
    }

    [BenchmarkCategory("W4 many parameters"), Benchmark]
    public double ManyParametersEngine() => _many.EvaluateWithGradientFused();
}

/// <summary>W6: parse and record a generated formula of 10,000 syntax nodes.</summary>
[MemoryDiagnoser]
public class RecordBenchmarks
{
    string _formula = null!;
    InputSpec[] _inputs = null!;

    [GlobalSetup]
    public void Setup()
    {
        _formula = Workloads.Generated(10_000);
        _inputs = Enumerable.Range(1, 5).Select(i => InputSpec.Scalar($"x{i}", InputKind.Parameter)).ToArray();
        var nodes = Formula.Parse(_formula, new FormulaLimits(1_000_000, 1_000_000, 1_000_000)).Nodes.Count;
        if (nodes < 10_000) throw new InvalidOperationException($"The generated formula has {nodes} nodes, not 10,000.");
    }

    [Benchmark]
    public int ParseAndRecord10000Nodes() => Workloads.Compile(_formula, _inputs).Tape.Count;
}
