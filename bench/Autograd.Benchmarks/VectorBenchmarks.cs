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
    CompiledFormula<float> _leastSquaresFloat = null!;
    double[] _x = null!, _y = null!;
    double _gb0, _gb1;
    TwoThreads<(double, double, double)> _twoThreads = null!;

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
        _twoThreads = new((start, end) => Floors.LeastSquares512(_x, _y, 0.5, 0.8, start, end));
        _leastSquaresFloat = Workloads.CompileFloat(Workloads.LeastSquares,
            InputSpec.Scalar("b0", InputKind.Parameter), InputSpec.Scalar("b1", InputKind.Parameter),
            InputSpec.Vector("x", InputKind.Data, Rows), InputSpec.Vector("y", InputKind.Data, Rows));
        _leastSquaresFloat.SetInput(0, [0.5f]);
        _leastSquaresFloat.SetInput(1, [0.8f]);
        _leastSquaresFloat.BindInput(2, _x.Select(v => (float)v).ToArray());
        _leastSquaresFloat.BindInput(3, _y.Select(v => (float)v).ToArray());
        var floor = LeastSquaresFloor();
        Workloads.Check("W3 value, Vector512 floor", floor, LeastSquaresFloorVector512());
        Workloads.Check("W3 value, two-thread floor", floor, LeastSquaresFloorTwoThreads());
        Workloads.Check("W3 value, float32 engine", floor, LeastSquaresEngineFloat(), 1e-4);
        Workloads.Check("W3 d/db0, float32 engine", _gb0, _leastSquaresFloat.GradientOf(0)[0], 1e-3);
        Workloads.Check("W3 value", LeastSquaresFloor(), LeastSquaresEngine());
        Workloads.Check("W3 d/db0", _gb0, _leastSquares.GradientOf(0)[0]);
        Workloads.Check("W3 d/db1", _gb1, _leastSquares.GradientOf(1)[0]);
        // Past a few million replayed rows a chain of arithmetic runs as a compiled loop over rows: time that.
        if (Rows >= 64)
        {
            if (!_leastSquares.CompileRowSweep()) throw new InvalidOperationException("W3 should compile to a row sweep.");
            Workloads.Check("W3 value, compiled", LeastSquaresFloor(), LeastSquaresEngine());
            Workloads.Check("W3 d/db0, compiled", _gb0, _leastSquares.GradientOf(0)[0]);
            Workloads.Check("W3 d/db1, compiled", _gb1, _leastSquares.GradientOf(1)[0]);
            if (!_leastSquaresFloat.CompileRowSweep()) throw new InvalidOperationException("W3 in float32 should compile to a row sweep.");
            Workloads.Check("W3 value, float32 compiled", floor, LeastSquaresEngineFloat(), 1e-4);
        }
    }


    /// <summary>Floor: one fused pass, Vector&lt;double&gt; (256 bits), two accumulators per sum, one thread.</summary>
    [BenchmarkCategory("W3 least squares"), Benchmark(Baseline = true)]
    public double LeastSquaresFloor() => Finish(Floors.LeastSquaresVectorT(_x, _y, 0.5, 0.8, 0, _x.Length));

    /// <summary>Floor: the same pass with Vector512 (AVX-512), one thread.</summary>
    [BenchmarkCategory("W3 least squares"), Benchmark]
    public double LeastSquaresFloorVector512() => Finish(Floors.LeastSquares512(_x, _y, 0.5, 0.8, 0, _x.Length));

    /// <summary>Floor: the Vector512 pass over two threads, split as the engine splits rows.</summary>
    [BenchmarkCategory("W3 least squares"), Benchmark]
    public double LeastSquaresFloorTwoThreads()
    {
        var (a, b) = _twoThreads.Run(_x.Length);
        return Finish((a.Item1 + b.Item1, a.Item2 + b.Item2, a.Item3 + b.Item3));
    }

    // loss = mean(r²); d/db0 = -2 mean(r); d/db1 = -2 mean(r x).
    double Finish((double Squares, double R, double Rx) sums)
    {
        var n = _x.Length;
        _gb0 = -2 * sums.R / n;
        _gb1 = -2 * sums.Rx / n;
        return sums.Squares / n;
    }

    /// <summary>The engine in float32 (the data and parameters rounded to float).</summary>
    [BenchmarkCategory("W3 least squares"), Benchmark]
    public float LeastSquaresEngineFloat() => _leastSquaresFloat.EvaluateWithGradientFused();

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
    CompiledFormula<float> _manyFloat = null!;
    double[] _w = null!, _c = null!, _gw = null!;
    TwoThreads<double> _twoThreads = null!;

    [Params(1_000, 100_000)]
    public int N { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var n = N;
        var random = new Random(7);
        _w = Enumerable.Range(0, n).Select(_ => random.NextDouble() * 4 - 2).ToArray();
        _c = Enumerable.Range(0, n).Select(_ => random.NextDouble()).ToArray();
        _gw = new double[n];
        _twoThreads = new((start, end) => Floors.ManyParameters512(_w, _c, _gw, start, end));
        _manyFloat = Workloads.CompileFloat(Workloads.ManyParameters, InputSpec.Vector("w", InputKind.Parameter, n), InputSpec.Vector("c", InputKind.Data, n));
        _manyFloat.SetInput(0, _w.Select(v => (float)v).ToArray());
        _manyFloat.BindInput(1, _c.Select(v => (float)v).ToArray());
        var floor = ManyParametersFloor();
        Workloads.Check("W4 value, Vector512 SinCos floor", floor, ManyParametersFloorVector512());
        Workloads.Check("W4 value, Vector512 Sin, Cos floor", floor, ManyParametersFloorVector512SinThenCos());
        Workloads.Check("W4 value, two-thread floor", floor, ManyParametersFloorTwoThreads());
        Workloads.Check("W4 value, float32 engine", floor, ManyParametersEngineFloat(), 1e-4);
        Workloads.Check("W4 d/dw[n], float32 engine", _gw[^1], _manyFloat.GradientOf(0)[^1], 1e-4);
        _many = Workloads.Compile(Workloads.ManyParameters, InputSpec.Vector("w", InputKind.Parameter, n), InputSpec.Vector("c", InputKind.Data, n));
        _many.SetInput(0, _w);
        _many.BindInput(1, _c);
        Workloads.Check("W4 value", ManyParametersFloor(), ManyParametersEngine());
        Workloads.Check("W4 d/dw[1]", _gw[0], _many.GradientOf(0)[0]);
        Workloads.Check("W4 d/dw[n]", _gw[^1], _many.GradientOf(0)[^1]);
        // Past a few million replayed rows the chain runs as a compiled loop over rows (vectorised, with AVX-512): time that.
        if (_many.CompileRowSweep())
        {
            Workloads.Check("W4 value, compiled", ManyParametersFloor(), ManyParametersEngine());
            Workloads.Check("W4 d/dw[1], compiled", _gw[0], _many.GradientOf(0)[0]);
            Workloads.Check("W4 d/dw[n], compiled", _gw[^1], _many.GradientOf(0)[^1]);
        }
        if (_manyFloat.CompileRowSweep())
            Workloads.Check("W4 value, float32 compiled", floor, ManyParametersEngineFloat(), 1e-4);
    }

    /// <summary>Floor: one fused pass, Vector&lt;double&gt; (256 bits) and System.Numerics.Vector.SinCos, one thread.</summary>
    [BenchmarkCategory("W4 many parameters"), Benchmark(Baseline = true)]
    public double ManyParametersFloor() => Floors.ManyParametersVectorT(_w, _c, _gw, 0, _w.Length);

    /// <summary>Floor: the same pass with Vector512 and Vector512.SinCos, one thread.</summary>
    [BenchmarkCategory("W4 many parameters"), Benchmark]
    public double ManyParametersFloorVector512() => Floors.ManyParameters512(_w, _c, _gw, 0, _w.Length);

    /// <summary>Floor: Vector512 with Vector512.Sin and Vector512.Cos called separately, one thread.</summary>
    [BenchmarkCategory("W4 many parameters"), Benchmark]
    public double ManyParametersFloorVector512SinThenCos() => Floors.ManyParameters512SinThenCos(_w, _c, _gw, 0, _w.Length);

    /// <summary>Floor: the Vector512 SinCos pass over two threads, split as the engine splits rows.</summary>
    [BenchmarkCategory("W4 many parameters"), Benchmark]
    public double ManyParametersFloorTwoThreads()
    {
        var (a, b) = _twoThreads.Run(_w.Length);
        return a + b;
    }

    /// <summary>The engine in float32 (w and c rounded to float).</summary>
    [BenchmarkCategory("W4 many parameters"), Benchmark]
    public float ManyParametersEngineFloat() => _manyFloat.EvaluateWithGradientFused();

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

