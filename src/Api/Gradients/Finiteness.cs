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

    /// <summary>
    /// For a response that carries every node (explain): a 422 naming the first node, in recording order, whose value
    /// or derivative is not finite. Needs a node-by-node replay.
    /// </summary>
    public static void EnsureEveryNodeIsFinite<T>(CompiledFormula<T> compiled) where T : IFloatingPointIeee754<T>
    {
        var badValue = compiled.Tape.FirstNonFiniteValue(compiled.Output);
        if (badValue >= 0) throw ValueProblem(compiled, badValue);
        var badDerivative = compiled.Tape.FirstNonFiniteDerivative(compiled.Output);
        if (badDerivative >= 0) throw DerivativeProblem(compiled, badDerivative);
    }

    /// <summary>
    /// The 422 for a value or gradient that is not finite, naming the node behind it. Needs a node-by-node replay.
    /// A non-finite intermediate the result does not depend on (min(x, exp(1000))) is never the one named.
    /// </summary>
    public static ProblemException Blame<T>(CompiledFormula<T> compiled) where T : IFloatingPointIeee754<T>
    {
        var tape = compiled.Tape;
        if (!T.IsFinite(compiled.Value))
        {
            // Walk down from the output through operands that are not finite, to the node that made a non-finite
            // number out of finite ones. A loop, not recursion: the tape may be a very deep chain.
            var id = compiled.Output;
            while (tape[id].Op != Op.Input)
            {
                var node = tape[id];
                if (!AllFinite(tape[node.X].Value)) id = node.X;
                else if (node.Y >= 0 && !AllFinite(tape[node.Y].Value)) id = node.Y;
                else break;
            }
            return ValueProblem(compiled, id);
        }
        var badDerivative = tape.FirstNonFiniteDerivative(compiled.Output);
        return badDerivative >= 0
            ? DerivativeProblem(compiled, badDerivative)
            : Problems.NotFinite("The value or the gradient is not finite at this point.", []);
    }

    static ProblemException ValueProblem<T>(CompiledFormula<T> compiled, int id) where T : IFloatingPointIeee754<T> =>
        Problems.NotFinite(
            $"The loss is not finite at this point: {Describe(compiled, id)} gives {First(compiled.Tape[id].Value)}.",
            NodeExtensions(compiled, id, "value"));

    static ProblemException DerivativeProblem<T>(CompiledFormula<T> compiled, int id) where T : IFloatingPointIeee754<T> =>
        Problems.NotFinite(
            $"The gradient is not finite at this point: the derivative of {Describe(compiled, id)} is not finite there.",
            NodeExtensions(compiled, id, "gradient"));

    static bool AllFinite<T>(T[] values) where T : IFloatingPointIeee754<T>
    {
        foreach (var v in values) if (!T.IsFinite(v)) return false;
        return true;
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
