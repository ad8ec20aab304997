using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Autograd.Expressions;

namespace Autograd.Optimization;

/// <summary>A compiled formula seen as a loss over its parameters, flattened in input order.</summary>
public sealed class FormulaObjective<T> : IObjective<T>, IReplayHistory where T : IFloatingPointIeee754<T>
{
    readonly CompiledFormula<T> _formula;
    readonly int[] _parameterSlots;
    readonly int[] _lengths;
    // A parameter's value and adjoint arrays never change once recorded (only data inputs are ever rebound).
    readonly T[][] _values;
    readonly T[][] _adjoints;

    public FormulaObjective(CompiledFormula<T> formula)
    {
        _formula = formula;
        _parameterSlots = Enumerable.Range(0, formula.Inputs.Count)
            .Where(i => formula.Inputs[i].Kind == InputKind.Parameter).ToArray();
        _lengths = _parameterSlots.Select(slot => formula.Inputs[slot].Length).ToArray();
        _values = _parameterSlots.Select(slot => formula.Tape[formula.InputNode(slot)].Value).ToArray();
        _adjoints = _parameterSlots.Select(slot => formula.Tape[formula.InputNode(slot)].Adjoint).ToArray();
        // The compiled replay takes the point as the inputs that require grad in node order: the same layout when
        // the parameters are exactly those inputs, in slot order (the recorder gives inputs their nodes in slot order).
        var parameterNodes = _parameterSlots.Select(formula.InputNode).ToArray();
        var gradInputs = formula.Tape.Nodes.Where(n => n.Op == Op.Input && n.RequiresGrad && !n.IsLiteral).Count();
        var pointIsNodeOrder = gradInputs == parameterNodes.Length && parameterNodes.Zip(parameterNodes.Skip(1)).All(p => p.First < p.Second);
        _compiledAtPoint = pointIsNodeOrder ? formula.Tape : null;
        _output = formula.Output;
    }

    /// <summary>The tape, when its compiled replay may take the point as it is; null when the objective copies it.</summary>
    readonly Tape<T>? _compiledAtPoint;
    readonly int _output;

    public int Dimension => _formula.ParameterCount;

    public long ReplayHistory
    {
        get => _formula.ReplayHistory;
        set => _formula.ReplayHistory = value;
    }

    public T ValueAndGradient(ReadOnlySpan<T> x, Span<T> gradient) =>
        _compiledAtPoint?.CompiledReplayAtPoint(_output, Math.Min(x.Length, gradient.Length)) is { } replay
            ? replay(ref MemoryMarshal.GetReference(x), ref MemoryMarshal.GetReference(gradient))
            : ValueAndGradientByCopies(x, gradient);

    // Apart from the compiled path above, so that the few nanoseconds of that path do not pay for this one's registers.
    [MethodImpl(MethodImplOptions.NoInlining)]
    T ValueAndGradientByCopies(ReadOnlySpan<T> x, Span<T> gradient)
    {
        SetParameters(x);
        var value = _formula.EvaluateWithGradientFused();
        var offset = 0;
        foreach (var adjoint in _adjoints)
        {
            CopySmall(adjoint, gradient[offset..]);
            offset += adjoint.Length;
        }
        return value;
    }

    public void Hessian(ReadOnlySpan<T> x, Span<T> matrix)
    {
        SetParameters(x);
        _formula.Hessian(matrix);
    }

    /// <summary>The starting point: the parameters' current values, flattened.</summary>
    public T[] CurrentParameters()
    {
        var x = new T[Dimension];
        var offset = 0;
        foreach (var slot in _parameterSlots)
        {
            var part = _formula.InputValues(slot);
            part.CopyTo(x.AsSpan(offset));
            offset += part.Length;
        }
        return x;
    }

    void SetParameters(ReadOnlySpan<T> x)
    {
        var offset = 0;
        for (var i = 0; i < _values.Length; i++)
        {
            CopySmall(x.Slice(offset, _lengths[i]), _values[i]);
            offset += _lengths[i];
        }
    }

    /// <summary>A few elements are copied by hand: a span copy costs more than the compiled replay of a small formula.</summary>
    static void CopySmall(ReadOnlySpan<T> source, Span<T> target)
    {
        if (source.Length > 8)
        {
            source.CopyTo(target);
            return;
        }
        for (var i = 0; i < source.Length; i++) target[i] = source[i];
    }
}
