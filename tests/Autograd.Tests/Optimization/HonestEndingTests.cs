using Autograd.Expressions;
using Autograd.Optimization;

namespace Autograd.Tests.Optimization;

/// <summary>
/// A run ends with a reason that says what happened: one that can no longer move stops as noProgress soon after it
/// stalls, not at maxIterations; and its result is one point, whose loss and gradient norm are its own.
/// </summary>
public class HonestEndingTests
{
    static readonly TestProblem Rosenbrock = TestProblem.Rosenbrock;

    /// <summary>Every optimizer with a learning rate: Levenberg–Marquardt has none (and needs residuals; its own tests are in LevenbergMarquardtTests).</summary>
    public static TheoryData<OptimizerKind> EveryOptimizer() => [.. Enum.GetValues<OptimizerKind>().Where(k => k != OptimizerKind.LevenbergMarquardt)];

    [Theory]
    [MemberData(nameof(EveryOptimizer))]
    public void AnOptimizerWhoseUpdatesChangeNothingStopsAsNoProgressAtTheThirdIteration(OptimizerKind kind)
    {
        // A learning rate of 1e-30 moves no parameter near 1 by a single bit (each is ~1e-16 apart).
        var optimizer = new OptimizerSettings(kind, 1e-30).Create<double>(2);
        var outcome = Minimizer.Run(Rosenbrock.Objective<double>(1), Rosenbrock.Start, optimizer, new StoppingRules(1000));

        Assert.Equal(StopReason.NoProgress, outcome.Reason);
        Assert.False(outcome.Converged);
        Assert.Equal(Minimizer.StallLimit, outcome.Iterations);
        Assert.Equal(Rosenbrock.Start, outcome.Parameters);
        // Rosenbrock at (-1.2, 1): (1 + 1.2)² + 100·(1 - 1.44)² = 4.84 + 19.36.
        Assert.Equal(24.2, outcome.Value, 12);
    }

    [Theory]
    [InlineData("rosenbrock", "lbfgs")]
    [InlineData("rosenbrock", "newton")]
    [InlineData("lab line", "lbfgs")]
    [InlineData("lab line", "newton")]
    [InlineData("lab line", "sgd")]
    public void ARunThatReachesTheBottomStopsAsNoProgressWithinAFewIterationsOfStalling(string name, string method)
    {
        // No tolerance: the run goes on until nothing moves any more, at the minimum to the last bits. Rosenbrock's
        // gradient vanishes there exactly; the lab line's is rounding noise.
        var problem = name == "rosenbrock" ? Rosenbrock : TestProblem.LabLine;
        var optimizer = new OptimizerSettings(Enum.Parse<OptimizerKind>(method, ignoreCase: true), method == "sgd" ? 0.1 : null).Create<double>(2);
        var points = new List<double[]>();
        var outcome = Minimizer.Run(problem.Objective<double>(1), problem.Start, optimizer, new StoppingRules(5000),
            (in IterationState<double> s) => points.Add(s.Parameters.ToArray()));

        Assert.Equal(StopReason.NoProgress, outcome.Reason);
        var lastMove = Enumerable.Range(1, points.Count - 1).Last(k => !points[k].SequenceEqual(points[k - 1]));
        // points[lastMove] was first evaluated at iteration lastMove + 1; from there, StallLimit still iterations.
        Assert.Equal(lastMove + Minimizer.StallLimit, outcome.Iterations);
        Assert.Equal(problem.Minimiser[0], outcome.Parameters[0], 1e-8);
        Assert.Equal(problem.Minimiser[1], outcome.Parameters[1], 1e-8);
        Assert.True(outcome.GradientNorm < 1e-14, $"gradient norm {outcome.GradientNorm}");
    }

    [Fact]
    public void SgdThatOscillatesForeverIsNotNoProgress()
    {
        // f = x²/2 with learning rate 2: every update maps x to -x, so the loss never changes but the point does.
        var objective = new FormulaObjective<double>(TestProblem.Compile<double>("c*x[1]^2/2", 1, [0.5], []));
        var values = new List<double>();
        var outcome = Minimizer.Run(objective, [0.5], new Sgd<double>(1, 2), new StoppingRules(50),
            (in IterationState<double> s) => values.Add(s.Value));

        Assert.Equal(StopReason.MaxIterations, outcome.Reason);
        Assert.All(values, v => Assert.Equal(0.125, v));
    }

    public static TheoryData<string, int, double?> FinishedRuns() => new()
    {
        { "sgd", 50, null },
        { "adam", 50, null },
        { "rmsprop", 50, null },
        { "lbfgs", 6, null },
        { "lbfgs", 1000, 1e-8 },
        { "newton", 4, null },
        { "newton", 1000, 1e-10 },
    };

    [Theory]
    [MemberData(nameof(FinishedRuns))]
    public void TheResultsLossAndGradientNormAreThoseOfItsParametersBitForBit(string method, int maxIterations, double? tolerance)
    {
        var optimizer = new OptimizerSettings(Enum.Parse<OptimizerKind>(method, ignoreCase: true), method is "sgd" ? 1e-3 : null).Create<double>(2);
        var outcome = Minimizer.Run(Rosenbrock.Objective<double>(1), Rosenbrock.Start, optimizer,
            new StoppingRules(maxIterations) { GradientNormTolerance = tolerance });
        Assert.Equal(tolerance is null ? StopReason.MaxIterations : StopReason.GradientNormTolerance, outcome.Reason);

        // A new copy of the formula, replayed by the plain sweeps, at the result.
        var fresh = TestProblem.Compile<double>(Rosenbrock.Expression, 1, outcome.Parameters, []);
        var value = fresh.EvaluateWithGradient();
        Assert.Equal(BitConverter.DoubleToInt64Bits(value), BitConverter.DoubleToInt64Bits(outcome.Value));
        Assert.Equal(BitConverter.DoubleToInt64Bits(Minimizer.Norm(fresh.GradientOf(0))), BitConverter.DoubleToInt64Bits(outcome.GradientNorm));
        // And Rosenbrock written out.
        var (x1, x2) = (outcome.Parameters[0], outcome.Parameters[1]);
        Assert.Equal((1 - x1) * (1 - x1) + 100 * (x2 - x1 * x1) * (x2 - x1 * x1), outcome.Value, 1e-14);
    }

