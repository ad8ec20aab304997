using Autograd.Expressions;

namespace Autograd.Tests;

/// <summary>
/// Long vectors take the slopes of sin and cos from the engine's vectorised SinCos rather than Math.Cos and Math.Sin
/// element by element: the same formula, agreeing with the scalar library to a couple of ulps, and the same bits on
/// every rerun.
/// </summary>
public class VectorTranscendentalTests
{
    static double[] Points(int n)
    {
        var random = new Random(5);
        // Wide enough to go through argument reduction several times, and exact multiples of pi/2's neighbourhood.
        return Enumerable.Range(0, n).Select(i => i % 97 == 0 ? i * Math.PI / 194 : (random.NextDouble() - 0.5) * 40).ToArray();
    }

    static CompiledFormula<double> Compile(string text, double[] w)
    {
        var compiled = CompiledFormula<double>.Compile(Formula.Parse(text), [InputSpec.Vector("w", InputKind.Parameter, w.Length)]);
        compiled.SetInput(0, w);
        return compiled;
    }

    [Theory]
    [InlineData("sum(sin(w))", 200)]
    [InlineData("sum(sin(w))", 5_003)]
    [InlineData("sum(cos(w))", 200)]
    [InlineData("sum(cos(w))", 5_003)]
    [InlineData("sum(cos(w))", 40_001)]
    public void TheSlopesOfSinAndCosAgreeWithTheScalarLibrary(string text, int n)
    {
        var w = Points(n);
        var formula = Compile(text, w);
        foreach (var fused in new[] { false, true })
        {
            if (fused) formula.EvaluateWithGradientFused(); else formula.EvaluateWithGradient();
            var gradient = formula.GradientOf(0);
            for (var i = 0; i < n; i++)
            {
                var expected = text.Contains("sin") ? Math.Cos(w[i]) : -Math.Sin(w[i]);
                // Two ulps of the larger of the result and 1e-16 (a slope near a zero of cos is an absolute error).
                var tolerance = 2 * Math.Max(Math.BitIncrement(Math.Abs(expected)) - Math.Abs(expected), 1e-16 * 2);
                Assert.True(Math.Abs(gradient[i] - expected) <= tolerance, $"w = {w[i]:R}: {gradient[i]:R}, Math gives {expected:R}");
            }
        }
    }

    [Theory]
    [InlineData(1_000)]
    [InlineData(40_001)]   // two threads for a chain with sin
    [InlineData(300_007)]
    public void ManyParametersIsRightAndTheSameOnEveryRerun(int n)
    {
        var w = Points(n);
        var random = new Random(3);
        var c = Enumerable.Range(0, n).Select(_ => random.NextDouble()).ToArray();
        var formula = CompiledFormula<double>.Compile(Formula.Parse("sum((w - c)^2 * (1 + 0.1*sin(w)))"),
            [InputSpec.Vector("w", InputKind.Parameter, n), InputSpec.Vector("c", InputKind.Data, n)]);
        formula.SetInput(0, w);
        formula.BindInput(1, c);
        var first = formula.EvaluateWithGradientFused();
        var firstGradient = formula.GradientOf(0).ToArray();
        // The closed form's sum compensated (Kahan), so that the tolerance is about the engine's rounding alone.
        double expected = 0.0, lost = 0.0;
        for (var i = 0; i < n; i++)
        {
            var d = w[i] - c[i];
            var term = d * d * (1 + 0.1 * Math.Sin(w[i])) - lost;
            var next = expected + term;
            lost = next - expected - term;
            expected = next;
            var slope = 2 * d * (1 + 0.1 * Math.Sin(w[i])) + 0.1 * d * d * Math.Cos(w[i]);
            Assert.True(Math.Abs(firstGradient[i] - slope) <= 1e-13 * Math.Max(1, Math.Abs(slope)), $"d/dw[{i}] = {firstGradient[i]:R}, closed form {slope:R}");
        }
        Assert.True(Math.Abs(first - expected) <= 1e-12 * Math.Abs(expected), $"value {first:R}, closed form {expected:R}");
        // Elementwise, the gradient does not depend on how rows are split or summed: the same bits on every rerun.
        for (var rerun = 0; rerun < 5; rerun++)
        {
            var value = formula.EvaluateWithGradientFused();
            Assert.True(Math.Abs(value - expected) <= 1e-12 * Math.Abs(expected), $"rerun {rerun}: value {value:R}, closed form {expected:R}");
            Assert.True(firstGradient.AsSpan().SequenceEqual(formula.GradientOf(0)), $"rerun {rerun}: the gradient changed");
        }
    }
}
