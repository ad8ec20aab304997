using System.Numerics;
using System.Text.Json;
using System.Text.Json.Serialization;
using Autograd.Expressions;
using Autograd.Optimization;

namespace Autograd.Tests.Optimization;

/// <summary>
/// The runs <see cref="CheckpointTests"/> leaves out: first-order rules, L-BFGS and Newton under box bounds (projected, and
/// two-metric projected), and Levenberg–Marquardt with and without bounds. Each is stopped after iteration k for several k
/// (the first, the second, mid-run and the last that offers a checkpoint), its checkpoint goes through the bytes the
/// service stores (web JSON defaults, named float literals, nulls left out, unknown members refused), and it is resumed on a
/// new objective and optimizer: every later iteration, and the result, must be the uninterrupted run's bits.
/// Checkpoints are taken between iterations, after the update: a line search never stops half way.
/// </summary>
public class BoundedCheckpointTests
{
    internal static readonly JsonSerializerOptions ServiceJson = new(JsonSerializerDefaults.Web)
    {
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    };

    public static TheoryData<string, string> Cases() => new()
    {
        { "bounded rosenbrock", "sgd" },
        { "bounded rosenbrock", "adam" },
        { "bounded rosenbrock", "lbfgs" },
        { "bounded rosenbrock", "lbfgs-float32" },
        { "bounded rosenbrock", "newton" },
        { "bounded mini-batches", "adam" },
        { "misra1a", "levenberg-marquardt" },
        { "misra1a", "levenberg-marquardt-float32" },
        { "bounded puromycin", "levenberg-marquardt" },
        { "bounded misra1a", "levenberg-marquardt" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void A_bounded_or_levenberg_marquardt_run_resumed_from_a_checkpoint_gives_the_uninterrupted_runs_bits(string problem, string optimizer)
    {
        if (optimizer.EndsWith("-float32", StringComparison.Ordinal))
            Check<float>(new Case(problem, optimizer[..^"-float32".Length]));
        else
            Check<double>(new Case(problem, optimizer));
    }

    static void Check<T>(Case job) where T : IFloatingPointIeee754<T>
    {
        var whole = job.Run<T>(null, null);
        var offered = whole.Offered;
        Assert.True(offered >= 4, $"The uninterrupted run offered only {offered} checkpoints ({whole.Outcome}).");
        foreach (var stopAfter in new[] { 1, 2, offered / 2, offered - 1 }.Distinct())
        {
            byte[]? saved = null;
            using var stop = new CancellationTokenSource();
            var first = job.Run<T>(null, (iteration, capture) =>
            {
                if (iteration != stopAfter) return;
                saved = JsonSerializer.SerializeToUtf8Bytes(capture(), ServiceJson);
                stop.Cancel();
            }, stop.Token);
            Assert.StartsWith(nameof(StopReason.Cancelled), first.Outcome);
            Assert.NotNull(saved);
            var checkpoint = JsonSerializer.Deserialize<MinimizerCheckpoint>(saved, ServiceJson)!;
            Assert.Equal(stopAfter, checkpoint.Iteration);

            var resumed = job.Run<T>(checkpoint, null);
            Assert.Equal(whole.Trace.Take(stopAfter), first.Trace);
            Assert.Equal(whole.Trace.Skip(stopAfter), resumed.Trace);
            Assert.Equal(whole.Result, resumed.Result);
            Assert.Equal(whole.Outcome, resumed.Outcome);
        }
    }

    /// <summary>A resumed run whose optimizer would start afresh (the damping and scaling forgotten) does not give the same bits: the state matters.</summary>
    [Fact]
    public void Levenberg_marquardt_resumed_without_its_damping_differs()
    {
        var job = new Case("misra1a", "levenberg-marquardt");
        var whole = job.Run<double>(null, null);
        MinimizerCheckpoint? checkpoint = null;
        using var stop = new CancellationTokenSource();
        job.Run<double>(null, (iteration, capture) =>
        {
            if (iteration != 3) return;
            checkpoint = capture();
            stop.Cancel();
        }, stop.Token);
        Assert.NotNull(checkpoint);
        var fresh = new OptimizerState("levenberg-marquardt").With<double>("damping", [1e-3, 2]).With<double>("scale", new double[2]);
        var forgetful = job.Run<double>(checkpoint with { Optimizer = fresh }, null);
        Assert.NotEqual(whole.Trace.Skip(3), forgetful.Trace);
    }

    [Fact]
    public void A_projected_checkpoint_does_not_resume_another_rule()
    {
        var job = new Case("bounded rosenbrock", "lbfgs");
        MinimizerCheckpoint? checkpoint = null;
        using var stop = new CancellationTokenSource();
        job.Run<double>(null, (iteration, capture) =>
        {
            if (iteration != 5) return;
            checkpoint = capture();
            stop.Cancel();
        }, stop.Token);
        Assert.NotNull(checkpoint);
        Assert.Throws<ArgumentException>(() => new Case("bounded rosenbrock", "newton").Run<double>(checkpoint, null));
        Assert.Throws<ArgumentException>(() => new Case("misra1a", "levenberg-marquardt").Run<double>(checkpoint with { Parameters = [500, 1e-4], Evaluated = [500, 1e-4] }, null));
    }

    sealed record RunResult(List<string> Trace, string Result, string Outcome, int Offered);

    sealed class Case(string problem, string optimizer)
    {
        static readonly double[] MisraX = [77.6, 114.9, 141.1, 190.8, 239.9, 289.0, 332.8, 378.4, 434.8, 477.3, 536.8, 593.1, 689.1, 760.0];
        static readonly double[] MisraY = [10.07, 14.73, 17.94, 23.93, 29.61, 35.18, 40.02, 44.82, 50.76, 55.05, 61.01, 66.40, 75.47, 81.78];
        static readonly double[] PuromycinConc = [0.02, 0.02, 0.06, 0.06, 0.11, 0.11, 0.22, 0.22, 0.56, 0.56, 1.10, 1.10];
        static readonly double[] PuromycinRate = [76, 47, 97, 107, 123, 139, 159, 152, 191, 201, 207, 200];

        public RunResult Run<T>(MinimizerCheckpoint? resume, CheckpointCallback? onCheckpoint, CancellationToken cancellation = default)
            where T : IFloatingPointIeee754<T>
        {
            IObjective<T> objective;
            IResidualObjective<T>? residuals = null;
            double[] start, lower, upper;
            var rules = new StoppingRules(300) { GradientNormTolerance = 1e-9 };
            switch (problem)
            {
                case "bounded rosenbrock":
                    // The minimiser (1, 1) is outside: the solution lies on the upper bound of x[1].
                    (start, lower, upper) = ([-1.2, 1], [-2, -1], [0.8, 1.5]);
                    objective = new FormulaObjective<T>(TestProblem.Compile<T>(TestProblem.Rosenbrock.Expression, 1, start, []));
                    rules = new StoppingRules(optimizer is "lbfgs" or "newton" ? 200 : 400) { GradientNormTolerance = 1e-9 };
                    break;
                case "bounded mini-batches":
                {
                    const int batch = 64;
                    var (x, y) = FittingTests.LabData(2000, seed: 3);
                    var formula = CompiledFormula<T>.Compile(Formula.Parse("mean((y - (b0 + b1*x))^2)"),
                    [
                        InputSpec.Scalar("b0", InputKind.Parameter), InputSpec.Scalar("b1", InputKind.Parameter),
                        InputSpec.Vector("x", InputKind.Data, batch), InputSpec.Vector("y", InputKind.Data, batch),
                    ]);
                    (start, lower, upper) = ([0, 0], [0.5, double.NegativeInfinity], [1.0, 1.5]);
                    formula.SetInput(0, [T.Zero]);
                    formula.SetInput(1, [T.Zero]);
                    objective = new MiniBatchObjective<T>(formula,
                        [(2, x.Select(T.CreateChecked).ToArray()), (3, y.Select(T.CreateChecked).ToArray())], batch, shuffle: true, seed: 5);
                    break;
                }
                default:
                {
                    var puromycin = problem == "bounded puromycin";
                    var (x, y) = puromycin ? (PuromycinConc, PuromycinRate) : (MisraX, MisraY);
                    var residual = puromycin ? "y - b1*x/(b2 + x)" : "y - b1*(1 - exp(-b2*x))";
                    start = puromycin ? [150, 0.1] : [500, 1e-4];
                    // Puromycin's fit is Vm = 212.7, K = 0.0641: both bounds below hold at the solution. Misra1a's b1 = 238.9 is held at 230.
                    (lower, upper) = problem switch
                    {
                        "bounded puromycin" => (new double[] { 0, 0.08 }, new double[] { 1000, 1 }),
                        "bounded misra1a" => ([0, 0], [230, 1]),
                        _ => ([double.NegativeInfinity, double.NegativeInfinity], [double.PositiveInfinity, double.PositiveInfinity]),
                    };
                    CompiledFormula<T> Compile(string text)
                    {
                        var compiled = CompiledFormula<T>.Compile(Formula.Parse(text),
                        [
                            InputSpec.Scalar("b1", InputKind.Parameter), InputSpec.Scalar("b2", InputKind.Parameter),
                            InputSpec.Vector("x", InputKind.Data, x.Length), InputSpec.Vector("y", InputKind.Data, y.Length),
                        ]);
                        compiled.SetInput(0, [T.CreateChecked(start[0])]);
                        compiled.SetInput(1, [T.CreateChecked(start[1])]);
                        compiled.SetInput(2, x.Select(T.CreateChecked).ToArray());
                        compiled.SetInput(3, y.Select(T.CreateChecked).ToArray());
                        return compiled;
                    }
                    objective = new FormulaObjective<T>(Compile($"mean(({residual})^2)"));
                    residuals = new FormulaResiduals<T>(Compile($"sum(({residual}))"));
                    rules = new StoppingRules(300) { GradientNormTolerance = 0 };
                    break;
                }
            }
            var bounds = problem.StartsWith("bounded", StringComparison.Ordinal)
                ? new Bounds<T>(lower.Select(T.CreateChecked).ToArray(), upper.Select(T.CreateChecked).ToArray())
                : null;
            var settings = optimizer switch
            {
                "sgd" => new OptimizerSettings(OptimizerKind.Sgd, 1e-4) { Momentum = 0.9, Nesterov = true },
                "adam" => new OptimizerSettings(OptimizerKind.Adam, 0.01) { Amsgrad = true },
                "lbfgs" => new OptimizerSettings(OptimizerKind.Lbfgs) { HistorySize = 5 },
                "newton" => new OptimizerSettings(OptimizerKind.Newton),
                _ => new OptimizerSettings(OptimizerKind.LevenbergMarquardt),
            };
            var point = start.Select(T.CreateChecked).ToArray();
            bounds?.Project(point);
            var trace = new List<string>();
            var offered = 0;
            CheckpointCallback counting = (iteration, capture) =>
            {
                offered = iteration;
                onCheckpoint?.Invoke(iteration, capture);
            };
            var outcome = Minimizer.Run(objective, point, BoundedOptimizers.Create(settings, objective.Dimension, bounds, residuals),
                rules, resume, counting,
                (in IterationState<T> s) => trace.Add($"{s.Iteration}: {Bits(s.Value)} {Bits(s.GradientNorm)} {string.Join(' ', s.Parameters.ToArray().Select(Bits))}"),
                cancellation, bounds);
            var result = $"{Bits(outcome.Value)} {Bits(outcome.GradientNorm)} {string.Join(' ', outcome.Parameters.Select(Bits))}";
            return new RunResult(trace, result, $"{outcome.Reason} after {outcome.Iterations}", offered);
        }

        static string Bits<T>(T value) where T : IFloatingPointIeee754<T> =>
            BitConverter.DoubleToInt64Bits(double.CreateChecked(value)).ToString("x16");
    }
}
