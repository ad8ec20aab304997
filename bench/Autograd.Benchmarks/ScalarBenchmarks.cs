using Autograd.Expressions;
using Autograd.Optimization;
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
        _paraboloid.SetInput(0, [2.0]);
        _paraboloid.SetInput(1, [2.0]);
        var rosenbrock = Workloads.Compile(Workloads.Rosenbrock, InputSpec.Vector("x", InputKind.Parameter, 2),
            InputSpec.Scalar("a", InputKind.Constant), InputSpec.Scalar("b", InputKind.Constant));
        rosenbrock.SetInput(1, [1.0]);
        rosenbrock.SetInput(2, [5.0]);
        _rosenbrock = new FormulaObjective<double>(rosenbrock);
        _sgd = new Sgd<double>(2, 0.01);

        _interpreted = Workloads.Compile(Workloads.Paraboloid, InputSpec.Scalar("x1", InputKind.Parameter), InputSpec.Scalar("x2", InputKind.Parameter));
        _interpreted.SetInput(0, [2.0]);
        _interpreted.SetInput(1, [2.0]);
        Workloads.Check("W1 value", ParaboloidFloor(), ParaboloidInterpreted());
        Workloads.Check("W1 gradient", _g1, _interpreted.GradientOf(0)[0]);
        // A tape replayed often is compiled in the background; compile now, so that every timed replay runs compiled.
        if (!_paraboloid.Tape.CompileScalarReplay() || !rosenbrock.Tape.CompileScalarReplay())
            throw new InvalidOperationException("W1 and W2 should compile to a scalar replay.");
        Workloads.Check("W1 value, compiled", ParaboloidFloor(), ParaboloidEngine());
        Workloads.Check("W1 gradient, compiled", _g2, _paraboloid.GradientOf(1)[0]);
        var floor = RosenbrockFloor();
        Workloads.Check("W2 final x1", floor, RosenbrockEngine());
    }

    [BenchmarkCategory("W1 paraboloid"), Benchmark(Baseline = true)]
    public double ParaboloidFloor()
    {
        double x1 = _x1, x2 = _x2;
        _g1 = 0.4 * x1;
        _g2 = 0.4 * x2;
        return 0.2 * x1 * x1 + 0.2 * x2 * x2 - 5;
    }

    /// <summary>The replay /gradient and the optimisers use: compiled, as it is once a tape has been replayed a few dozen times.</summary>
    [BenchmarkCategory("W1 paraboloid"), Benchmark]
    public double ParaboloidEngine() => _paraboloid.EvaluateWithGradientFused();

    /// <summary>The interpreter every node-by-node replay uses (explain, and a tape's first replays).</summary>
    [BenchmarkCategory("W1 paraboloid"), Benchmark]
    public double ParaboloidInterpreted() => _interpreted.EvaluateWithGradient();

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
