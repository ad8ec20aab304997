using Autograd.Expressions;

namespace Autograd.Tests;

/// <summary>The chunked, fused replay of long vectors gives what the plain sweeps give.</summary>
public class FusedReplayTests
{
    // 5,003 rows run on one thread; 300,007 rows split between two.
    public static TheoryData<string, int> Cases()
    {
        var cases = new TheoryData<string, int>();
        foreach (var formula in Formulas) { cases.Add(formula, 5003); cases.Add(formula, 300_007); }
        return cases;
    }

    static string[] Formulas =>
    [
        "sum((w - x)^2 * (1 + 0.1*sin(w)))",
        "mean(abs(y - (b0 + b1*x)) + softplus(-2*abs(y - (b0 + b1*x))) - log(2))",
        "mean(softplus(b0 + b1*x) - y*(b0 + b1*x)) + b0^2 / sum(y)",
        "dot(w, x) / 5000 + sqrt(mean(exp(-x*b1)))*b0",
        "sum(w * w) + max(b0, b1) * mean(y)",
        .. ArithmeticOnly,
    ];

    /// <summary>Arithmetic only, the reduction last: these compile to a loop over rows.</summary>
    static readonly string[] ArithmeticOnly =
    [
        "mean((y - (b0 + b1*x))^2)",
        "mean(abs(w - x) + relu(b0 - y) * max(x, b1) - min(-w, y / (1 + x)))",
        "dot(w - x, y * b1 - w)",
        "sum(b0 * x + 0 * w)",
        "sum(w * w)",
        "mean(0.5*min(abs(y - (b0 + b1*x)), 0.3)^2 + 0.3*(abs(y - (b0 + b1*x)) - min(abs(y - (b0 + b1*x)), 0.3)))",
    ];

    /// <summary>Chains of arithmetic always; with AVX-512 also chains with sin, cos or sqrt (the vector row loop).</summary>
    static bool CompilesToARowLoop(string text) =>
        ArithmeticOnly.Contains(text) || (VectorRowSweep<double>.IsSupported && text == "sum((w - x)^2 * (1 + 0.1*sin(w)))");

    [Fact]
    public void ChainsOfArithmeticCompileToARowLoopAndOthersDoNot()
    {
        CompiledFormula<double> Compile(string text)
        {
            var compiled = CompiledFormula<double>.Compile(Formula.Parse(text),
                [InputSpec.Scalar("b", InputKind.Parameter), InputSpec.Vector("x", InputKind.Data, 5000)]);
            compiled.BindInput(1, Enumerable.Range(0, 5000).Select(i => i / 5000.0).ToArray());
            return compiled;
        }
        Assert.True(Compile("mean((x - b)^2)").CompileRowSweep());
        // x + x + ... - b over k terms is k lanes: k - 1 adds and a subtraction.
        string Lanes(int k) => "sum(" + string.Join(" + ", Enumerable.Repeat("x", k)) + " - b)";
        Assert.True(Compile(Lanes(CompiledRowSweep<double>.MaxLanes)).CompileRowSweep());
        Assert.False(Compile(Lanes(CompiledRowSweep<double>.MaxLanes + 1)).CompileRowSweep());
        // Sin, cos, sqrt, exp and log compile to the vector row loop (AVX-512 only); other transcendental ops never do.
        Assert.Equal(VectorRowSweep<double>.IsSupported, Compile("mean(sin(x - b))").CompileRowSweep());
        Assert.Equal(VectorRowSweep<double>.IsSupported, Compile("mean(sqrt(x) * x - cos(b*x))").CompileRowSweep());
        Assert.Equal(VectorRowSweep<double>.IsSupported, Compile("mean(log(1 + exp(x - b)))").CompileRowSweep());
        Assert.False(Compile("mean(softplus(x - b))").CompileRowSweep());
        Assert.False(Compile("mean(tanh(x - b))").CompileRowSweep());
        Assert.False(Compile("mean(x - b) * sum(x)").CompileRowSweep());
    }

    [Fact]
    public void AFitSwitchesToTheRowLoopAtTheSameIterationEveryRun()
    {
        // Compiling happens on the caller's thread after a fixed number of rows, so reruns agree to the bit.
        double[] Run()
        {
            var compiled = CompiledFormula<double>.Compile(Formula.Parse("mean((y - (b0 + b1*x))^2)"),
            [
                InputSpec.Scalar("b0", InputKind.Parameter), InputSpec.Scalar("b1", InputKind.Parameter),
                InputSpec.Vector("x", InputKind.Data, 300_007), InputSpec.Vector("y", InputKind.Data, 300_007),
            ]);
            var random = new Random(5);
            var x = Enumerable.Range(0, 300_007).Select(_ => random.NextDouble() * 2).ToArray();
            compiled.BindInput(2, x);
            compiled.BindInput(3, x.Select(v => 1 + v + 0.25 * (random.NextDouble() - 0.5)).ToArray());
            var objective = new Autograd.Optimization.FormulaObjective<double>(compiled);
            var losses = new List<double>();
            Autograd.Optimization.Minimizer.Run(objective, [0.0, 0.0], new Autograd.Optimization.Sgd<double>(2, 0.1),
                new Autograd.Optimization.StoppingRules(40), (in Autograd.Optimization.IterationState<double> s) => losses.Add(s.Value));
            Assert.True(compiled.Tape.IsRowSweepCompiled);
            return [.. losses];
        }
        Assert.Equal(Run(), Run());
    }

