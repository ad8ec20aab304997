using Autograd.Expressions;

namespace Autograd.Tests;

/// <summary>
/// Every entry of the derivative table, one formula per op, checked against central finite differences
/// at several points away from kinks, plus the conventions the table documents at the kinks themselves.
/// </summary>
public class DerivativeTableTests
{
    const double Eps = 2.220446049250313e-16;

    // Parameters x, y (scalars) and v (3 elements) make the flat point [x, y, v1, v2, v3];
    // d is a data column and k a constant, neither differentiated.
    static readonly double[] D = [0.5, -1.25, 2.0];
    const double K = 3.0;

    static CompiledFormula<double> Compile(string text)
    {
        var compiled = CompiledFormula<double>.Compile(Formula.Parse(text),
        [
            InputSpec.Scalar("x", InputKind.Parameter),
            InputSpec.Scalar("y", InputKind.Parameter),
            InputSpec.Vector("v", InputKind.Parameter, 3),
            InputSpec.Vector("d", InputKind.Data, 3),
            InputSpec.Scalar("k", InputKind.Constant),
        ]);
        compiled.SetInput(3, D);
        compiled.SetInput(4, [K]);
        return compiled;
    }

    static readonly double[] AnyX = [-12.5, -2.3, -0.41, 1e-3, 0.37, 1.9, 7.25];
    static readonly double[] WideX = [-30, -2.3, -1e-3, 0.37, 1.9, 25];
    static readonly double[] PositiveX = [1e-3, 0.37, 1.9, 7.25, 250];
    static readonly (double X, double Y)[] Pairs = [(0.37, 1.9), (-2.3, 0.8), (7.25, -0.41), (1e-3, -12.5), (-1.1, -3.7)];
    static readonly (double X, double Y)[] PositiveBase = [(0.37, 1.9), (1.9, -2.3), (7.25, 0.5), (1e-3, 1.9), (2.5, -1.3), (0.8, 0)];
    // Distinct elements, and distinct from d and from y = 0.8 elementwise, so min and max have no ties.
    static readonly double[][] Vectors = [[0.3, -1.1, 2.4], [-2.3, 0.37, 1.9], [7.25, -12.5, 1e-3]];

    public static TheoryData<string, double[]> EveryOp()
    {
        var data = new TheoryData<string, double[]>();
        void Scalar(string formula, double[] xs)
        {
            foreach (var x in xs) data.Add(formula, [x, 0.8, 0.3, -1.1, 2.4]);
        }
        void Pair(string formula, (double X, double Y)[] pairs)
        {
            foreach (var (x, y) in pairs) data.Add(formula, [x, y, 0.3, -1.1, 2.4]);
        }
        void Vector(string formula)
        {
            foreach (var v in Vectors) data.Add(formula, [1.7, 0.8, .. v]);
        }

        foreach (var f in new[] { "exp(x)", "tanh(x)", "sigmoid(x)", "softplus(x)" }) Scalar(f, WideX);
        foreach (var f in new[] { "abs(x)", "sin(x)", "cos(x)", "tan(x)", "relu(x)", "square(x)", "-x" }) Scalar(f, AnyX);
        foreach (var f in new[] { "log(x)", "sqrt(x)" }) Scalar(f, PositiveX);

        // x ^ c for a literal c: one PowConstant node; integer c at negative x too.
        foreach (var f in new[] { "x^2", "x^3", "x^-1", "x ** 3", "pow(x, 2)", "x ^ k" }) Scalar(f, AnyX);
        Scalar("x^0.5", PositiveX);
        // c ^ x for a literal or named constant base.
        foreach (var f in new[] { "2^x", "0.5^x", "e^x" }) Scalar(f, AnyX);

        foreach (var f in new[] { "x + y", "x - y", "x * y", "x / y", "min(x, y)", "max(x, y)" }) Pair(f, Pairs);
        foreach (var f in new[] { "x ^ y", "pow(x, y)" }) Pair(f, PositiveBase);

        foreach (var f in new[] { "min(v)", "max(v)", "sum(v)", "mean(v)", "dot(v, d)", "dot(v, v)", "v[2]", "-v[3]", "v[1] * v[3]" })
            Vector(f);
        // Elementwise ops on vectors, and a scalar parameter broadcast against a vector.
        foreach (var f in new[] { "sum(sin(v) * d)", "sum(v * x)", "sum(y - v)", "sum(min(v, y))", "sum(max(d, v))", "dot(v + x, d)", "mean(x / (1 + square(v)))" })
            Vector(f);
        return data;
    }

