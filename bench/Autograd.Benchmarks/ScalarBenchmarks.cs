using Autograd.Expressions;
using Autograd.Optimization;
using System.Runtime.CompilerServices;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;

namespace Autograd.Benchmarks;

/// <summary>W1 (paraboloid gradient) and W2 (the tutorial's Rosenbrock descent), engine against the hand-written floor.</summary>
[MemoryDiagnoser]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public class ScalarBenchmarks
{
    const int Iterations = 1000;
    CompiledFormula<double> _paraboloid = null!;
    FormulaObjective<double> _paraboloidObjective = null!;
    readonly double[] _point = [2, 2];
    CompiledFormula<double> _interpreted = null!;
    FormulaObjective<double> _rosenbrock = null!;
    Sgd<double> _sgd = null!;
    readonly double[] _x = new double[2];
    readonly double[] _gradient = new double[2];
    double _g1, _g2;
    // The floors read their inputs from fields, so that the JIT cannot fold the whole computation into a constant.
    double _x1 = 2, _x2 = 2, _a = 1, _b = 5, _lr = 0.01;

    [GlobalSetup]
    public void Setup()
    {
        _paraboloid = Workloads.Compile(Workloads.Paraboloid, InputSpec.Scalar("x1", InputKind.Parameter), InputSpec.Scalar("x2", InputKind.Parameter));
        _paraboloidObjective = new FormulaObjective<double>(_paraboloid);
        var rosenbrock = Workloads.Compile(Workloads.Rosenbrock, InputSpec.Vector("x", InputKind.Parameter, 2),
            InputSpec.Scalar("a", InputKind.Constant), InputSpec.Scalar("b", InputKind.Constant));
        rosenbrock.SetInput(1, [1.0]);
        rosenbrock.SetInput(2, [5.0]);
        _rosenbrock = new FormulaObjective<double>(rosenbrock);
        _sgd = new Sgd<double>(2, 0.01);

        _interpreted = Workloads.Compile(Workloads.Paraboloid, InputSpec.Scalar("x1", InputKind.Parameter), InputSpec.Scalar("x2", InputKind.Parameter));
        _interpreted.SetInput(0, _point.AsSpan(0, 1));
        _interpreted.SetInput(1, _point.AsSpan(1));
        var floor = ParaboloidFloor();
        double[] floorGradient = [.. _gradient];
        Workloads.Check("W1 value, interpreted", floor, ParaboloidInterpreted());
        Workloads.Check("W1 d/dx1, interpreted", floorGradient[0], _interpreted.GradientOf(0)[0]);
        Array.Clear(_interpreted.Tape[_interpreted.InputNode(1)].Adjoint);
        Workloads.Check("W1 value, first replays", floor, ParaboloidFirstReplays());
        Workloads.Check("W1 d/dx2, first replays", floorGradient[1], _interpreted.GradientOf(1)[0]);
        // A tape replayed often is compiled in the background; compile now, so that every timed replay runs compiled.
        if (!_paraboloid.CompileScalarReplay() || !rosenbrock.CompileScalarReplay())
            throw new InvalidOperationException("W1 and W2 should compile to a scalar replay.");
        Array.Clear(_gradient);
        Workloads.Check("W1 value", floor, ParaboloidEngine());
        Workloads.Check("W1 d/dx1", floorGradient[0], _gradient[0]);
        Workloads.Check("W1 d/dx2", floorGradient[1], _gradient[1]);
        Workloads.Check("W1 value, replay only", floor, ParaboloidReplay());
        Workloads.Check("W1 value, inline floor", floor, ParaboloidInlineFloor());
        Workloads.Check("W1 value, cold", floor, ParaboloidCold());
        Workloads.Check("W2 final x1", RosenbrockFloor(), RosenbrockEngine());
    }

    /// <summary>
    /// The floor: value and gradient by hand, as a function a program would pass to an optimiser, reading the point
    /// from memory and writing the gradient to memory, like the engine's objective. Not inlined, so that the JIT
    /// cannot merge it into the benchmark loop.
    /// </summary>
    [BenchmarkCategory("W1 paraboloid"), Benchmark(Baseline = true)]
    public double ParaboloidFloor() => ParaboloidByHand(_point, _gradient);

    [MethodImpl(MethodImplOptions.NoInlining)]
    static double ParaboloidByHand(ReadOnlySpan<double> x, Span<double> gradient)
    {
        gradient[0] = 0.4 * x[0];
        gradient[1] = 0.4 * x[1];
        return 0.2 * x[0] * x[0] + 0.2 * x[1] * x[1] - 5;
    }

    /// <summary>The engine behind the same signature: the point copied in, the compiled replay, the gradient copied out.</summary>
    [BenchmarkCategory("W1 paraboloid"), Benchmark]
    public double ParaboloidEngine() => _paraboloidObjective.ValueAndGradient(_point, _gradient);

    /// <summary>The compiled replay alone, the point already in place (what /gradient runs on a cache hit).</summary>
    [BenchmarkCategory("W1 paraboloid"), Benchmark]
    public double ParaboloidReplay() => _paraboloid.EvaluateWithGradientFused();

    /// <summary>The node-by-node sweeps (explain, and naming the node behind a non-finite result): every node's value and adjoint written.</summary>
    [BenchmarkCategory("W1 paraboloid"), Benchmark]
    public double ParaboloidInterpreted() => _interpreted.EvaluateWithGradient();

    /// <summary>
    /// The interpreter that serves a tape of scalars' replays until it is compiled (its first 2,048, and every replay of
    /// a tape too long to compile), kept here from compiling.
    /// </summary>
    [BenchmarkCategory("W1 paraboloid"), Benchmark]
    public double ParaboloidFirstReplays() => _interpreted.EvaluateWithGradientInterpreted();

    /// <summary>A formula never seen: parse, record, and the first value and gradient, interpreted (allocates: once per formula).</summary>
    [BenchmarkCategory("W1 paraboloid"), Benchmark]
    public double ParaboloidCold()
    {
        var formula = Workloads.Compile(Workloads.Paraboloid, InputSpec.Scalar("x1", InputKind.Parameter), InputSpec.Scalar("x2", InputKind.Parameter));
        formula.SetInput(0, _point.AsSpan(0, 1));
        formula.SetInput(1, _point.AsSpan(1));
        return formula.EvaluateWithGradient();
    }

    /// <summary>
    /// For comparison: the same arithmetic inlined into the benchmark method. It measures as an empty call (0-1 ns)
    /// because it overlaps the harness's own overhead, so it cannot serve as a ratio's denominator.
    /// </summary>
    [BenchmarkCategory("W1 paraboloid"), Benchmark]
    public double ParaboloidInlineFloor()
    {
        double x1 = _x1, x2 = _x2;
        _g1 = 0.4 * x1;
        _g2 = 0.4 * x2;
        return 0.2 * x1 * x1 + 0.2 * x2 * x2 - 5;
    }

    [BenchmarkCategory("W2 rosenbrock sgd"), Benchmark(Baseline = true, OperationsPerInvoke = Iterations)]
    public double RosenbrockFloor()
    {
        double x1 = -_a, x2 = _a, a = _a, b = _b, lr = _lr;
        for (var k = 0; k < Iterations; k++)
        {
            var inner = x2 - x1 * x1;
            var g1 = -2 * (a - x1) - 4 * b * x1 * inner;
            var g2 = 2 * b * inner;
            x1 -= lr * g1;
            x2 -= lr * g2;
        }
        return x1;
    }

    [BenchmarkCategory("W2 rosenbrock sgd"), Benchmark(OperationsPerInvoke = Iterations)]
    public double RosenbrockEngine()
    {
        _x[0] = -1;
        _x[1] = 1;
        var sgd = _sgd;
        sgd.Reset();
        for (var k = 0; k < Iterations; k++)
        {
            var value = _rosenbrock.ValueAndGradient(_x, _gradient);
            sgd.Step(_x, value, _gradient, _rosenbrock);
        }
        return _x[0];
    }
}
