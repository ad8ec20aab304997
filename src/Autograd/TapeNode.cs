using System.Numerics;

namespace Autograd;

/// <summary>Where a node came from in a formula: the 1-based column of its first character and its length.</summary>
public readonly record struct SourceSpan(int Column, int Length)
{
    public static readonly SourceSpan None = new(0, 0);
    public override string ToString() => Length <= 1 ? $"column {Column}" : $"columns {Column}-{Column + Length - 1}";
}

/// <summary>One entry of the Wengert list: an op, its inputs (earlier nodes), its value and its adjoint.</summary>
public sealed class TapeNode<T> where T : IFloatingPointIeee754<T>
{
    internal TapeNode(Op op, int x, int y, T constant, int index, T[] value, bool isScalar, bool requiresGrad,
        SourceSpan span, string? name)
    {
        Op = op;
        X = x;
        Y = y;
        Constant = constant;
        Index = index;
        Value = value;
        IsScalar = isScalar;
        RequiresGrad = requiresGrad;
        Span = span;
        Name = name;
        Adjoint = requiresGrad ? new T[value.Length] : [];
    }

    public Op Op { get; }
    /// <summary>The first input's node id, or -1.</summary>
    public int X { get; internal set; }
    /// <summary>The second input's node id, or -1.</summary>
    public int Y { get; internal set; }
    /// <summary>The exponent of <see cref="Op.PowConstant"/>.</summary>
    public T Constant { get; }
    /// <summary>The zero-based element that <see cref="Op.Index"/> selects.</summary>
    public int Index { get; }
    public T[] Value { get; internal set; }
    /// <summary>d(output)/d(this node) after a backward sweep; empty when the node does not require grad.</summary>
    public T[] Adjoint { get; }
    public bool IsScalar { get; }
    public bool RequiresGrad { get; }
    public SourceSpan Span { get; }
    /// <summary>The bound name of an input node, or a literal's text.</summary>
    public string? Name { get; internal set; }
    public int Length => Value.Length;
    /// <summary>The column count of a matrix (row-major, <see cref="Length"/> / Columns rows); 0 for a scalar or a vector.</summary>
    public int Columns { get; internal set; }
    public bool IsMatrix => Columns > 0;
    public int Rows => Columns > 0 ? Length / Columns : Length;
    /// <summary>A number written in the formula rather than a bound input.</summary>
    public bool IsLiteral { get; internal init; }

    internal T[]? Tangent;
    internal T[]? AdjointTangent;
    internal Tensor<T>? Leaf;
}