    [Theory]
    [MemberData(nameof(EveryOp))]
    public void GradientOfEveryOpMatchesCentralDifferences(string formula, double[] point)
    {
        var compiled = Compile(formula);
        var gradient = Probe.GradientAt(compiled, point);
        var value = compiled.Value;
        Assert.True(double.IsFinite(value), $"{formula} = {value}");
        var scale = Math.Abs(value) + Probe.RoundingScale(compiled.Tape);

        for (var j = 0; j < point.Length; j++)
        {
            var h = 1e-6 * Math.Max(Math.Abs(point[j]), 1e-2);
            var fd = Probe.Central(compiled, point, j, h, Probe.ValueOnly)[0];
            var tolerance = 1e-6 * Math.Abs(fd) + 64 * Eps * (1 + scale) / h;
            Assert.True(Math.Abs(gradient[j] - fd) <= tolerance,
                $"{formula} at {Probe.Show(point)}: d/dp{j} = {gradient[j]:R}, finite difference {fd:R} (tolerance {tolerance:G3})");
        }
    }

    [Theory]
    [MemberData(nameof(EveryOp))]
    public void HessianOfEveryOpMatchesCentralDifferencesOfTheGradient(string formula, double[] point)
    {
        var compiled = Compile(formula);
        Probe.SetParameters(compiled, point);
        var hessian = Probe.Hessian(compiled);
        var gradient = Probe.Gradient(compiled);
        var scale = Math.Abs(compiled.Value) + gradient.Sum(Math.Abs) + Probe.RoundingScale(compiled.Tape);

        for (var j = 0; j < point.Length; j++)
        {
            var h = 1e-5 * Math.Max(Math.Abs(point[j]), 1e-2);
            var column = Probe.Central(compiled, point, j, h, Probe.Gradient);
            for (var i = 0; i < point.Length; i++)
            {
                var tolerance = 1e-5 * Math.Abs(column[i]) + 1e3 * Eps * (1 + scale + Math.Abs(hessian[i, j])) / h;
                Assert.True(Math.Abs(hessian[i, j] - column[i]) <= tolerance,
                    $"{formula} at {Probe.Show(point)}: H[{i},{j}] = {hessian[i, j]:R}, finite difference {column[i]:R} (tolerance {tolerance:G3})");
            }
        }
    }

    // ----- Conventions at the kinks, exactly -----

    static double[] GradientAt(string formula, double[] point) => Probe.GradientAt(Compile(formula), point);

    [Fact]
    public void AbsHasSlopeZeroAtZero()
    {
        Assert.Equal([0.0, 0, 0, 0, 0], GradientAt("abs(x)", [0, 1, 1, 2, 3]));
        Assert.Equal([0.0, 0, 0, 0, 0], GradientAt("abs(x)", [-0.0, 1, 1, 2, 3]));
        Assert.Equal([0.0, 0, 0, 0, 0], GradientAt("sum(abs(v))", [1, 1, 0, 0, 0]));
    }

    [Fact]
    public void ReluHasSlopeZeroAtZero()
    {
        Assert.Equal([0.0, 0, 0, 0, 0], GradientAt("relu(x)", [0, 1, 1, 2, 3]));
        Assert.Equal([0.0, 0, 0, 1, 0], GradientAt("sum(relu(v))", [1, 1, 0, 2, -3]));
    }

    [Fact]
    public void MinAndMaxOfTwoEqualInputsSendHalfTheGradientToEach()
    {
        Assert.Equal([0.5, 0.5, 0, 0, 0], GradientAt("min(x, y)", [1.5, 1.5, 0, 0, 0]));
        Assert.Equal([0.5, 0.5, 0, 0, 0], GradientAt("max(x, y)", [1.5, 1.5, 0, 0, 0]));
        // Elementwise with a broadcast scalar: each tie sends half to the scalar.
        Assert.Equal([2.0, 0, 0.5, 0, 0.5], GradientAt("sum(max(v, x))", [2, 0, 2, -1, 2]));
        Assert.Equal([2.0, 0, 0.5, 0, 0.5], GradientAt("sum(min(x, v))", [2, 0, 2, 3, 2]));
    }

    [Fact]
    public void MinAndMaxOfAVectorShareTheGradientEvenlyAmongTies()
    {
        Assert.Equal([0.0, 0, 0.5, 0.5, 0], GradientAt("max(v)", [0, 0, 2, 2, 1]));
        Assert.Equal([0.0, 0, 0.5, 0, 0.5], GradientAt("min(v)", [0, 0, -4, 2, -4]));
        var third = 1.0 / 3;
        Assert.Equal([0.0, 0, third, third, third], GradientAt("max(v)", [0, 0, 7, 7, 7]));
        Assert.Equal([0.0, 0, third, third, third], GradientAt("min(v)", [0, 0, 7, 7, 7]));
        Assert.Equal([0.0, 0, 0, 1, 0], GradientAt("max(v)", [0, 0, 1, 3, 2]));
    }

