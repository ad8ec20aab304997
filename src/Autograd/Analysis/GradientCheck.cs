using System.Numerics;
using Autograd.Expressions;

namespace Autograd.Analysis;

/// <summary>The check of one parameter element's derivative against finite differences.</summary>
/// <param name="Parameter">The parameter's name.</param>
/// <param name="Index">The 1-based element of a vector parameter; null for a scalar.</param>
/// <param name="Reverse">The reverse-mode derivative (the tape's).</param>
/// <param name="Estimate">The Richardson-extrapolated central difference.</param>
/// <param name="Step">The step h of the coarser central difference (the finer one uses h/2).</param>
/// <param name="Tolerance">The largest |Reverse - Estimate| that passes.</param>
/// <param name="Passed">Whether it passed; null where the differences straddle a kink, so that they prove nothing.</param>
/// <param name="Kink">The kink the differences straddle (op, column and why), or null.</param>
public sealed record ElementCheck(string Parameter, int? Index, double Reverse, double Estimate, double AbsoluteError, double RelativeError,
    double Step, double Tolerance, bool? Passed, string? Kink);

/// <summary>
/// Checks a formula's reverse-mode gradient element by element against central differences: step
/// h = eps^(1/3)·max(1, |x|), Richardson-extrapolated from h and h/2 (error O(h⁴)). Where moving the element by
/// ±h changes the branch of a piecewise op (abs or relu crossing 0, a min/max tie, clamp at a bound, the argmin of
/// min(v)), the differences straddle a kink: the element is reported as a kink, not as a failure.
/// </summary>
public static class GradientChecker
{
    public static ElementCheck[] Check<T>(CompiledFormula<T> formula) where T : IFloatingPointIeee754<T>
    {
        var tape = formula.Tape;
        var epsilon = typeof(T) == typeof(float) ? Math.Pow(2, -23) : Math.Pow(2, -52);
        var relative = typeof(T) == typeof(float) ? 1e-2 : 1e-6;
        formula.EvaluateWithGradient();
        var value = double.CreateChecked(formula.Value);
        var branchesAtPoint = Branches.Of(tape, formula.Output);
        var results = new List<ElementCheck>();
        for (var slot = 0; slot < formula.Inputs.Count; slot++)
        {
            var spec = formula.Inputs[slot];
            if (spec.Kind != InputKind.Parameter) continue;
            var node = tape[formula.InputNode(slot)];
            var reverse = node.Adjoint.Select(double.CreateChecked).ToArray();
            for (var i = 0; i < node.Length; i++)
            {
                var x = node.Value[i];
                var h = Math.Cbrt(epsilon) * Math.Max(1, Math.Abs(double.CreateChecked(x)));
                // The step as the element's type represents it, so that x ± h are exactly h apart.
                var hT = (x + T.CreateChecked(h)) - x;
                string? kink = null;
                double At(T offset)
                {
                    node.Value[i] = x + offset;
                    tape.Forward();
                    kink ??= Branches.FirstChange(tape, formula.Output, branchesAtPoint);
                    return double.CreateChecked(formula.Value);
                }
                var half = hT / (T.One + T.One);
                double step = double.CreateChecked(hT), halfStep = double.CreateChecked(half);
                var coarse = (At(hT) - At(-hT)) / (2 * step);
                var fine = (At(half) - At(-half)) / (2 * halfStep);
                node.Value[i] = x;
                var estimate = (4 * fine - coarse) / 3;
                var g = reverse[i];
                var absolute = Math.Abs(g - estimate);
                var scale = Math.Max(Math.Abs(g), Math.Abs(estimate));
                // Rounding in f(x ± h) is about eps·|f| per evaluation, divided by h in the difference.
                var tolerance = relative * scale + 10 * epsilon * Math.Max(1, Math.Abs(value)) / halfStep;
                bool? passed = kink is null ? absolute <= tolerance : null;
                results.Add(new ElementCheck(spec.Name, spec.IsScalar ? null : i + 1, g, estimate, absolute,
                    scale == 0 ? 0 : absolute / scale, step, tolerance, passed, kink));
            }
        }
        tape.Forward();
        formula.EvaluateWithGradient();
        return [.. results];
    }
}

/// <summary>The branch every piecewise op of a tape takes at the current values, to tell when a step crosses a kink.</summary>
internal static class Branches
{
    public static Dictionary<int, int[]> Of<T>(Tape<T> tape, int output) where T : IFloatingPointIeee754<T>
    {
        var branches = new Dictionary<int, int[]>();
        for (var id = 0; id <= output; id++)
            if (Branch(tape, id) is { } branch) branches[id] = branch;
        return branches;
    }

    /// <summary>The first piecewise node whose branch differs from <paramref name="reference"/>, described; null if none.</summary>
    public static string? FirstChange<T>(Tape<T> tape, int output, Dictionary<int, int[]> reference) where T : IFloatingPointIeee754<T>
    {
        foreach (var (id, before) in reference)
        {
            var now = Branch(tape, id)!;
            if (!now.AsSpan().SequenceEqual(before)) return Describe(tape[id], before);
        }
        return null;
    }

    static string Describe<T>(TapeNode<T> node, int[] before) where T : IFloatingPointIeee754<T>
    {
        var where = node.Span.Column > 0 ? $" at {node.Span}" : "";
        var atKink = before.Contains(0) ? "it is at its kink at this point" : "a step of the finite difference crosses its kink";
        return $"{OpNames.Of(node.Op)}{where}: {atKink} ({OpRegistry.Of(node.Op).AtKinks})";
    }

    /// <summary>
    /// Per element: -1, 0 or 1 for the side of the kink (0 on it); for min(v) and max(v) the 1-based position of the
    /// extreme (0 for a tie). Null for a smooth op or a node no parameter reaches.
    /// </summary>
    static int[]? Branch<T>(Tape<T> tape, int id) where T : IFloatingPointIeee754<T>
    {
        var node = tape[id];
        if (!node.RequiresGrad || node.Op == Op.Input) return null;
        var x = tape[node.X].Value;
        var y = node.Y >= 0 ? tape[node.Y].Value : [];
        switch (node.Op)
        {
            case Op.Abs or Op.Relu:
                return x.Select(v => Sign(v)).ToArray();
            case Op.Minimum or Op.Maximum or Op.ClampLow or Op.ClampHigh:
                var length = Math.Max(x.Length, y.Length);
                var signs = new int[length];
                for (var i = 0; i < length; i++) signs[i] = Sign(x[x.Length == 1 ? 0 : i] - y[y.Length == 1 ? 0 : i]);
                return signs;
            case Op.Min or Op.Max:
                var extreme = node.Value[0];
                var positions = Enumerable.Range(0, x.Length).Where(i => x[i] == extreme).ToArray();
                return [positions.Length == 1 ? positions[0] + 1 : 0];
            case Op.Pow:
                // x ^ y: the side of x = 0, and on it the side of y = 0 (the conventions there).
                var exponents = new int[Math.Max(x.Length, y.Length)];
                for (var i = 0; i < exponents.Length; i++)
                {
                    var b = x[x.Length == 1 ? 0 : i];
                    exponents[i] = b != T.Zero ? 2 * Sign(b) : Sign(y[y.Length == 1 ? 0 : i]);
                }
                return exponents;
            default:
                return null;
        }
    }

    static int Sign<T>(T v) where T : IFloatingPointIeee754<T> => v > T.Zero ? 1 : v < T.Zero ? -1 : 0;
}
