using System.Numerics;
using System.Numerics.Tensors;

namespace Autograd;

/// <summary>
/// The four sweeps over one node of one op: value, vector-Jacobian product, tangent (Jacobian-vector product)
/// and the second-order adjoint used for Hessians, plus the one-element forms that tapes of scalars use.
/// <see cref="OpRegistry"/> makes one per registered op; an empty span stands for an input that does not
/// require grad (no adjoint, zero tangent), and a scalar operand broadcasts against a vector (stride 0).
/// </summary>
internal abstract class OpKernel<T> where T : IFloatingPointIeee754<T>
{
    public abstract void Forward(ReadOnlySpan<T> x, ReadOnlySpan<T> y, T c, int index, Span<T> r);

    public abstract void Backward(ReadOnlySpan<T> x, ReadOnlySpan<T> y, ReadOnlySpan<T> r, T c, int index,
        ReadOnlySpan<T> g, Span<T> gx, Span<T> gy);

    public abstract void Tangent(ReadOnlySpan<T> x, ReadOnlySpan<T> y, ReadOnlySpan<T> r, T c, int index,
        ReadOnlySpan<T> xDot, ReadOnlySpan<T> yDot, Span<T> rDot);

    /// <summary>Accumulates the tangents of the input adjoints: the second-order part of a Hessian-vector product.</summary>
    public abstract void SecondBackward(ReadOnlySpan<T> x, ReadOnlySpan<T> y, ReadOnlySpan<T> r, T c, int index,
        ReadOnlySpan<T> xDot, ReadOnlySpan<T> yDot, ReadOnlySpan<T> g, ReadOnlySpan<T> gDot, Span<T> gxDot, Span<T> gyDot);

    /// <summary>The value at one element, when every operand is a single number.</summary>
    public abstract T Value(T x, T y, T c);

    /// <summary>dr/dx at one element.</summary>
    public abstract T DX(T x, T y, T r, T c);

    /// <summary>dr/dy at one element; zero for a one-input op.</summary>
    public virtual T DY(T x, T y, T r) => T.Zero;
}

// ----- Elementwise, one input: loops over the rule's Value, Slope and Curvature -----

internal sealed class UnaryKernel<T, TRule> : OpKernel<T> where T : IFloatingPointIeee754<T> where TRule : IUnaryRule
{
    public override void Forward(ReadOnlySpan<T> x, ReadOnlySpan<T> y, T c, int index, Span<T> r)
    {
        for (var i = 0; i < r.Length; i++) r[i] = TRule.Value(x[i], c);
    }

    public override void Backward(ReadOnlySpan<T> x, ReadOnlySpan<T> y, ReadOnlySpan<T> r, T c, int index,
        ReadOnlySpan<T> g, Span<T> gx, Span<T> gy)
    {
        if (gx.IsEmpty) return;
        for (var i = 0; i < r.Length; i++) gx[i] += g[i] * TRule.Slope(x[i], r[i], c);
    }

    public override void Tangent(ReadOnlySpan<T> x, ReadOnlySpan<T> y, ReadOnlySpan<T> r, T c, int index,
        ReadOnlySpan<T> xDot, ReadOnlySpan<T> yDot, Span<T> rDot)
    {
        for (var i = 0; i < r.Length; i++) rDot[i] = TRule.Slope(x[i], r[i], c) * xDot[i];
    }

    public override void SecondBackward(ReadOnlySpan<T> x, ReadOnlySpan<T> y, ReadOnlySpan<T> r, T c, int index,
        ReadOnlySpan<T> xDot, ReadOnlySpan<T> yDot, ReadOnlySpan<T> g, ReadOnlySpan<T> gDot, Span<T> gxDot, Span<T> gyDot)
    {
        if (gxDot.IsEmpty) return;
        for (var i = 0; i < r.Length; i++)
            gxDot[i] += gDot[i] * TRule.Slope(x[i], r[i], c) + g[i] * TRule.Curvature(x[i], r[i], c) * xDot[i];
    }

    public override T Value(T x, T y, T c) => TRule.Value(x, c);
    public override T DX(T x, T y, T r, T c) => TRule.Slope(x, r, c);
}

// ----- Elementwise, two inputs: a scalar operand broadcasts (stride 0) -----

internal sealed class BinaryKernel<T, TRule> : OpKernel<T> where T : IFloatingPointIeee754<T> where TRule : IBinaryRule
{
    static int Stride(ReadOnlySpan<T> operand, int resultLength) => operand.Length == resultLength ? 1 : 0;

