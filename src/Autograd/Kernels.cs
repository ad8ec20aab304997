using System.Numerics;

namespace Autograd;

/// <summary>
/// The four sweeps over one node: value, vector-Jacobian product, tangent (Jacobian-vector product) and the
/// second-order adjoint used for Hessians. Each op's kernel comes from <see cref="OpRegistry"/>; long vectors of
/// the commonest ops take the SIMD paths of <see cref="VectorKernels{T}"/> first. There is no switch over ops
/// here, so an op cannot be missing from one sweep and present in another.
/// </summary>
internal static class Kernels<T> where T : IFloatingPointIeee754<T>
{
    static readonly OpKernel<T>[] Table = OpTable<T>.Kernels;

    public static void Forward(Op op, ReadOnlySpan<T> x, ReadOnlySpan<T> y, T c, int index, Span<T> r)
    {
        if (VectorKernels<T>.TryForward(op, x, y, c, r)) return;
        Of(op).Forward(x, y, c, index, r);
    }

    public static void Backward(Op op, ReadOnlySpan<T> x, ReadOnlySpan<T> y, ReadOnlySpan<T> r, T c, int index,
        ReadOnlySpan<T> g, Span<T> gx, Span<T> gy)
    {
        if (VectorKernels<T>.TryBackward(op, x, y, r, c, g, gx, gy)) return;
        Of(op).Backward(x, y, r, c, index, g, gx, gy);
    }

    public static void Tangent(Op op, ReadOnlySpan<T> x, ReadOnlySpan<T> y, ReadOnlySpan<T> r, T c, int index,
        ReadOnlySpan<T> xDot, ReadOnlySpan<T> yDot, Span<T> rDot) =>
        Of(op).Tangent(x, y, r, c, index, xDot, yDot, rDot);

    /// <summary>Accumulates the tangents of the input adjoints: the second-order part of a Hessian-vector product.</summary>
    public static void SecondBackward(Op op, ReadOnlySpan<T> x, ReadOnlySpan<T> y, ReadOnlySpan<T> r, T c, int index,
        ReadOnlySpan<T> xDot, ReadOnlySpan<T> yDot, ReadOnlySpan<T> g, ReadOnlySpan<T> gDot, Span<T> gxDot, Span<T> gyDot) =>
        Of(op).SecondBackward(x, y, r, c, index, xDot, yDot, g, gDot, gxDot, gyDot);

    /// <summary>The registered kernel of a computed op; an input node has none.</summary>
    public static OpKernel<T> Of(Op op) =>
        Table[(int)op] ?? throw new InvalidOperationException($"Op {op} is a leaf: it has no kernel.");
}
