using System.Numerics;
using Autograd.Expressions;

namespace Autograd.Optimization;

/// <summary>A residual vector r(x) over a flat parameter vector, for least squares: the loss is c·Σ rᵢ².</summary>
public interface IResidualObjective<T> where T : IFloatingPointIeee754<T>
{
    int Dimension { get; }
    int Rows { get; }

    /// <summary>Writes r(x) into <paramref name="residuals"/> (Rows elements).</summary>
    void Residuals(ReadOnlySpan<T> x, Span<T> residuals);

    /// <summary>Writes r(x) and the Jacobian ∂rᵢ/∂xⱼ, row-major Rows × Dimension.</summary>
    void Jacobian(ReadOnlySpan<T> x, Span<T> residuals, Span<T> jacobian);
}

/// <summary>
/// The residual vector of a compiled <c>sum(r)</c> (the engine records only formulas of a single number, so the
/// residuals are the node that the sum reduces; a single-row residual is the value itself). The
/// Jacobian comes from forward-mode sweeps, one Jacobian-vector product per parameter element (each column at the
/// cost of about one evaluation); a fit has far fewer parameters than rows, where reverse sweeps would need one per row.
/// </summary>
public sealed class FormulaResiduals<T> : IResidualObjective<T> where T : IFloatingPointIeee754<T>
{
    readonly CompiledFormula<T> _formula;
    readonly int[] _parameterSlots;
    readonly int _output;

    /// <param name="sumOfResiduals">The compiled formula <c>sum((r))</c>.</param>
    public FormulaResiduals(CompiledFormula<T> sumOfResiduals)
    {
        _formula = sumOfResiduals;
        var root = sumOfResiduals.Tape[sumOfResiduals.Output];
        _output = root.Op == Op.Sum ? root.X : sumOfResiduals.Output;
        _parameterSlots = Enumerable.Range(0, sumOfResiduals.Inputs.Count)
            .Where(i => sumOfResiduals.Inputs[i].Kind == InputKind.Parameter).ToArray();
    }

    public int Dimension => _formula.ParameterCount;
    public int Rows => _formula.Tape[_output].Length;

    public void Residuals(ReadOnlySpan<T> x, Span<T> residuals)
    {
        SetParameters(x);
        _formula.Tape.Forward();
        _formula.Tape[_output].Value.CopyTo(residuals);
    }

    public void Jacobian(ReadOnlySpan<T> x, Span<T> residuals, Span<T> jacobian)
    {
        Residuals(x, residuals);
        var n = Dimension;
        var tape = _formula.Tape;
        var output = _output;
        var rows = Rows;
        for (var column = 0; column < n; column++)
        {
            SetUnitDirection(column);
            var outputNode = tape[output];
            if (!outputNode.RequiresGrad)
            {
                for (var i = 0; i < rows; i++) jacobian[i * n + column] = T.Zero;
                continue;
            }
            for (var id = 0; id <= output; id++)
            {
                var node = tape[id];
                if (!node.RequiresGrad || node.Op == Op.Input) continue;
                node.Tangent ??= new T[node.Length];
                Kernels<T>.Tangent(node.Op, tape[node.X].Value, node.Y >= 0 ? tape[node.Y].Value : default, node.Value,
                    node.Constant, node.Index, TangentOf(tape, node.X), TangentOf(tape, node.Y), node.Tangent);
            }
            var tangent = outputNode.Tangent!;
            for (var i = 0; i < rows; i++) jacobian[i * n + column] = tangent[tangent.Length == 1 ? 0 : i];
        }
    }

    static ReadOnlySpan<T> TangentOf(Tape<T> tape, int id) => id >= 0 && tape[id].RequiresGrad ? tape[id].Tangent : default;

    void SetParameters(ReadOnlySpan<T> x)
    {
        var offset = 0;
        foreach (var slot in _parameterSlots)
        {
            var length = _formula.Inputs[slot].Length;
            _formula.SetInput(slot, x.Slice(offset, length));
            offset += length;
        }
    }

    void SetUnitDirection(int flatIndex)
    {
        var offset = 0;
        foreach (var slot in _parameterSlots)
        {
            var direction = _formula.Tape.Direction(_formula.InputNode(slot));
            direction.Clear();
            if (flatIndex >= offset && flatIndex < offset + direction.Length) direction[flatIndex - offset] = T.One;
            offset += direction.Length;
        }
    }
}
