using System.Numerics;
using Autograd.Expressions;

namespace Autograd.Analysis;

/// <summary>
/// A compiled formula's Hessian at its current parameters as a linear operator: v ↦ H·v by one exact
/// forward-over-reverse sweep (<see cref="Tape{T}.HessianVectorProduct"/>), in double whatever the tape's type.
/// </summary>
public sealed class HessianOperator<T> where T : IFloatingPointIeee754<T>
{
    readonly CompiledFormula<T> _formula;
    readonly int[] _parameterNodes;

    /// <summary>Replays the forward sweep once at the parameters the formula holds now.</summary>
    public HessianOperator(CompiledFormula<T> formula)
    {
        _formula = formula;
        _parameterNodes = Enumerable.Range(0, formula.Inputs.Count)
            .Where(slot => formula.Inputs[slot].Kind == InputKind.Parameter).Select(formula.InputNode).ToArray();
        Dimension = formula.ParameterCount;
        formula.Tape.Forward();
    }

    public int Dimension { get; }

    /// <summary>Products computed so far: the cost of an analysis in backward sweeps.</summary>
    public int Products { get; private set; }

    public void Apply(ReadOnlySpan<double> v, Span<double> hv)
    {
        var tape = _formula.Tape;
        var offset = 0;
        foreach (var node in _parameterNodes)
        {
            var direction = tape.Direction(node);
            for (var i = 0; i < direction.Length; i++) direction[i] = T.CreateChecked(v[offset + i]);
            offset += direction.Length;
        }
        tape.HessianVectorProduct(_formula.Output);
        offset = 0;
        foreach (var node in _parameterNodes)
        {
            var part = tape.HessianVectorProductOf(node);
            for (var i = 0; i < part.Length; i++) hv[offset + i] = double.CreateChecked(part[i]);
            offset += part.Length;
        }
        Products++;
    }

    /// <summary>The dense Hessian, row-major, in double: one product per column.</summary>
    public double[] Dense()
    {
        var n = Dimension;
        var matrix = new T[n * n];
        _formula.Hessian(matrix);
        Products += n;
        var result = new double[n * n];
        for (var i = 0; i < result.Length; i++) result[i] = double.CreateChecked(matrix[i]);
        return result;
    }

    /// <summary>The gradient at the point, flattened, from the last sweep.</summary>
    public double[] Gradient()
    {
        _formula.Tape.Backward(_formula.Output);
        var gradient = new double[Dimension];
        var offset = 0;
        foreach (var node in _parameterNodes)
        {
            var adjoint = _formula.Tape[node].Adjoint;
            for (var i = 0; i < adjoint.Length; i++) gradient[offset + i] = double.CreateChecked(adjoint[i]);
            offset += adjoint.Length;
        }
        return gradient;
    }
}
