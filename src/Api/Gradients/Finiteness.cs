using System.Numerics;
using Autograd.Api.Infrastructure;
using Autograd.Expressions;

namespace Autograd.Api.Gradients;

/// <summary>Reports a non-finite value or gradient as a 422 naming the first node that produced it.</summary>
public static class Finiteness
{
    /// <summary>Whether the value and every parameter's gradient are finite, without looking at intermediate nodes.</summary>
    public static bool ValueAndGradientAreFinite<T>(CompiledFormula<T> compiled, T value) where T : IFloatingPointIeee754<T>
    {
        if (!T.IsFinite(value)) return false;
        for (var slot = 0; slot < compiled.Inputs.Count; slot++)
            foreach (var g in compiled.GradientOf(slot))
                if (!T.IsFinite(g)) return false;
        return true;
    }

    public static void EnsureValueAndGradient<T>(CompiledFormula<T> compiled) where T : IFloatingPointIeee754<T>
    {
        var tape = compiled.Tape;
        var badValue = tape.FirstNonFiniteValue(compiled.Output);
        if (badValue >= 0)
            throw Problems.NotFinite(
                $"The loss is not finite at this point: {Describe(compiled, badValue)} gives {First(tape[badValue].Value)}.",
                NodeExtensions(compiled, badValue, "value"));
        var badDerivative = tape.FirstNonFiniteDerivative(compiled.Output);
        if (badDerivative >= 0)
            throw Problems.NotFinite(
                $"The gradient is not finite at this point: the derivative of {Describe(compiled, badDerivative)} is not finite there.",
                NodeExtensions(compiled, badDerivative, "gradient"));
    }

    public static string Describe<T>(CompiledFormula<T> compiled, int id) where T : IFloatingPointIeee754<T>
    {
        var node = compiled.Tape[id];
        if (node.Op == Op.Input) return $"the input '{node.Name}'";
        return $"{OpNames.Of(node.Op)} at {node.Span} ('{Problems.Excerpt(compiled.Formula.Text, node.Span)}')";
    }

    static string First<T>(T[] values) where T : IFloatingPointIeee754<T> =>
        values.First(v => !T.IsFinite(v)).ToString() ?? "";

    static Dictionary<string, object?> NodeExtensions<T>(CompiledFormula<T> compiled, int id, string what)
        where T : IFloatingPointIeee754<T>
    {
        var node = compiled.Tape[id];
        return new Dictionary<string, object?>
        {
            ["field"] = "expression",
            ["nonFinite"] = what,
            ["node"] = id,
            ["op"] = OpNames.Of(node.Op),
            ["column"] = node.Span.Column,
            ["length"] = node.Span.Length,
            ["token"] = Problems.Excerpt(compiled.Formula.Text, node.Span),
        };
    }
}
