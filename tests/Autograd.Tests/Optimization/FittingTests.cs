using Autograd.Expressions;
using Autograd.Optimization;

namespace Autograd.Tests.Optimization;

/// <summary>The tutorial's lab: fit b0, b1 of y = 1 + x + e, against the least-squares answer of the normal equations.</summary>
public class FittingTests
{
    internal static (double[] X, double[] Y) LabData(int n = 200, int seed = 1)
    {
        var random = new Random(seed);
        var x = new double[n];
        var y = new double[n];
        for (var i = 0; i < n; i++)
        {
            x[i] = random.NextDouble() * 2;
            // Box-Muller: a standard normal from two uniforms.
            var noise = Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
            y[i] = 1 + x[i] + 0.25 * noise;
        }
        return (x, y);
    }

    /// <summary>Solves the 2x2 normal equations XᵀX b = Xᵀy for X = [1, x].</summary>
    internal static (double B0, double B1) LeastSquares(double[] x, double[] y)
    {
        double n = x.Length, sx = x.Sum(), sy = y.Sum(), sxx = x.Sum(v => v * v), sxy = x.Zip(y, (a, b) => a * b).Sum();
        var determinant = n * sxx - sx * sx;
        return ((sxx * sy - sx * sxy) / determinant, (n * sxy - sx * sy) / determinant);
    }

    static FormulaObjective<double> LabObjective(double[] x, double[] y, string expression = "mean((y - (b0 + b1*x))^2)")
    {
        var compiled = CompiledFormula<double>.Compile(Formula.Parse(expression),
        [
            InputSpec.Scalar("b0", InputKind.Parameter), InputSpec.Scalar("b1", InputKind.Parameter),
            InputSpec.Vector("x", InputKind.Data, x.Length), InputSpec.Vector("y", InputKind.Data, y.Length),
        ]);
        compiled.SetInput(0, [0.0]);
        compiled.SetInput(1, [0.0]);
        compiled.SetInput(2, x);
        compiled.SetInput(3, y);
        return new FormulaObjective<double>(compiled);
    }

    public static TheoryData<string> Optimizers => ["sgd", "adam", "lbfgs"];

    [Theory]
    [MemberData(nameof(Optimizers))]
    public void LabFitReachesTheLeastSquaresAnswer(string optimizer)
    {
        var (x, y) = LabData();
        var (b0, b1) = LeastSquares(x, y);
        var objective = LabObjective(x, y);
        var (method, rules) = optimizer switch
        {
            "sgd" => ((Optimizer<double>)new Sgd<double>(2, 0.1), new StoppingRules(2000)),
            "adam" => (new Adam<double>(2, 0.01), new StoppingRules(20_000) { GradientNormTolerance = 1e-10 }),
            _ => (new Lbfgs<double>(2), new StoppingRules(100) { GradientNormTolerance = 1e-12 }),
        };
        var outcome = Minimizer.Run(objective, objective.CurrentParameters(), method, rules);
        Assert.Equal(b0, outcome.Parameters[0], 1e-6);
        Assert.Equal(b1, outcome.Parameters[1], 1e-6);
        // sgd has no tolerance: it goes on until its updates no longer change the line.
        Assert.Equal(optimizer == "sgd" ? StopReason.NoProgress : StopReason.GradientNormTolerance, outcome.Reason);
    }

    [Fact]
    public void LbfgsDrivesTheLabsGradientFarBelowWhatItsLossCanResolve()
    {
        // Near the line, a step that takes the gradient from g to 0 lowers the loss (about 0.059) by some |g|²: below
        // |g| ≈ 1e-9 that is lost in the loss's rounding. The line search then goes by the gradient; it used to give
        // up there, at 3.8e-10, or not, depending on the last bits of a sum, and so on the machine's vector width.
        var (x, y) = LabData();
        var (b0, b1) = LeastSquares(x, y);
        var objective = LabObjective(x, y);
        var outcome = Minimizer.Run(objective, objective.CurrentParameters(), new Lbfgs<double>(2), new StoppingRules(100) { GradientNormTolerance = 1e-14 });
        Assert.True(outcome.Reason == StopReason.GradientNormTolerance, outcome.Message);
        Assert.Equal(b0, outcome.Parameters[0], 1e-12);
        Assert.Equal(b1, outcome.Parameters[1], 1e-12);
    }

    [Theory]
    [InlineData("mse", "mean((y - (b0 + b1*x))^2)")]
    [InlineData("mae", "mean(abs(y - (b0 + b1*x)))")]
    [InlineData("huber", "mean(0.5*min(abs(y - (b0 + b1*x)), 1)^2 + 1*(abs(y - (b0 + b1*x)) - min(abs(y - (b0 + b1*x)), 1)))")]
    [InlineData("logcosh", "mean(abs(y - (b0 + b1*x)) + softplus(-2*abs(y - (b0 + b1*x))) - log(2))")]
    [InlineData("bce", "mean(softplus(b0 + b1*x) - y*(b0 + b1*x))")]
    public void ModelShorthandExpandsToTheDocumentedFormula(string loss, string expected)
    {
        var (expression, offset) = ModelLoss.Expand("b0 + b1*x", "y", loss);
        Assert.Equal(expected, expression);
        Assert.Equal("b0 + b1*x", expression.Substring(offset, "b0 + b1*x".Length));
    }