    [Fact]
    public void IntegerConstantExponentNeverTakesTheLogOfANegativeBase()
    {
        var compiled = Compile("x^2");
        Probe.SetParameters(compiled, [-3, 0, 0, 0, 0]);
        Assert.Equal(9.0, compiled.EvaluateWithGradient());
        Assert.Equal(-6.0, compiled.GradientOf(0)[0]);
        Assert.Equal(2.0, Probe.Hessian(compiled)[0, 0]);

        Assert.Equal([12.0, 0, 0, 0, 0], GradientAt("x^3", [-2, 0, 0, 0, 0]));
        Assert.Equal([-0.25, 0, 0, 0, 0], GradientAt("x^-1", [-2, 0, 0, 0, 0]));
        // A named constant exponent is a tape node that does not require grad: still no log of x.
        Assert.Equal([27.0, 0, 0, 0, 0], GradientAt("x ^ k", [-3, 0, 0, 0, 0]));
        var named = Compile("x ^ k");
        Probe.SetParameters(named, [-3, 0, 0, 0, 0]);
        Assert.Equal(-18.0, Probe.Hessian(named)[0, 0]);
    }

    [Fact]
    public void PowerWithZeroBaseHasZeroSlopeInTheExponent()
    {
        var compiled = Compile("x ^ y");
        Probe.SetParameters(compiled, [0, 2, 0, 0, 0]);
        Assert.Equal(0.0, compiled.EvaluateWithGradient());
        Assert.Equal(0.0, compiled.GradientOf(0)[0]);
        Assert.Equal(0.0, compiled.GradientOf(1)[0]);

        // d/dx is 0 where y == 0, even at x == 0 where y * x^(y-1) would be 0 * inf.
        Assert.Equal([0.0, 0, 0, 0, 0], GradientAt("x ^ y", [0, 0, 0, 0, 0]));
        Assert.Equal([0.0, Math.Log(2.5), 0, 0, 0], GradientAt("x ^ y", [2.5, 0, 0, 0, 0]));
    }

    [Fact]
    public void SoftplusKeepsItsRelativeAccuracyFarBelowZero()
    {
        // softplus(x) = log1p(e^x) = e^x - e^2x/2 + e^3x/3 - ..., to double precision at these x.
        static double Reference(double x)
        {
            var e = Math.Exp(x);
            return e - e * e / 2 + e * e * e / 3;
        }
        foreach (var x in new[] { -10.0, -17, -30, -40, -200 })
        {
            var value = Tensor<double>.Scalar(x).Softplus().Item();
            Assert.True(Math.Abs(value - Reference(x)) <= 1e-12 * Reference(x), $"softplus({x}) = {value:R}, expected {Reference(x):R}");
        }
        foreach (var x in new[] { -10f, -17f, -20f })
        {
            var value = Tensor<float>.Scalar(x).Softplus().Item();
            Assert.True(Math.Abs(value - Reference(x)) <= 1e-6 * Reference(x), $"float softplus({x}) = {value:R}, expected {Reference(x):R}");
        }
    }

    [Fact]
    public void ScalarParameterAddedToADataColumnGetsTheSumOfTheElementGradients()
    {
        var compiled = CompiledFormula<double>.Compile(Formula.Parse("sum((b + d)^2)"),
        [
            InputSpec.Scalar("b", InputKind.Parameter),
            InputSpec.Vector("d", InputKind.Data, 4),
        ]);
        compiled.SetInput(0, [0.25]);
        compiled.SetInput(1, [1.0, -2.0, 3.5, 0.5]);
        var value = compiled.EvaluateWithGradient();
        Assert.Equal(1.5625 + 3.0625 + 14.0625 + 0.5625, value, 12);
        Assert.Equal(2 * (1.25 - 1.75 + 3.75 + 0.75), compiled.GradientOf(0)[0], 12);
        Assert.True(compiled.GradientOf(1).IsEmpty);

        var plain = CompiledFormula<double>.Compile(Formula.Parse("sum(b + d)"),
            [InputSpec.Scalar("b", InputKind.Parameter), InputSpec.Vector("d", InputKind.Data, 4)]);
        plain.SetInput(1, [1.0, -2.0, 3.5, 0.5]);
        plain.EvaluateWithGradient();
        Assert.Equal(4.0, plain.GradientOf(0)[0]);
    }

    [Fact]
    public void ScalarTensorBroadcastAgainstAVectorGetsTheSumOfTheElementGradients()
    {
        var b = Tensor<double>.Scalar(0.25, requiresGrad: true);
        var d = Tensor<double>.Vector([1.0, -2.0, 3.5, 0.5]);
        var loss = (b + d).Square().Sum();
        loss.Backward();
        Assert.True(b.Grad!.IsScalar);
        Assert.Equal(2 * (1.25 - 1.75 + 3.75 + 0.75), b.Grad.Item(), 12);

        var w = Tensor<double>.Vector([1.0, 2.0, 3.0], requiresGrad: true);
        var c = Tensor<double>.Scalar(2.0, requiresGrad: true);
        (w * c).Sum().Backward();
        Assert.Equal([2.0, 2.0, 2.0], w.Grad!.ToArray());
        Assert.Equal(6.0, c.Grad!.Item());
    }
}
