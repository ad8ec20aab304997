using Autograd.Expressions;

namespace Autograd.Tests;

/// <summary>CompiledFormula.Hessian (forward-over-reverse) against differences of the gradient and against closed forms.</summary>
public class HessianTests
{
    const double Eps = 2.220446049250313e-16;

    // Flat parameter order: x, y, v1, v2, v3; d is a data column.
    static CompiledFormula<double> Compile(string text)
    {
        var compiled = CompiledFormula<double>.Compile(Formula.Parse(text),
        [
            InputSpec.Scalar("x", InputKind.Parameter),
            InputSpec.Vector("d", InputKind.Data, 3),
            InputSpec.Scalar("y", InputKind.Parameter),
            InputSpec.Vector("v", InputKind.Parameter, 3),
        ]);
        compiled.SetInput(1, [0.5, -1.25, 2.0]);
        return compiled;
    }

    public static TheoryData<string, double[]> Formulas() => new()
    {
        // Scalars only.
        { "exp(x) * sin(y) + log(1 + x^2) * cos(x*y)", [0.7, -1.3, 0, 0, 0] },
        { "exp(x) * sin(y) + log(1 + x^2) * cos(x*y)", [-1.9, 0.4, 0, 0, 0] },
        { "tan(x/3) + tanh(x*y) + sigmoid(x - y) + softplus(x*y) + sqrt(1 + y^2) + abs(x) * y + relu(y) * x^3", [0.7, 1.3, 0, 0, 0] },
        { "tan(x/3) + tanh(x*y) + sigmoid(x - y) + softplus(x*y) + sqrt(1 + y^2) + abs(x) * y + relu(y) * x^3", [-1.9, -0.4, 0, 0, 0] },
        { "x^y + 2^x + pow(y, 2.5) + x / (1 + square(y)) + x^-1 + min(x, y)^2 * max(x, y) - -x * y", [0.7, 1.3, 0, 0, 0] },
        { "x^y + 2^x + pow(y, 2.5) + x / (1 + square(y)) + x^-1 + min(x, y)^2 * max(x, y) - -x * y", [2.2, 0.45, 0, 0, 0] },
        { "y / x + x / y + (x*y) ^ (x/y)", [1.3, 0.6, 0, 0, 0] },
        // A vector parameter only.
        { "dot(v, v) * v[2] + sum(exp(v / 2)) + mean(sin(v)) + v[1] * v[3]^2 + max(v) * min(v) + log(sum(square(v)))", [0, 0, 0.3, -1.1, 2.4] },
        { "dot(v, v) * v[2] + sum(exp(v / 2)) + mean(sin(v)) + v[1] * v[3]^2 + max(v) * min(v) + log(sum(square(v)))", [0, 0, -2.3, 0.37, 1.9] },
        { "sum(tanh(v) * cos(v)) + sum(sqrt(1 + v^2)) / mean(sigmoid(v))", [0, 0, 0.3, -1.1, 2.4] },
        // Scalars and a vector together, broadcast against each other and a data column.
        { "sum((v - x)^2 * d) + min(v[1], x) * max(y, v[3]) + dot(v, d)^2 / (1 + y^2) + sum(softplus(v * y)) * x", [0.7, -1.3, 0.3, -1.1, 2.4] },
        { "sum((v - x)^2 * d) + min(v[1], x) * max(y, v[3]) + dot(v, d)^2 / (1 + y^2) + sum(softplus(v * y)) * x", [-0.4, 2.9, -2.3, 0.37, 1.9] },
        { "dot(exp(v * x), d / (1 + y^2)) + sum(x ^ v) * y + mean(2 ^ (v * y)) - max(v * x) * sum(relu(v + y))", [1.3, 0.45, 0.3, -1.1, 2.4] },
    };