/// <summary>
/// Exp and log over 100,000 values: TensorPrimitives against the engine's own lanes (<see cref="ExpLog"/>), which the
/// chunk kernels use since TensorPrimitives.Exp's bits were seen to depend on an element's neighbours.
/// </summary>
[MemoryDiagnoser]
[CategoriesColumn]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
public class ExpLogKernelBenchmarks
{
    const int N = 100_000;
    double[] _x = null!, _positive = null!, _r = null!;

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(11);
        _x = Enumerable.Range(0, N).Select(_ => (random.NextDouble() - 0.5) * 20).ToArray();
        _positive = Enumerable.Range(0, N).Select(_ => Math.Pow(10, (random.NextDouble() - 0.5) * 20)).ToArray();
        _r = new double[N];
        VectorMath<double>.Exp(_x, _r);
        Workloads.Check("exp, engine lanes against Math", Math.Exp(_x[^1]), _r[^1], 1e-15);
        VectorMath<double>.Log(_positive, _r);
        Workloads.Check("log, engine lanes against Math", Math.Log(_positive[^1]), _r[^1], 1e-15);
    }

    [BenchmarkCategory("exp"), Benchmark(Baseline = true)]
    public void ExpTensorPrimitives() => System.Numerics.Tensors.TensorPrimitives.Exp<double>(_x, _r);

    [BenchmarkCategory("exp"), Benchmark]
    public void ExpEngine() => VectorMath<double>.Exp(_x, _r);

    [BenchmarkCategory("log"), Benchmark(Baseline = true)]
    public void LogTensorPrimitives() => System.Numerics.Tensors.TensorPrimitives.Log<double>(_positive, _r);

    [BenchmarkCategory("log"), Benchmark]
    public void LogEngine() => VectorMath<double>.Log(_positive, _r);
}

