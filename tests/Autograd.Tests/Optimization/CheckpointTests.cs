using System.Numerics;
using System.Text.Json;
using System.Text.Json.Serialization;
using Autograd.Expressions;
using Autograd.Optimization;

namespace Autograd.Tests.Optimization;

/// <summary>
/// A run stopped after iteration k and resumed from its checkpoint, on a new objective and a new optimizer as another
/// process would build them, gives the iterations and result of the run that never stopped, bit for bit. The
/// checkpoint goes through JSON on the way, as it does to a store.
/// </summary>
public class CheckpointTests
{
    static readonly JsonSerializerOptions Json = new() { NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals };

    public static TheoryData<string, string, int> Cases() => new()
    {
        { "rosenbrock", "sgd", 37 },
        { "rosenbrock", "adam", 120 },
        { "rosenbrock", "adamw", 5 },
        { "rosenbrock", "rmsprop", 50 },
        { "rosenbrock", "adagrad", 50 },
        { "rosenbrock", "lbfgs", 1 },
        { "rosenbrock", "lbfgs", 14 },
        { "rosenbrock", "lbfgs-float32", 9 },
        { "rosenbrock", "newton", 4 },
        // 2000 rows in batches of 64: 31 batches an epoch, so iteration 31 ends the first epoch and 45 is within the second.
        { "mini-batches", "sgd", 31 },
        { "mini-batches", "sgd", 45 },
        { "mini-batches", "adam", 100 },
        // 20,000 rows through the fused replay, whose compiled row loop (rounding differently) takes over after 2^22 rows,
        // about the 210th evaluation: the resumed run must switch where the uninterrupted one did, not 210 after the resume.
        { "full-data", "sgd", 100 },
        { "full-data", "adam", 150 },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void A_run_resumed_from_a_checkpoint_gives_the_uninterrupted_runs_bits(string problem, string optimizer, int stopAfter)
    {
        if (optimizer.EndsWith("-float32", StringComparison.Ordinal))
            Check<float>(new Job(problem, optimizer[..^"-float32".Length]), stopAfter);
        else
            Check<double>(new Job(problem, optimizer), stopAfter);
    }

    static void Check<T>(Job job, int stopAfter) where T : IFloatingPointIeee754<T>
    {
        var whole = job.Run<T>(null, null);
        Assert.True(whole.Iterations > stopAfter + 5, $"The uninterrupted run stopped after {whole.Iterations} iterations.");

        string? saved = null;
        using var stop = new CancellationTokenSource();
        var first = job.Run<T>(null, (iteration, capture) =>
        {
            if (iteration != stopAfter) return;
            saved = JsonSerializer.Serialize(capture(), Json);
            stop.Cancel();
        }, stop.Token);
        Assert.Equal(StopReason.Cancelled, first.Outcome.Reason);
        Assert.Equal(stopAfter, first.Iterations);
        Assert.NotNull(saved);

        var checkpoint = JsonSerializer.Deserialize<MinimizerCheckpoint>(saved, Json)!;
        var resumed = job.Run<T>(checkpoint, null);
        Assert.Equal(whole.Trace.Take(stopAfter), first.Trace);
        Assert.Equal(whole.Trace.Skip(stopAfter), resumed.Trace);
        Assert.Equal(whole.Result, resumed.Result);
        Assert.Equal(whole.Outcome.Reason, resumed.Outcome.Reason);
        Assert.Equal(whole.Outcome.Iterations, resumed.Outcome.Iterations);
    }

    [Fact]
    public void A_checkpoint_of_another_seed_or_rule_is_refused()
    {
        var job = new Job("mini-batches", "sgd");
        MinimizerCheckpoint? checkpoint = null;
        using var stop = new CancellationTokenSource();
        job.Run<double>(null, (iteration, capture) =>
        {
            if (iteration != 40) return;
            checkpoint = capture();
            stop.Cancel();
        }, stop.Token);
        Assert.NotNull(checkpoint);
        Assert.Throws<ArgumentException>(() => new Job("mini-batches", "sgd", seed: 6).Run<double>(checkpoint, null));
        Assert.Throws<ArgumentException>(() => new Job("mini-batches", "adam").Run<double>(checkpoint, null));
    }

    sealed record RunResult(List<string> Trace, string Result, MinimizeOutcomeSummary Outcome)
    {
        public int Iterations => Outcome.Iterations;
    }

    sealed record MinimizeOutcomeSummary(StopReason Reason, int Iterations);

    sealed class Job(string problem, string optimizer, int seed = 5)
    {
        const int Rows = 2000;
        const int BatchSize = 64;
        const int FullRows = 20_000;
        readonly (double[] X, double[] Y) _data = FittingTests.LabData(Rows, seed: 3);

        OptimizerSettings Settings => optimizer switch
        {
            "sgd" => new(OptimizerKind.Sgd, problem == "rosenbrock" ? 1e-4 : 0.05) { Momentum = problem == "full-data" ? 0.5 : 0.9, Nesterov = true },
            "adam" => new(OptimizerKind.Adam, 0.01) { Amsgrad = true },
            "adamw" => new(OptimizerKind.AdamW, 0.01),
            "rmsprop" => new(OptimizerKind.RmsProp, 0.001) { Momentum = 0.5, Centered = true },
            "adagrad" => new(OptimizerKind.Adagrad, 0.1) { LearningRateDecay = 0.01, InitialAccumulatorValue = 0.1 },
            "lbfgs" => new(OptimizerKind.Lbfgs) { HistorySize = 5 },
            _ => new(OptimizerKind.Newton),
        };

        int MaxIterations => optimizer is "lbfgs" or "newton" ? 200 : 300;

        public RunResult Run<T>(MinimizerCheckpoint? resume, CheckpointCallback? onCheckpoint, CancellationToken cancellation = default)
            where T : IFloatingPointIeee754<T>
        {
            IObjective<T> objective;
            T[] start;
            if (problem == "rosenbrock")
            {
                var formula = TestProblem.Compile<T>(TestProblem.Rosenbrock.Expression, 1, TestProblem.Rosenbrock.Start, []);
                objective = new FormulaObjective<T>(formula);
                start = TestProblem.Rosenbrock.Start.Select(T.CreateChecked).ToArray();
            }
            else if (problem == "full-data")
            {
                var (x, y) = FittingTests.LabData(FullRows, seed: 3);
                var formula = CompiledFormula<T>.Compile(Formula.Parse("mean((y - (b0 + b1*x))^2)"),
                [
                    InputSpec.Scalar("b0", InputKind.Parameter), InputSpec.Scalar("b1", InputKind.Parameter),
                    InputSpec.Vector("x", InputKind.Data, FullRows), InputSpec.Vector("y", InputKind.Data, FullRows),
                ]);
                start = [T.Zero, T.Zero];
                formula.SetInput(0, [T.Zero]);
                formula.SetInput(1, [T.Zero]);
                formula.SetInput(2, x.Select(T.CreateChecked).ToArray());
                formula.SetInput(3, y.Select(T.CreateChecked).ToArray());
                objective = new FormulaObjective<T>(formula);
            }
            else
            {
                var formula = CompiledFormula<T>.Compile(Formula.Parse("mean((y - (b0 + b1*x))^2)"),
                [
                    InputSpec.Scalar("b0", InputKind.Parameter), InputSpec.Scalar("b1", InputKind.Parameter),
                    InputSpec.Vector("x", InputKind.Data, BatchSize), InputSpec.Vector("y", InputKind.Data, BatchSize),
                ]);
                start = [T.Zero, T.Zero];
                formula.SetInput(0, [T.Zero]);
                formula.SetInput(1, [T.Zero]);
                objective = new MiniBatchObjective<T>(formula,
                    [(2, _data.X.Select(T.CreateChecked).ToArray()), (3, _data.Y.Select(T.CreateChecked).ToArray())], BatchSize, shuffle: true, seed);
            }
            var trace = new List<string>();
            var outcome = Minimizer.Run(objective, start, Settings.Create<T>(objective.Dimension),
                new StoppingRules(MaxIterations) { GradientNormTolerance = 1e-9 }, resume, onCheckpoint,
                (in IterationState<T> s) => trace.Add($"{s.Iteration}: {Bits(s.Value)} {Bits(s.GradientNorm)} {string.Join(' ', s.Parameters.ToArray().Select(Bits))}"),
                cancellation);
            var result = $"{Bits(outcome.Value)} {Bits(outcome.GradientNorm)} {string.Join(' ', outcome.Parameters.Select(Bits))}";
            return new RunResult(trace, result, new MinimizeOutcomeSummary(outcome.Reason, outcome.Iterations));
        }

        static string Bits<T>(T value) where T : IFloatingPointIeee754<T> =>
            BitConverter.DoubleToInt64Bits(double.CreateChecked(value)).ToString("x16");
    }
}