    [Theory]
    [MemberData(nameof(Formulas))]
    public void HessianMatchesCentralDifferencesOfTheGradient(string formula, double[] point)
    {
        var compiled = Compile(formula);
        Assert.Equal(5, compiled.ParameterCount);
        Probe.SetParameters(compiled, point);
        var hessian = Probe.Hessian(compiled);
        var gradient = Probe.Gradient(compiled);
        var scale = Math.Abs(compiled.Value) + gradient.Sum(Math.Abs) + Probe.RoundingScale(compiled.Tape);

        for (var j = 0; j < point.Length; j++)
        {
            var h = 1e-5 * Math.Max(Math.Abs(point[j]), 0.1);
            var column = Probe.Central(compiled, point, j, h, Probe.Gradient);
            for (var i = 0; i < point.Length; i++)
            {
                var tolerance = 1e-5 * Math.Abs(column[i]) + 1e3 * Eps * (1 + scale) / h;
                Assert.True(Math.Abs(hessian[i, j] - column[i]) <= tolerance,
                    $"{formula} at {Probe.Show(point)}: H[{i},{j}] = {hessian[i, j]:R}, finite difference {column[i]:R} (tolerance {tolerance:G3})");
                Assert.True(Math.Abs(hessian[i, j] - hessian[j, i]) <= 1e-12 * (1 + Math.Abs(hessian[i, j])),
                    $"{formula}: H[{i},{j}] = {hessian[i, j]:R} but H[{j},{i}] = {hessian[j, i]:R}");
            }
        }
    }

    [Theory]
    [InlineData(2.0, 2.0)]
    [InlineData(-1.3, 0.7)]
    [InlineData(0.0, 1e6)]
    public void ParaboloidHasAConstantDiagonalHessian(double x1, double x2)
    {
        var compiled = CompiledFormula<double>.Compile(Formula.Parse("0.2*x1^2+0.2*x2^2-5"),
            [InputSpec.Scalar("x1", InputKind.Parameter), InputSpec.Scalar("x2", InputKind.Parameter)]);
        compiled.SetInput(0, [x1]);
        compiled.SetInput(1, [x2]);
        var hessian = new double[4];
        compiled.Hessian(hessian);
        Assert.Equal([0.4, 0.0, 0.0, 0.4], hessian);
    }

    [Theory]
    [InlineData(-1.0, 1.0, 1.0, 5.0)]
    [InlineData(0.3, -0.7, 1.0, 5.0)]
    [InlineData(1.5, 2.25, 2.0, 100.0)]
    public void RosenbrockHessianMatchesItsClosedForm(double x1, double x2, double a, double b)
    {
        var compiled = CompiledFormula<double>.Compile(Formula.Parse("(a - x[1])^2 + b*(x[2] - x[1]^2)^2"),
        [
            InputSpec.Vector("x", InputKind.Parameter, 2),
            InputSpec.Scalar("a", InputKind.Constant),
            InputSpec.Scalar("b", InputKind.Constant),
        ]);
        compiled.SetInput(0, [x1, x2]);
        compiled.SetInput(1, [a]);
        compiled.SetInput(2, [b]);
        var hessian = new double[4];
        compiled.Hessian(hessian);

        double[] expected =
        [
            2 - 4 * b * (x2 - x1 * x1) + 8 * b * x1 * x1, -4 * b * x1,
            -4 * b * x1, 2 * b,
        ];
        for (var i = 0; i < 4; i++)
            Assert.True(Math.Abs(expected[i] - hessian[i]) <= 1e-12 * (1 + Math.Abs(expected[i])),
                $"H[{i / 2},{i % 2}] = {hessian[i]:R}, expected {expected[i]:R}");

        // At the tutorial's starting point the figures are whole numbers.
        if (x1 == -1 && x2 == 1 && a == 1 && b == 5) Assert.Equal([42.0, 20.0, 20.0, 10.0], hessian);
    }

    [Fact]
    public void HessianLeavesTheValueAndGradientAsEvaluateWithGradientDoes()
    {
        var compiled = Compile("exp(x) * sin(y) + dot(v, v) * x");
        Probe.SetParameters(compiled, [0.7, -1.3, 0.3, -1.1, 2.4]);
        var value = compiled.EvaluateWithGradient();
        var gradient = Probe.Gradient(compiled);

        Probe.SetParameters(compiled, [0.1, 0.2, 0.3, 0.4, 0.5]);
        compiled.EvaluateWithGradient();
        Probe.SetParameters(compiled, [0.7, -1.3, 0.3, -1.1, 2.4]);
        compiled.Hessian(new double[25]);

        Assert.Equal(value, compiled.Value);
        var after = Probe.ParameterSlots(compiled).SelectMany(slot => compiled.GradientOf(slot).ToArray()).ToArray();
        Assert.Equal(gradient, after);
    }

