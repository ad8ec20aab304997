using System.Numerics;
using System.Numerics.Tensors;

namespace Autograd;

/// <summary>
/// SIMD versions of the commonest elementwise sweeps over long vectors, through TensorPrimitives. They
/// compute what the rules of Derivatives.cs say (same formulas), only several elements at a time; ops
/// not listed here fall back to the element loops in <see cref="Kernels{T}"/>.
/// </summary>
internal static class VectorKernels<T> where T : IFloatingPointIeee754<T>
{
    public const int MinimumLength = 16;

    public static bool TryForward(Op op, ReadOnlySpan<T> x, ReadOnlySpan<T> y, T c, Span<T> r)
    {
        // Exp and log at every length: an element gets the same bits alone, in a vector's last few or in a whole group.
        if (op == Op.Exp) { VectorMath<T>.Exp(x, r); return true; }
        if (op == Op.Log) { VectorMath<T>.Log(x, r); return true; }
        if (r.Length < MinimumLength) return false;
        bool xs = x.Length == 1, ys = y.Length == 1;
        switch (op)
        {
            case Op.Add when xs: TensorPrimitives.Add(y, x[0], r); return true;
            case Op.Add when ys: TensorPrimitives.Add(x, y[0], r); return true;
            case Op.Add: TensorPrimitives.Add(x, y, r); return true;
            case Op.Sub when xs: TensorPrimitives.Subtract(x[0], y, r); return true;
            case Op.Sub when ys: TensorPrimitives.Subtract(x, y[0], r); return true;
            case Op.Sub: TensorPrimitives.Subtract(x, y, r); return true;
            case Op.Mul when xs: TensorPrimitives.Multiply(y, x[0], r); return true;
            case Op.Mul when ys: TensorPrimitives.Multiply(x, y[0], r); return true;
            case Op.Mul: TensorPrimitives.Multiply(x, y, r); return true;
            case Op.Div when xs: TensorPrimitives.Divide(x[0], y, r); return true;
            case Op.Div when ys: TensorPrimitives.Divide(x, y[0], r); return true;
            case Op.Div: TensorPrimitives.Divide(x, y, r); return true;
            case Op.Neg: TensorPrimitives.Negate(x, r); return true;
            case Op.Sqrt: TensorPrimitives.Sqrt(x, r); return true;
            case Op.Abs: TensorPrimitives.Abs(x, r); return true;
            case Op.Relu: ReluKernels<T>.Forward(x, r); return true;
            case Op.Sin: VectorMath<T>.Sin(x, r); return true;
            case Op.Cos: VectorMath<T>.Cos(x, r); return true;
            // Not TensorPrimitives.Tanh (System.Numerics.Tensors 10.0.15): it loses up to 1e7 ulps near 0 (tanh(1e-8) =
            // 9.999999983714139E-09; float: tanh(-0.001f) = -0.0009999728), and a vector with one |x| past ~709 in it
            // goes to the scalar routine whole, so an element's bits depended on its neighbours. Tanh takes the element loop.
            case Op.Square: TensorPrimitives.Multiply(x, x, r); return true;
            case Op.PowConstant when c == Num<T>.Two: TensorPrimitives.Multiply(x, x, r); return true;
            default: return false;
        }
    }

    public static bool TryBackward(Op op, ReadOnlySpan<T> x, ReadOnlySpan<T> y, ReadOnlySpan<T> r, T c,
        ReadOnlySpan<T> g, Span<T> gx, Span<T> gy)
    {
        if (r.Length < MinimumLength) return false;
        bool xs = x.Length == 1, ys = y.Length == 1;
        switch (op)
        {
            case Op.Add or Op.Sub:
                AddTo(gx, g, xs, T.One);
                AddTo(gy, g, ys, op == Op.Add ? T.One : -T.One);
                return true;
            case Op.Mul:
                if (!gx.IsEmpty) { if (xs) gx[0] += ys ? y[0] * TensorPrimitives.Sum(g) : TensorPrimitives.Dot(g, y); else if (ys) TensorPrimitives.MultiplyAdd(g, y[0], gx, gx); else TensorPrimitives.MultiplyAdd(g, y, gx, gx); }
                if (!gy.IsEmpty) { if (ys) gy[0] += xs ? x[0] * TensorPrimitives.Sum(g) : TensorPrimitives.Dot(g, x); else if (xs) TensorPrimitives.MultiplyAdd(g, x[0], gy, gy); else TensorPrimitives.MultiplyAdd(g, x, gy, gy); }
                return true;
            case Op.Square or Op.PowConstant when op == Op.Square || c == Num<T>.Two:
                if (gx.IsEmpty) return true;
                // gx += 2 g x, as two multiply-adds so that no temporary vector is needed.
                TensorPrimitives.MultiplyAdd(g, x, gx, gx);
                TensorPrimitives.MultiplyAdd(g, x, gx, gx);
                return true;
            case Op.Neg:
                if (!gx.IsEmpty) TensorPrimitives.Subtract(gx, g, gx);
                return true;
            case Op.Exp:
                if (!gx.IsEmpty) TensorPrimitives.MultiplyAdd(g, r, gx, gx);
                return true;
            case Op.Relu:
                if (!gx.IsEmpty) ReluKernels<T>.AddSlopeTimes(x, g, gx);
                return true;
            case Op.Sin:
                // gx += g cos x, a slice at a time through scratch.
                for (var start = 0; !gx.IsEmpty && start < r.Length; start += ScratchLength)
                {
                    var count = Math.Min(ScratchLength, r.Length - start);
                    var cos = Scratch(count);
                    VectorMath<T>.Cos(x.Slice(start, count), cos);
                    TensorPrimitives.MultiplyAdd(g.Slice(start, count), cos, gx.Slice(start, count), gx.Slice(start, count));
                }
                return true;
            case Op.Cos:
                // gx += g (-sin x), written gx -= g sin x (the same bits).
                for (var start = 0; !gx.IsEmpty && start < r.Length; start += ScratchLength)
                {
                    var count = Math.Min(ScratchLength, r.Length - start);
                    var product = Scratch(count);
                    VectorMath<T>.Sin(x.Slice(start, count), product);
                    TensorPrimitives.Multiply(g.Slice(start, count), product, product);
                    TensorPrimitives.Subtract(gx.Slice(start, count), product, gx.Slice(start, count));
                }
                return true;
            default:
                return false;
        }
    }

    const int ScratchLength = 2048;
    [ThreadStatic] static T[]? t_scratch;

    /// <summary>Per-thread scratch for a slope, allocated once per thread.</summary>
    static Span<T> Scratch(int count) => (t_scratch ??= new T[ScratchLength]).AsSpan(0, count);

    /// <summary>target += sign * g, or, for a broadcast scalar target, target[0] += sign * sum(g).</summary>
    static void AddTo(Span<T> target, ReadOnlySpan<T> g, bool scalar, T sign)
    {
        if (target.IsEmpty) return;
        if (scalar) target[0] += sign * TensorPrimitives.Sum(g);
        else if (sign == T.One) TensorPrimitives.Add(target, g, target);
        else TensorPrimitives.Subtract(target, g, target);
    }
}