    public override void Forward(ReadOnlySpan<T> x, ReadOnlySpan<T> y, T c, int index, Span<T> r)
    {
        int sx = Stride(x, r.Length), sy = Stride(y, r.Length);
        for (var i = 0; i < r.Length; i++) r[i] = TRule.Value(x[i * sx], y[i * sy]);
    }

    public override void Backward(ReadOnlySpan<T> x, ReadOnlySpan<T> y, ReadOnlySpan<T> r, T c, int index,
        ReadOnlySpan<T> g, Span<T> gx, Span<T> gy)
    {
        int sx = Stride(x, r.Length), sy = Stride(y, r.Length);
        if (!gx.IsEmpty)
            for (var i = 0; i < r.Length; i++) gx[i * sx] += g[i] * TRule.DX(x[i * sx], y[i * sy], r[i]);
        if (!gy.IsEmpty)
            for (var i = 0; i < r.Length; i++) gy[i * sy] += g[i] * TRule.DY(x[i * sx], y[i * sy], r[i]);
    }

    public override void Tangent(ReadOnlySpan<T> x, ReadOnlySpan<T> y, ReadOnlySpan<T> r, T c, int index,
        ReadOnlySpan<T> xDot, ReadOnlySpan<T> yDot, Span<T> rDot)
    {
        int sx = Stride(x, r.Length), sy = Stride(y, r.Length);
        for (var i = 0; i < r.Length; i++)
        {
            T xi = x[i * sx], yi = y[i * sy], d = T.Zero;
            if (!xDot.IsEmpty) d += TRule.DX(xi, yi, r[i]) * xDot[i * sx];
            if (!yDot.IsEmpty) d += TRule.DY(xi, yi, r[i]) * yDot[i * sy];
            rDot[i] = d;
        }
    }

    // The mixed partial DXY is evaluated only when both inputs carry a tangent, so that x ^ c with a
    // constant c never reaches log(x).
    public override void SecondBackward(ReadOnlySpan<T> x, ReadOnlySpan<T> y, ReadOnlySpan<T> r, T c, int index,
        ReadOnlySpan<T> xDot, ReadOnlySpan<T> yDot, ReadOnlySpan<T> g, ReadOnlySpan<T> gDot, Span<T> gxDot, Span<T> gyDot)
    {
        int sx = Stride(x, r.Length), sy = Stride(y, r.Length);
        bool hasX = !xDot.IsEmpty, hasY = !yDot.IsEmpty;
        for (var i = 0; i < r.Length; i++)
        {
            T xi = x[i * sx], yi = y[i * sy], ri = r[i];
            T mixed = hasX && hasY ? TRule.DXY(xi, yi, ri) : T.Zero;
            if (hasX)
            {
                var curvature = TRule.DXX(xi, yi, ri) * xDot[i * sx] + (hasY ? mixed * yDot[i * sy] : T.Zero);
                gxDot[i * sx] += gDot[i] * TRule.DX(xi, yi, ri) + g[i] * curvature;
            }
            if (hasY)
            {
                var curvature = TRule.DYY(xi, yi, ri) * yDot[i * sy] + (hasX ? mixed * xDot[i * sx] : T.Zero);
                gyDot[i * sy] += gDot[i] * TRule.DY(xi, yi, ri) + g[i] * curvature;
            }
        }
    }

    public override T Value(T x, T y, T c) => TRule.Value(x, y);
    public override T DX(T x, T y, T r, T c) => TRule.DX(x, y, r);
    public override T DY(T x, T y, T r) => TRule.DY(x, y, r);
}

// ----- Reductions and selection: linear or bilinear, spelled out -----

/// <summary>Shared helpers of the reductions.</summary>
internal static class Reduce<T> where T : IFloatingPointIeee754<T>
{
    public static T Sum(ReadOnlySpan<T> x)
    {
        var sum = T.Zero;
        foreach (var v in x) sum += v;
        return sum;
    }

    public static void AddScalar(Span<T> target, T value)
    {
        for (var i = 0; i < target.Length; i++) target[i] += value;
    }

    public static T Dot(ReadOnlySpan<T> x, ReadOnlySpan<T> y)
    {
        var sum = T.Zero;
        for (var i = 0; i < x.Length; i++) sum += x[i] * y[i];
        return sum;
    }
}

/// <summary>A reduction to one number whose value at a single number is that number (sum, mean, min, max of a scalar).</summary>
internal abstract class ReductionKernel<T> : OpKernel<T> where T : IFloatingPointIeee754<T>
{
    public override T Value(T x, T y, T c) => x;
    public override T DX(T x, T y, T r, T c) => T.One;
}

