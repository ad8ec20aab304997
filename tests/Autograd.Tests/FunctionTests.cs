using Autograd.Expressions;

namespace Autograd.Tests;

/// <summary>
/// The functions of issue 13 through formulas, against values worked out in advance: log1p, expm1 and erf near 0
/// (where .NET's LogP1 and ExpM1 lose digits and there is no Math.Erf), erf at tabulated points, PyTorch's clamp
/// convention at the bounds, a stable logsumexp, cumsum, diff, length and seq_along.
/// </summary>
public class FunctionTests
{
    static CompiledFormula<double> Compile(string text, double x = 0, double y = 0, double[]? v = null)
    {
        var compiled = CompiledFormula<double>.Compile(Formula.Parse(text),
        [
            InputSpec.Scalar("x", InputKind.Parameter),
            InputSpec.Scalar("y", InputKind.Parameter),
            InputSpec.Vector("v", InputKind.Parameter, 3),
            InputSpec.Vector("d", InputKind.Data, 3),
        ]);
        compiled.SetInput(0, [x]);
        compiled.SetInput(1, [y]);
        compiled.SetInput(2, v ?? [1, 2, 3]);
        compiled.SetInput(3, [0.5, -1.25, 2.0]);
        return compiled;
    }

    static void AssertUlps(double expected, double actual, int ulps = 2)
    {
        var tolerance = ulps * Math.Max(double.Epsilon, Math.BitIncrement(Math.Abs(expected)) - Math.Abs(expected));
        Assert.True(Math.Abs(expected - actual) <= tolerance, $"{actual:R}, expected {expected:R} to {ulps} ulps");
    }

    [Theory]
    // log(1 + x) = x - x²/2 + x³/3: at 1e-10 the true value is 9.9999999995e-11; .NET's LogP1 gives 1.000000082690371e-10.
    [InlineData("log1p(x)", 1e-10, 9.9999999995e-11)]
    [InlineData("log1p(x)", -1e-12, -1.0000000000005e-12)]
    [InlineData("log1p(x)", 3e-17, 3e-17)]
    [InlineData("expm1(x)", 1e-10, 1.00000000005e-10)]
    [InlineData("expm1(x)", -1e-12, -9.999999999995e-13)]
    [InlineData("expm1(x)", 3e-17, 3e-17)]
    [InlineData("erf(x)", 1e-10, 1.1283791670955126e-10)]
    [InlineData("erf(x)", -3e-17, -3.3851375012865378e-17)]
    // Tabulated values (Abramowitz and Stegun, table 7.1, to 16 digits).
    [InlineData("erf(x)", 0.5, 0.5204998778130465)]
    [InlineData("erf(x)", 1, 0.8427007929497149)]
    [InlineData("erf(x)", -1, -0.8427007929497149)]
    [InlineData("erf(x)", 2, 0.9953222650189527)]
    [InlineData("erf(x)", 3, 0.9999779095030014)]
    [InlineData("erf(x)", 4, 0.9999999845827421)]
    [InlineData("erf(x)", 7, 1.0)]
    public void AccurateNearZeroAndAtTabulatedPoints(string formula, double x, double expected) =>
        AssertUlps(expected, Compile(formula, x).Evaluate());

    [Fact]
    public void Float32Log1pAndExpm1KeepTheirDigitsNearZero()
    {
        Assert.Equal(9.99995e-6f, Num<float>.LogOnePlus(1e-5f), 1e-11f);
        Assert.Equal(1.000005e-5f, Num<float>.ExpMinusOne(1e-5f), 1e-11f);
    }

    [Theory]
    // PyTorch's clamp: at either bound the gradient goes to x; outside, to the bound.
    [InlineData(2.0, -1.0, 2.0, 1.0, 0.0)]
    [InlineData(-1.0, -1.0, -1.0, 1.0, 0.0)]
    [InlineData(3.0, -1.0, 2.0, 0.0, 0.0)]
    [InlineData(-3.0, -1.0, -1.0, 0.0, 1.0)]
    [InlineData(0.5, -1.0, 0.5, 1.0, 0.0)]
    public void ClampFollowsPyTorchAtTheBounds(double x, double lo, double value, double dx, double dlo)
    {
        var formula = Compile("clamp(x, y, 2)", x, lo);
        Assert.Equal(value, formula.EvaluateWithGradient());
        Assert.Equal(dx, formula.GradientOf(0)[0]);
        Assert.Equal(dlo, formula.GradientOf(1)[0]);
    }

    [Fact]
    public void LogSumExpIsStableFarFromZero()
    {
        // exp(1000) overflows; logsumexp(1000, 1000, 999) = 1000 + log(2 + 1/e), its gradient the softmax.
        var formula = Compile("logsumexp(v)", v: [1000, 1000, 999]);
        var total = 2 + Math.Exp(-1);
        Assert.Equal(1000 + Math.Log(total), formula.EvaluateWithGradient(), 1e-12);
        double[] softmax = [1 / total, 1 / total, Math.Exp(-1) / total];
        for (var i = 0; i < 3; i++) Assert.Equal(softmax[i], formula.GradientOf(2)[i], 1e-16);
        Assert.Equal(-1000 + Math.Log(3), Compile("logsumexp(v)", v: [-1000, -1000, -1000]).Evaluate(), 12);
    }

    [Fact]
    public void CumsumAndDiffAreRsAndTheirGradientsTheTransposes()
    {
        var cumsum = Compile("sum(cumsum(v) * d)", v: [1, 2, 3]);
        // cumsum(v) = (1, 3, 6); · (0.5, -1.25, 2) = 0.5 - 3.75 + 12.
        Assert.Equal(8.75, cumsum.EvaluateWithGradient());
        Assert.Equal([0.5 - 1.25 + 2, -1.25 + 2, 2], cumsum.GradientOf(2).ToArray());

        var diff = Compile("sum(diff(v)^2)", v: [1, 3, 2]);
        // diff(v) = (2, -1); the gradient of (v2 - v1)² + (v3 - v2)² is (-2·2, 2·2 + 2·1, -2·1).
        Assert.Equal(5, diff.EvaluateWithGradient());
        Assert.Equal([-4, 6, -2], diff.GradientOf(2).ToArray());
    }

    [Fact]
    public void LengthAndSeqAlongAreConstants()
    {
        var formula = Compile("length(d) * x + sum(seq_along(d) * d) + length(x)", 2);
        // 3·2 + (1·0.5 - 2·1.25 + 3·2) + 1.
        Assert.Equal(6 + 4 + 1, formula.EvaluateWithGradient());
        Assert.Equal(3, formula.GradientOf(0)[0]);
    }

    [Fact]
    public void Atan2KnowsItsQuadrantAndHypotItsScale()
    {
        var atan2 = Compile("atan2(y, x)", -1, 1);
        Assert.Equal(3 * Math.PI / 4, atan2.EvaluateWithGradient(), 15);
        Assert.Equal(-0.5, atan2.GradientOf(0)[0], 15);  // d/dx = -y / (x² + y²)
        Assert.Equal(-0.5, atan2.GradientOf(1)[0], 15);  // d/dy = x / (x² + y²)

        var hypot = Compile("hypot(x, y)", 3e200, 4e200);
        Assert.Equal(5e200, hypot.EvaluateWithGradient(), 1e188);
        Assert.Equal(0.6, hypot.GradientOf(0)[0], 15);
        Assert.Equal(0.8, hypot.GradientOf(1)[0], 15);
    }
}