    [Theory]
    [InlineData("mse")]
    [InlineData("mae")]
    [InlineData("huber")]
    [InlineData("logcosh")]
    [InlineData("bce")]
    public void EachLossHasTheValueOfItsDefinitionAndAGradientMatchingFiniteDifferences(string loss)
    {
        var (x, y) = LabData(50, seed: 3);
        if (loss == "bce") y = x.Select(v => v > 1 ? 1.0 : 0.0).ToArray();
        var (expression, _) = ModelLoss.Expand("b0 + b1*x", "y", loss, loss == "huber" ? new Dictionary<string, double> { ["delta"] = 0.3 } : null);
        var objective = LabObjective(x, y, expression);
        double[] b = [0.4, 1.7];
        var gradient = new double[2];
        var value = objective.ValueAndGradient(b, gradient);

        Assert.Equal(Definition(loss, b, x, y), value, 1e-12);
        for (var i = 0; i < 2; i++)
        {
            const double h = 1e-6;
            var plus = (double[])b.Clone();
            var minus = (double[])b.Clone();
            plus[i] += h;
            minus[i] -= h;
            var numeric = (Definition(loss, plus, x, y) - Definition(loss, minus, x, y)) / (2 * h);
            Assert.Equal(numeric, gradient[i], 1e-6);
        }
    }

    /// <summary>Each loss written directly from its textbook definition, independent of the expansion.</summary>
    static double Definition(string loss, double[] b, double[] x, double[] y)
    {
        var total = 0.0;
        for (var i = 0; i < x.Length; i++)
        {
            var prediction = b[0] + b[1] * x[i];
            var r = y[i] - prediction;
            total += loss switch
            {
                "mse" => r * r,
                "mae" => Math.Abs(r),
                "huber" => Math.Abs(r) <= 0.3 ? 0.5 * r * r : 0.3 * (Math.Abs(r) - 0.15),
                "logcosh" => Math.Log(Math.Cosh(r)),
                _ => -(y[i] * Math.Log(1 / (1 + Math.Exp(-prediction))) + (1 - y[i]) * Math.Log(1 - 1 / (1 + Math.Exp(-prediction)))),
            };
        }
        return total / x.Length;
    }

    static List<(int Epoch, double Value, double B0, double B1)> MiniBatchTrace(int batchSize, bool shuffle, int seed, int iterations = 60)
    {
        var (x, y) = LabData();
        var compiled = CompiledFormula<double>.Compile(Formula.Parse("mean((y - (b0 + b1*x))^2)"),
        [
            InputSpec.Scalar("b0", InputKind.Parameter), InputSpec.Scalar("b1", InputKind.Parameter),
            InputSpec.Vector("x", InputKind.Data, batchSize), InputSpec.Vector("y", InputKind.Data, batchSize),
        ]);
        compiled.SetInput(0, [0.0]);
        compiled.SetInput(1, [0.0]);
        var objective = new MiniBatchObjective<double>(compiled, [(2, x), (3, y)], batchSize, shuffle, seed);
        var trace = new List<(int, double, double, double)>();
        Minimizer.Run(objective, objective.CurrentParameters(), new Sgd<double>(2, 0.1), new StoppingRules(iterations),
            (in IterationState<double> s) => trace.Add((objective.Epoch, s.Value, s.Parameters[0], s.Parameters[1])));
        return trace;
    }

    [Fact]
    public void MiniBatchRunsWithTheSameSeedAreIdentical() =>
        Assert.Equal(MiniBatchTrace(32, true, 7), MiniBatchTrace(32, true, 7));

    [Fact]
    public void MiniBatchRunsWithAnotherSeedDiffer() =>
        Assert.NotEqual(MiniBatchTrace(32, true, 7), MiniBatchTrace(32, true, 8));

    [Fact]
    public void MiniBatchEpochsCountWholeBatches()
    {
        var trace = MiniBatchTrace(64, true, 1, iterations: 7);
        // 200 rows make 3 whole batches of 64 per epoch.
        Assert.Equal([1, 1, 1, 2, 2, 2, 3], trace.Select(t => t.Epoch));
    }

    [Fact]
    public void FullBatchEqualsBatchSizeEqualToTheRows()
    {
        var (x, y) = LabData();
        var objective = LabObjective(x, y);
        var full = new List<double>();
        Minimizer.Run(objective, objective.CurrentParameters(), new Sgd<double>(2, 0.1), new StoppingRules(60),
            (in IterationState<double> s) => full.Add(s.Value));
        Assert.Equal(full, MiniBatchTrace(200, false, 0).Select(t => t.Value));
    }
}