internal sealed class SumKernel<T> : ReductionKernel<T> where T : IFloatingPointIeee754<T>
{
    public override void Forward(ReadOnlySpan<T> x, ReadOnlySpan<T> y, T c, int index, Span<T> r) => r[0] = TensorPrimitives.Sum(x);
    public override void Backward(ReadOnlySpan<T> x, ReadOnlySpan<T> y, ReadOnlySpan<T> r, T c, int index,
        ReadOnlySpan<T> g, Span<T> gx, Span<T> gy) => TensorPrimitives.Add(gx, g[0], gx);
    public override void Tangent(ReadOnlySpan<T> x, ReadOnlySpan<T> y, ReadOnlySpan<T> r, T c, int index,
        ReadOnlySpan<T> xDot, ReadOnlySpan<T> yDot, Span<T> rDot) => rDot[0] = Reduce<T>.Sum(xDot);
    public override void SecondBackward(ReadOnlySpan<T> x, ReadOnlySpan<T> y, ReadOnlySpan<T> r, T c, int index,
        ReadOnlySpan<T> xDot, ReadOnlySpan<T> yDot, ReadOnlySpan<T> g, ReadOnlySpan<T> gDot, Span<T> gxDot, Span<T> gyDot) =>
        Reduce<T>.AddScalar(gxDot, gDot[0]);
}

internal sealed class MeanKernel<T> : ReductionKernel<T> where T : IFloatingPointIeee754<T>
{
    public override void Forward(ReadOnlySpan<T> x, ReadOnlySpan<T> y, T c, int index, Span<T> r) =>
        r[0] = TensorPrimitives.Sum(x) / T.CreateChecked(x.Length);
    public override void Backward(ReadOnlySpan<T> x, ReadOnlySpan<T> y, ReadOnlySpan<T> r, T c, int index,
        ReadOnlySpan<T> g, Span<T> gx, Span<T> gy) => TensorPrimitives.Add(gx, g[0] / T.CreateChecked(x.Length), gx);
    public override void Tangent(ReadOnlySpan<T> x, ReadOnlySpan<T> y, ReadOnlySpan<T> r, T c, int index,
        ReadOnlySpan<T> xDot, ReadOnlySpan<T> yDot, Span<T> rDot) => rDot[0] = Reduce<T>.Sum(xDot) / T.CreateChecked(x.Length);
    public override void SecondBackward(ReadOnlySpan<T> x, ReadOnlySpan<T> y, ReadOnlySpan<T> r, T c, int index,
        ReadOnlySpan<T> xDot, ReadOnlySpan<T> yDot, ReadOnlySpan<T> g, ReadOnlySpan<T> gDot, Span<T> gxDot, Span<T> gyDot) =>
        Reduce<T>.AddScalar(gxDot, gDot[0] / T.CreateChecked(x.Length));
}

internal sealed class DotKernel<T> : OpKernel<T> where T : IFloatingPointIeee754<T>
{
    public override void Forward(ReadOnlySpan<T> x, ReadOnlySpan<T> y, T c, int index, Span<T> r) => r[0] = TensorPrimitives.Dot(x, y);

    public override void Backward(ReadOnlySpan<T> x, ReadOnlySpan<T> y, ReadOnlySpan<T> r, T c, int index,
        ReadOnlySpan<T> g, Span<T> gx, Span<T> gy)
    {
        if (!gx.IsEmpty) TensorPrimitives.MultiplyAdd(y, g[0], gx, gx);
        if (!gy.IsEmpty) TensorPrimitives.MultiplyAdd(x, g[0], gy, gy);
    }

    public override void Tangent(ReadOnlySpan<T> x, ReadOnlySpan<T> y, ReadOnlySpan<T> r, T c, int index,
        ReadOnlySpan<T> xDot, ReadOnlySpan<T> yDot, Span<T> rDot) =>
        rDot[0] = (xDot.IsEmpty ? T.Zero : Reduce<T>.Dot(xDot, y)) + (yDot.IsEmpty ? T.Zero : Reduce<T>.Dot(x, yDot));

    public override void SecondBackward(ReadOnlySpan<T> x, ReadOnlySpan<T> y, ReadOnlySpan<T> r, T c, int index,
        ReadOnlySpan<T> xDot, ReadOnlySpan<T> yDot, ReadOnlySpan<T> g, ReadOnlySpan<T> gDot, Span<T> gxDot, Span<T> gyDot)
    {
        T g0 = g[0], gDot0 = gDot[0];
        for (var i = 0; i < gxDot.Length; i++) gxDot[i] += gDot0 * y[i] + (yDot.IsEmpty ? T.Zero : g0 * yDot[i]);
        for (var i = 0; i < gyDot.Length; i++) gyDot[i] += gDot0 * x[i] + (xDot.IsEmpty ? T.Zero : g0 * xDot[i]);
    }