    [Fact]
    public void APooledFormulaStartsOverOnTheChunkKernels()
    {
        // Otherwise a rerun served by a copy that had already switched would round differently from the first run.
        var cache = new FormulaCache();
        InputSpec[] specs = [InputSpec.Scalar("b", InputKind.Parameter), InputSpec.Vector("x", InputKind.Data, 5000)];
        var first = cache.Rent<double>("sum((x - b)^2)", specs, FormulaLimits.Default);
        first.SetInput(1, Enumerable.Range(0, 5000).Select(i => i / 5000.0).ToArray());
        // 4,194,304 rows replayed switch it on: the 839th replay of 5,000 rows.
        for (var replay = 1; replay <= 838; replay++) first.EvaluateWithGradientFused();
        Assert.False(first.Tape.IsRowSweepCompiled);
        first.EvaluateWithGradientFused();
        Assert.True(first.Tape.IsRowSweepCompiled);
        cache.Return(first);
        var again = cache.Rent<double>("sum((x - b)^2)", specs, FormulaLimits.Default);
        Assert.Same(first, again);
        Assert.False(again.Tape.IsRowSweepCompiled);
        // The count of rows starts over too, not just the compiled loop.
        again.EvaluateWithGradientFused();
        Assert.False(again.Tape.IsRowSweepCompiled);
    }

    /// <summary>
    /// On one thread the compiled row loop reuses its worker's sums of scalar adjoints without clearing them: replays
    /// after the chunk kernels have run, and at other parameters, must still give what the plain sweeps give. Data on a
    /// grid of quarters, so that every sum is exact and the two agree to the bit; c is a parameter the formula never
    /// reads (its gradient is 0), b0*b0 a scalar step before the rows.
    /// </summary>
    [Theory]
    [InlineData(256)]
    [InlineData(1003)]
    public void TheRowLoopOnOneThreadAgreesWithThePlainSweepsOnEveryReplay(int n)
    {
        var x = Enumerable.Range(0, n).Select(i => (i % 13 - 6) / 4.0).ToArray();
        var w = Enumerable.Range(0, n).Select(i => (i % 7 - 3) / 4.0).ToArray();
        CompiledFormula<double> Compile()
        {
            var compiled = CompiledFormula<double>.Compile(Formula.Parse("sum((w - (b0*b0 + b0*x))^2 + relu(x - b0) * w)"),
            [
                InputSpec.Scalar("b0", InputKind.Parameter), InputSpec.Scalar("c", InputKind.Parameter),
                InputSpec.Vector("w", InputKind.Parameter, n), InputSpec.Vector("x", InputKind.Data, n),
            ]);
            compiled.SetInput(1, [3.0]);
            compiled.SetInput(3, x);
            return compiled;
        }
        var plain = Compile();
        var fused = Compile();
        (double B0, double Shift)[] points = [(0.5, 0), (0.5, 0.25), (-0.25, 0.5), (1.5, -0.75), (1.5, -0.75)];
        for (var replay = 0; replay < points.Length; replay++)
        {
            // The first two replays run the chunk kernels, the others the row loop.
            if (replay == 2) Assert.True(fused.CompileRowSweep());
            var (b0, shift) = points[replay];
            foreach (var formula in new[] { plain, fused })
            {
                formula.SetInput(0, [b0]);
                formula.SetInput(2, w.Select(v => v + shift).ToArray());
            }
            var expected = plain.EvaluateWithGradient();
            Assert.Equal(BitConverter.DoubleToInt64Bits(expected), BitConverter.DoubleToInt64Bits(fused.EvaluateWithGradientFused()));
            for (var slot = 0; slot < 3; slot++)
                Assert.True(plain.GradientOf(slot).SequenceEqual(fused.GradientOf(slot)), $"replay {replay}: the gradient of input {slot} differs");
            Assert.Equal(0.0, fused.GradientOf(1)[0]);
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void FusedReplayMatchesThePlainSweeps(string text, int n)
    {
        var random = new Random(11);
        var x = Enumerable.Range(0, n).Select(_ => random.NextDouble() * 2).ToArray();
        var y = x.Select(v => 1 + v + 0.3 * (random.NextDouble() - 0.5)).ToArray();
        var w = Enumerable.Range(0, n).Select(_ => random.NextDouble() - 0.5).ToArray();
        CompiledFormula<double> Compile()
        {
            var compiled = CompiledFormula<double>.Compile(Formula.Parse(text),
            [
                InputSpec.Scalar("b0", InputKind.Parameter), InputSpec.Scalar("b1", InputKind.Parameter),
                InputSpec.Vector("w", InputKind.Parameter, n),
                InputSpec.Vector("x", InputKind.Data, n), InputSpec.Vector("y", InputKind.Data, n),
            ]);
            compiled.SetInput(0, [0.3]);
            compiled.SetInput(1, [0.7]);
            compiled.SetInput(2, w);
            compiled.SetInput(3, x);
            compiled.SetInput(4, y);
            return compiled;
        }

        var plain = Compile();
        var fused = Compile();
        var expected = plain.EvaluateWithGradient();
        for (var repeat = 0; repeat < 4; repeat++)
        {
            // The last two rounds run the compiled loop over rows, where the tape's ops allow one.
            if (repeat == 2) Assert.Equal(CompilesToARowLoop(text), fused.CompileRowSweep());
            Close(expected, fused.EvaluateWithGradientFused(), n);
            for (var slot = 0; slot < 3; slot++)
            {
                var a = plain.GradientOf(slot).ToArray();
                var b = fused.GradientOf(slot).ToArray();
                for (var i = 0; i < a.Length; i++) Close(a[i], b[i], n);
            }
        }
    }

    // Chunks and threads change the order of summation, so agreement is to the rounding of a sum of n terms.
    static void Close(double expected, double actual, int n) =>
        Assert.True(Math.Abs(expected - actual) <= Math.Max(1e-12, 1e-15 * n) * Math.Max(1, Math.Abs(expected)), $"expected {expected:R}, got {actual:R}");
}
