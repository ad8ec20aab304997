using System.Globalization;
using Autograd.Api.Infrastructure;
using Autograd.Contracts;
using Autograd.Expressions;
using Autograd.Optimization;

namespace Autograd.Api.Minimize;

/// <summary>A least-squares loss: its residual formula (compiled as <c>sum((r))</c>) and, where it is <c>column - f</c>, the observed column.</summary>
public sealed record LeastSquaresSpec(FormulaSource SumOfResiduals, string? Target);

/// <summary>A box over the flat parameters, in request order, and what projecting the start did.</summary>
public sealed record BoundsSpec(double[] Lower, double[] Upper, string? StartProjection)
{
    public Bounds<T> For<T>() where T : System.Numerics.IFloatingPointIeee754<T> =>
        new(Lower.Select(T.CreateChecked).ToArray(), Upper.Select(T.CreateChecked).ToArray());
}

/// <summary>Reads bounds and least-squares structure from a /minimize request, with 400 problems naming the field.</summary>
public static class LeastSquaresRequests
{
    /// <summary>The loss of the <c>residuals</c> shorthand, and the offset of the residuals' text in it.</summary>
    public static FormulaSource LossOfResiduals(string residuals)
    {
        const string prefix = "sum((";
        return new FormulaSource($"{prefix}{residuals})^2)", "residuals", prefix.Length, residuals.Length, "residuals");
    }

    /// <summary>
    /// The residuals r of a loss <c>mean((r)^2)</c> or <c>sum((r)^2)</c> (which the mse shorthand and the
    /// residuals field expand to); null for any other loss.
    /// </summary>
    public static LeastSquaresSpec? Of(Formula loss)
    {
        var nodes = loss.Nodes;
        if (nodes.Count < 4 || nodes.Any(n => n.Kind == SyntaxKind.Let)) return null;
        var call = nodes[^1];
        if (call is not { Kind: SyntaxKind.Call, Operands: 1 } || call.Text is not ("mean" or "sum")) return null;
        if (nodes[^2] is not { Kind: SyntaxKind.Binary, Text: "^" } || nodes[^3] is not { Kind: SyntaxKind.Number, Number: 2 }) return null;
        var root = nodes.Count - 4;
        var span = nodes[root].Span;
        var text = loss.Text.Substring(span.Column - 1, span.Length);
        string? target = null;
        if (nodes[root] is { Kind: SyntaxKind.Binary, Text: "-" })
        {
            // Postfix order: the right operand's subtree ends just before the minus; the left one's root precedes it.
            var sizes = SubtreeSizes(nodes);
            var left = root - 1 - sizes[root - 1];
            if (left >= 0 && nodes[left].Kind == SyntaxKind.Name && sizes[left] == 1) target = nodes[left].Text;
        }
        return new LeastSquaresSpec(new FormulaSource($"sum(({text}))", "residuals"), target);
    }

    static int[] SubtreeSizes(IReadOnlyList<SyntaxNode> nodes)
    {
        var sizes = new int[nodes.Count];
        var stack = new Stack<int>();
        for (var i = 0; i < nodes.Count; i++)
        {
            var size = 1;
            var operands = nodes[i].Operands;
            for (var k = 0; k < operands && stack.Count > 0; k++) size += sizes[stack.Pop()];
            sizes[i] = size;
            stack.Push(i);
        }
        return sizes;
    }

    /// <summary>The box of <paramref name="bounds"/> over the parameters of <paramref name="inputs"/>; null when none is given.</summary>
    /// <exception cref="ProblemException">400 naming <c>bounds.NAME.min</c> (or max): an unknown parameter, a wrong length, NaN, or min &gt; max.</exception>
    public static BoundsSpec? Resolve(Dictionary<string, ParameterBounds>? bounds, BoundInputs inputs)
    {
        if (bounds is null || bounds.Count == 0) return null;
        var names = inputs.ParameterSlots.Select(slot => inputs.Specs[slot].Name).ToList();
        foreach (var name in bounds.Keys)
            if (!names.Contains(name))
                throw Invalid($"bounds.{name}", $"'{name}' is not a parameter of this request; bounds apply to the parameters: {string.Join(", ", names)}.");
        var total = inputs.ParameterSlots.Sum(slot => inputs.Specs[slot].Length);
        var lower = Enumerable.Repeat(double.NegativeInfinity, total).ToArray();
        var upper = Enumerable.Repeat(double.PositiveInfinity, total).ToArray();
        var start = new double[total];
        var offset = 0;
        foreach (var slot in inputs.ParameterSlots)
        {
            var spec = inputs.Specs[slot];
            inputs.Values[slot].CopyTo(start, offset);
            if (bounds.TryGetValue(spec.Name, out var bound) && bound is not null)
            {
                Fill(bound.Min, $"bounds.{spec.Name}.min", spec, lower.AsSpan(offset, spec.Length));
                Fill(bound.Max, $"bounds.{spec.Name}.max", spec, upper.AsSpan(offset, spec.Length));
                for (var i = 0; i < spec.Length; i++)
                    if (lower[offset + i] > upper[offset + i])
                        throw Invalid($"bounds.{spec.Name}.min", $"The bounds of {Element(spec, i)} are infeasible: min {Format(lower[offset + i])} is above max {Format(upper[offset + i])}.");
            }
            offset += spec.Length;
        }
        var moved = new List<string>();
        offset = 0;
        foreach (var slot in inputs.ParameterSlots)
        {
            var spec = inputs.Specs[slot];
            for (var i = 0; i < spec.Length; i++)
            {
                var value = start[offset + i];
                var projected = Math.Clamp(value, lower[offset + i], upper[offset + i]);
                if (projected != value && moved.Count < 10) moved.Add($"{Element(spec, i)} from {Format(value)} to {Format(projected)}");
            }
            offset += spec.Length;
        }
        var note = moved.Count == 0 ? null : $"The start point lay outside the bounds and was projected into them: {string.Join(", ", moved)}.";
        return new BoundsSpec(lower, upper, note);
    }

    static void Fill(NumberOrVector? bound, string field, InputSpec spec, Span<double> target)
    {
        if (bound is null) return;
        if (!bound.IsScalar && bound.Values.Length != spec.Length)
            throw Invalid(field, $"{field} has {bound.Values.Length} element(s) but '{spec.Name}' has {spec.Length}: give one number for all, or one per element.");
        for (var i = 0; i < target.Length; i++)
        {
            var value = bound.IsScalar ? bound.Values[0] : bound.Values[i];
            if (double.IsNaN(value)) throw Invalid(field, $"{field} is not a number.");
            target[i] = value;
        }
    }

    /// <summary>The name of a flat element: the parameter itself, or <c>w[2]</c> (1-based) for an element of a vector.</summary>
    public static string Element(InputSpec spec, int index) => spec.IsScalar ? spec.Name : $"{spec.Name}[{index + 1}]";

    static string Format(double value) => value.ToString("R", CultureInfo.InvariantCulture);

    static ProblemException Invalid(string field, string detail) =>
        new(400, "invalid-bounds", "The bounds are not valid", detail, new Dictionary<string, object?> { ["field"] = field });
}