/// <summary>A softplus chain written with exp and log, sum(log(1 + exp(c - w)) + 0.01 w^2).</summary>
[MemoryDiagnoser]
public class ExpLogChainBenchmarks
{
    CompiledFormula<double> _chain = null!;
    double[] _w = null!, _c = null!;

    [Params(1_000, 100_000)]
    public int N { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(13);
        _w = Enumerable.Range(0, N).Select(_ => random.NextDouble() * 4 - 2).ToArray();
        _c = Enumerable.Range(0, N).Select(_ => random.NextDouble() * 4 - 2).ToArray();
        _chain = Workloads.Compile("sum(log(1 + exp(c - w)) + 0.01 * w^2)", InputSpec.Vector("w", InputKind.Parameter, N), InputSpec.Vector("c", InputKind.Data, N));
        _chain.SetInput(0, _w);
        _chain.BindInput(1, _c);
        // As W4: time the steady state, the vector row loop (AVX-512) where the chain compiles to one.
        _chain.CompileRowSweep();
        var expected = 0.0;
        for (var i = 0; i < N; i++) expected += Math.Log(1 + Math.Exp(_c[i] - _w[i])) + 0.01 * _w[i] * _w[i];
        Workloads.Check("softplus chain value", expected, ExpLogChainEngine());
        var e = Math.Exp(_c[^1] - _w[^1]);
        Workloads.Check("softplus chain d/dw[n]", -e / (1 + e) + 0.02 * _w[^1], _chain.GradientOf(0)[^1]);
    }

    [Benchmark]
    public double ExpLogChainEngine() => _chain.EvaluateWithGradientFused();
}