    [Fact]
    public void HessianWithoutParametersIsEmptyAndStillEvaluates()
    {
        var compiled = CompiledFormula<double>.Compile(Formula.Parse("sum(d) * 2"), [InputSpec.Vector("d", InputKind.Data, 2)]);
        compiled.SetInput(0, [1.5, 2.0]);
        Assert.Equal(0, compiled.ParameterCount);
        compiled.Hessian(Span<double>.Empty);
        Assert.Equal(7.0, compiled.Value);
        Assert.Throws<ArgumentException>(() => compiled.Hessian(new double[1]));
    }

    [Fact]
    public void TapeHessianVectorProductGivesHTimesAnArbitraryDirection()
    {
        // f(a, b, s) = a² b + sin(a) b³ + s·b, with p = (a, b) a vector parameter, s a scalar parameter and c a constant.
        var tape = new Tape<double>();
        const double a = 0.7, b = -1.3, s = 2.1, c = 4.0;
        var p = tape.AddInput([a, b], isScalar: false, requiresGrad: true, name: "p");
        var sNode = tape.AddInput([s], isScalar: true, requiresGrad: true, name: "s");
        var cNode = tape.AddInput([c], isScalar: true, requiresGrad: false, name: "c");
        var a0 = tape.Record(Op.Index, p, index: 0);
        var b0 = tape.Record(Op.Index, p, index: 1);
        var term1 = tape.Record(Op.Mul, tape.Record(Op.Square, a0), b0);
        var term2 = tape.Record(Op.Mul, tape.Record(Op.Sin, a0), tape.Record(Op.PowConstant, b0, constant: 3.0));
        var term3 = tape.Record(Op.Mul, sNode, b0);
        var term4 = tape.Record(Op.Mul, cNode, a0);
        var f = tape.Record(Op.Add, tape.Record(Op.Add, term1, term2), tape.Record(Op.Add, term3, term4));

        double[] direction = [0.3, -2.0, 0.75];
        direction.AsSpan(0, 2).CopyTo(tape.Direction(p));
        tape.Direction(sNode)[0] = direction[2];
        tape.HessianVectorProduct(f);

        // Hessian over (a, b, s).
        double haa = 2 * b - Math.Sin(a) * b * b * b;
        double hab = 2 * a + 3 * Math.Cos(a) * b * b;
        double hbb = 6 * Math.Sin(a) * b;
        double hbs = 1;
        double[] expected =
        [
            haa * direction[0] + hab * direction[1],
            hab * direction[0] + hbb * direction[1] + hbs * direction[2],
            hbs * direction[1],
        ];
        var hvp = tape.HessianVectorProductOf(p).ToArray().Concat(tape.HessianVectorProductOf(sNode).ToArray()).ToArray();
        for (var i = 0; i < 3; i++)
            Assert.True(Math.Abs(expected[i] - hvp[i]) <= 1e-12 * (1 + Math.Abs(expected[i])), $"(Hv)[{i}] = {hvp[i]:R}, expected {expected[i]:R}");

        // The ordinary adjoints are left as Backward leaves them.
        Assert.Equal(2 * a * b + Math.Cos(a) * b * b * b + c, tape[p].Adjoint[0], 12);
        Assert.Equal(a * a + 3 * Math.Sin(a) * b * b + s, tape[p].Adjoint[1], 12);
        Assert.Equal(b, tape[sNode].Adjoint[0], 12);
        Assert.Empty(tape[cNode].Adjoint);

        // A second direction on the same tape replaces, not accumulates.
        tape.Direction(p).Clear();
        tape.Direction(sNode)[0] = 1;
        tape.HessianVectorProduct(f);
        Assert.Equal([0.0, 1.0], tape.HessianVectorProductOf(p).ToArray());
        Assert.Equal([0.0], tape.HessianVectorProductOf(sNode).ToArray());
    }

    [Fact]
    public void TapeDirectionIsOnlyForInputsThatRequireGrad()
    {
        var tape = new Tape<double>();
        var constant = tape.AddInput([1.0], isScalar: true, requiresGrad: false);
        var parameter = tape.AddInput([2.0], isScalar: true, requiresGrad: true);
        var product = tape.Record(Op.Mul, constant, parameter);
        Assert.Throws<ArgumentException>(() => tape.Direction(constant));
        Assert.Throws<ArgumentException>(() => tape.Direction(product));
    }
}