    [Fact]
    public void AtMaxIterationsTheResultIsThePointAfterTheLastUpdateNotTheLastEvaluated()
    {
        double[]? lastEvaluated = null;
        var outcome = Minimizer.Run(Rosenbrock.Objective<double>(1), Rosenbrock.Start, new Sgd<double>(2, 1e-3), new StoppingRules(3),
            (in IterationState<double> s) => lastEvaluated = s.Parameters.ToArray());
        Assert.Equal(3, outcome.Iterations);
        // Iteration 3's point, stepped once more by hand: x - lr·∇f.
        var (x1, x2) = (lastEvaluated![0], lastEvaluated[1]);
        double[] expected = [x1 - 1e-3 * (-2 * (1 - x1) - 400 * x1 * (x2 - x1 * x1)), x2 - 1e-3 * 200 * (x2 - x1 * x1)];
        Assert.Equal(expected[0], outcome.Parameters[0], 1e-14);
        Assert.Equal(expected[1], outcome.Parameters[1], 1e-14);
    }

    [Fact]
    public void AResultWhoseGradientMeetsTheToleranceIsConvergedEvenAtMaxIterations()
    {
        // f = x²/2 with learning rate 1/2 halves x at every update: gradient norms 1, 0.5, 0.25 at iterations 1 to 3,
        // then 0.125 at the result after the third update.
        var objective = new FormulaObjective<double>(TestProblem.Compile<double>("c*x[1]^2/2", 1, [1], []));
        var outcome = Minimizer.Run(objective, [1.0], new Sgd<double>(1, 0.5), new StoppingRules(3) { GradientNormTolerance = 0.2 });
        Assert.Equal(StopReason.GradientNormTolerance, outcome.Reason);
        Assert.True(outcome.Converged);
        Assert.Equal(3, outcome.Iterations);
        Assert.Equal([0.125], outcome.Parameters);
        Assert.Equal(0.125, outcome.GradientNorm);
        Assert.Equal(0.125 * 0.125 / 2, outcome.Value);
    }

    [Fact]
    public void ADivergedRunReportsItsLastFinitePointWithThatPointsLossAndGradientNorm()
    {
        var (values, norms, points) = (new List<double>(), new List<double>(), new List<double[]>());
        var outcome = Minimizer.Run(Rosenbrock.Objective<double>(1), Rosenbrock.Start, new Sgd<double>(2, 1), new StoppingRules(1000),
            (in IterationState<double> s) =>
            {
                values.Add(s.Value);
                norms.Add(s.GradientNorm);
                points.Add(s.Parameters.ToArray());
            });
        Assert.Equal(StopReason.Diverged, outcome.Reason);
        Assert.Equal(points[^1], outcome.Parameters);
        Assert.Equal(values[^1], outcome.Value);
        Assert.Equal(norms[^1], outcome.GradientNorm);
    }

    [Fact]
    public void AnUpdateThatOverflowsAfterTheLastIterationEndsAsDivergedAtTheLastFinitePoint()
    {
        // From 300 with learning rate 1, the update lands near -exp(300), where exp(-x) overflows.
        var compiled = CompiledFormula<double>.Compile(Formula.Parse("exp(x) + exp(-x)"), [InputSpec.Scalar("x", InputKind.Parameter)]);
        compiled.SetInput(0, [300.0]);
        var outcome = Minimizer.Run(new FormulaObjective<double>(compiled), [300.0], new Sgd<double>(1, 1), new StoppingRules(1));
        Assert.Equal(StopReason.Diverged, outcome.Reason);
        Assert.Equal(1, outcome.Iterations);
        Assert.Equal([300.0], outcome.Parameters);
        Assert.Equal(Math.Exp(300), outcome.Value, 1e-14 * Math.Exp(300));
        Assert.Equal(Math.Exp(300), outcome.GradientNorm, 1e-14 * Math.Exp(300));
    }

    [Fact]
    public void AMiniBatchResultIsEvaluatedOnTheLastIterationsBatch()
    {
        var (x, y) = FittingTests.LabData();
        var compiled = CompiledFormula<double>.Compile(Formula.Parse("mean((y - (b0 + b1*x))^2)"),
        [
            InputSpec.Scalar("b0", InputKind.Parameter), InputSpec.Scalar("b1", InputKind.Parameter),
            InputSpec.Vector("x", InputKind.Data, 32), InputSpec.Vector("y", InputKind.Data, 32),
        ]);
        var objective = new MiniBatchObjective<double>(compiled, [(2, x), (3, y)], 32, shuffle: true, seed: 3);
        var outcome = Minimizer.Run(objective, [0.0, 0.0], new Sgd<double>(2, 0.1), new StoppingRules(10));

        // The rows of the last batch are those the formula holds now; the loss over them, written out.
        var (bx, by) = (compiled.InputValues(2).ToArray(), compiled.InputValues(3).ToArray());
        var (b0, b1) = (outcome.Parameters[0], outcome.Parameters[1]);
        var expected = bx.Zip(by, (xi, yi) => (yi - (b0 + b1 * xi)) * (yi - (b0 + b1 * xi))).Average();
        Assert.Equal(expected, outcome.Value, 1e-14);
    }
}