    public override T Value(T x, T y, T c) => x * y;
    public override T DX(T x, T y, T r, T c) => y;
    public override T DY(T x, T y, T r) => x;
}

/// <summary>min(v) or max(v): a NaN element wins; tied extremes share the gradient evenly (PyTorch's convention).</summary>
internal abstract class ExtremeKernel<T>(bool max) : ReductionKernel<T> where T : IFloatingPointIeee754<T>
{
    public override void Forward(ReadOnlySpan<T> x, ReadOnlySpan<T> y, T c, int index, Span<T> r)
    {
        var best = x[0];
        foreach (var v in x)
        {
            if (T.IsNaN(v)) { best = v; break; }
            if (max ? v > best : v < best) best = v;
        }
        r[0] = best;
    }

    public override void Backward(ReadOnlySpan<T> x, ReadOnlySpan<T> y, ReadOnlySpan<T> r, T c, int index,
        ReadOnlySpan<T> g, Span<T> gx, Span<T> gy) => Share(x, r[0], g[0], gx);

    public override void Tangent(ReadOnlySpan<T> x, ReadOnlySpan<T> y, ReadOnlySpan<T> r, T c, int index,
        ReadOnlySpan<T> xDot, ReadOnlySpan<T> yDot, Span<T> rDot)
    {
        var ties = TieCount(x, r[0]);
        var sum = T.Zero;
        if (ties > 0)
        {
            for (var i = 0; i < x.Length; i++) if (x[i] == r[0]) sum += xDot[i];
            sum /= T.CreateChecked(ties);
        }
        rDot[0] = sum;
    }

    public override void SecondBackward(ReadOnlySpan<T> x, ReadOnlySpan<T> y, ReadOnlySpan<T> r, T c, int index,
        ReadOnlySpan<T> xDot, ReadOnlySpan<T> yDot, ReadOnlySpan<T> g, ReadOnlySpan<T> gDot, Span<T> gxDot, Span<T> gyDot) =>
        Share(x, r[0], gDot[0], gxDot);

    static int TieCount(ReadOnlySpan<T> x, T extreme)
    {
        var ties = 0;
        foreach (var v in x) if (v == extreme) ties++;
        return ties;
    }

    static void Share(ReadOnlySpan<T> x, T extreme, T g, Span<T> gx)
    {
        if (gx.IsEmpty) return;
        var ties = TieCount(x, extreme);
        if (ties == 0) return;
        var share = g / T.CreateChecked(ties);
        for (var i = 0; i < x.Length; i++) if (x[i] == extreme) gx[i] += share;
    }
}

internal sealed class MinKernel<T>() : ExtremeKernel<T>(max: false) where T : IFloatingPointIeee754<T>;

internal sealed class MaxKernel<T>() : ExtremeKernel<T>(max: true) where T : IFloatingPointIeee754<T>;

/// <summary>One element of a vector, at the zero-based index the node holds.</summary>
internal sealed class IndexKernel<T> : ReductionKernel<T> where T : IFloatingPointIeee754<T>
{
    public override void Forward(ReadOnlySpan<T> x, ReadOnlySpan<T> y, T c, int index, Span<T> r) => r[0] = x[index];
    public override void Backward(ReadOnlySpan<T> x, ReadOnlySpan<T> y, ReadOnlySpan<T> r, T c, int index,
        ReadOnlySpan<T> g, Span<T> gx, Span<T> gy)
    {
        if (!gx.IsEmpty) gx[index] += g[0];
    }
    public override void Tangent(ReadOnlySpan<T> x, ReadOnlySpan<T> y, ReadOnlySpan<T> r, T c, int index,
        ReadOnlySpan<T> xDot, ReadOnlySpan<T> yDot, Span<T> rDot) => rDot[0] = xDot[index];
    public override void SecondBackward(ReadOnlySpan<T> x, ReadOnlySpan<T> y, ReadOnlySpan<T> r, T c, int index,
        ReadOnlySpan<T> xDot, ReadOnlySpan<T> yDot, ReadOnlySpan<T> g, ReadOnlySpan<T> gDot, Span<T> gxDot, Span<T> gyDot)
    {
        if (!gxDot.IsEmpty) gxDot[index] += gDot[0];
    }
}
