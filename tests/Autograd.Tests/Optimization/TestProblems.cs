using System.Numerics;
using Autograd.Expressions;
using Autograd.Optimization;

namespace Autograd.Tests.Optimization;

/// <summary>
/// Standard test problems as formulas over one parameter vector <c>x</c>, each multiplied by a constant <c>c</c>, with
/// their start points and minimisers worked out independently of the engine.
/// </summary>
internal sealed record TestProblem(string Name, string Expression, double[] Start, double[] Minimiser, (string Name, double[] Values)[] Data)
{
    /// <summary>Rosenbrock's valley (Moré, Garbow and Hillstrom, problem 1): minimum 0 at (1, 1).</summary>
    public static TestProblem Rosenbrock { get; } =
        new("rosenbrock", "c*((1 - x[1])^2 + 100*(x[2] - x[1]^2)^2)", [-1.2, 1], [1, 1], []);

    /// <summary>Powell's badly scaled function (MGH problem 3), the reproducer; its minimiser is checked by its residuals.</summary>
    public const string PowellBadlyScaled = "c*((10000*x[1]*x[2] - 1)^2 + (exp(-x[1]) + exp(-x[2]) - 1.0001)^2)";

    /// <summary>A straight line fitted to the tutorial's lab data; the minimiser solves the normal equations.</summary>
    public static TestProblem LabLine { get; } = Lab();

    /// <summary>An exponential decay fitted to exact data y = 2·exp(-0.5·t): zero residual at (2, -0.5), so steps get very small.</summary>
    public static TestProblem ExponentialDecay { get; } = Decay();

    static TestProblem Lab()
    {
        var (t, y) = FittingTests.LabData();
        var (b0, b1) = FittingTests.LeastSquares(t, y);
        return new("lab line", "c*mean((y - (x[1] + x[2]*t))^2)", [0, 0], [b0, b1], [("t", t), ("y", y)]);
    }

    static TestProblem Decay()
    {
        var t = Enumerable.Range(0, 20).Select(i => i / 10.0).ToArray();
        var y = t.Select(v => 2 * Math.Exp(-0.5 * v)).ToArray();
        return new("exponential decay", "c*sum((y - x[1]*exp(x[2]*t))^2)", [1, 0], [2, -0.5], [("t", t), ("y", y)]);
    }

    public FormulaObjective<T> Objective<T>(double scale) where T : IFloatingPointIeee754<T> =>
        new(Compile<T>(Expression, scale, Start, Data));

    /// <summary>A new copy of a problem's formula at <paramref name="start"/>, with <c>c</c> = <paramref name="scale"/>.</summary>
    public static CompiledFormula<T> Compile<T>(string expression, double scale, double[] start, (string Name, double[] Values)[] data)
        where T : IFloatingPointIeee754<T>
    {
        var compiled = CompiledFormula<T>.Compile(Formula.Parse(expression),
        [
            InputSpec.Vector("x", InputKind.Parameter, start.Length),
            InputSpec.Scalar("c", InputKind.Constant),
            .. data.Select(d => InputSpec.Vector(d.Name, InputKind.Data, d.Values.Length)),
        ]);
        compiled.SetInput(0, start.Select(T.CreateChecked).ToArray());
        compiled.SetInput(1, [T.CreateChecked(scale)]);
        for (var i = 0; i < data.Length; i++) compiled.SetInput(2 + i, data[i].Values.Select(T.CreateChecked).ToArray());
        return compiled;
    }

    public override string ToString() => Name;
}
