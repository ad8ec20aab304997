using System.Numerics;
using System.Buffers;
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

/// <summary>
/// prod(v). The gradient is the product of the other elements, formed from prefix and suffix products rather than
/// r / x_i, so that zeros are exact (PyTorch's prod_backward does the same): with one zero, only that element has
/// a gradient; with two, none has. The Hessian's (i, j) entry is the product of all but i and j.
/// </summary>
internal sealed class ProdKernel<T> : ReductionKernel<T> where T : IFloatingPointIeee754<T>
{
    public override void Forward(ReadOnlySpan<T> x, ReadOnlySpan<T> y, T c, int index, Span<T> r)
    {
        var product = T.One;
        foreach (var v in x) product *= v;
        r[0] = product;
    }

    public override void Backward(ReadOnlySpan<T> x, ReadOnlySpan<T> y, ReadOnlySpan<T> r, T c, int index,
        ReadOnlySpan<T> g, Span<T> gx, Span<T> gy)
    {
        if (gx.IsEmpty) return;
        Others(x, default, g[0], T.Zero, gx);
    }

    public override void Tangent(ReadOnlySpan<T> x, ReadOnlySpan<T> y, ReadOnlySpan<T> r, T c, int index,
        ReadOnlySpan<T> xDot, ReadOnlySpan<T> yDot, Span<T> rDot)
    {
        // d prod = Σ_i (product of the others) · xDot_i: forward mode through the running product.
        T product = T.One, tangent = T.Zero;
        for (var i = 0; i < x.Length; i++)
        {
            tangent = tangent * x[i] + product * xDot[i];
            product *= x[i];
        }
        rDot[0] = tangent;
    }

    public override void SecondBackward(ReadOnlySpan<T> x, ReadOnlySpan<T> y, ReadOnlySpan<T> r, T c, int index,
        ReadOnlySpan<T> xDot, ReadOnlySpan<T> yDot, ReadOnlySpan<T> g, ReadOnlySpan<T> gDot, Span<T> gxDot, Span<T> gyDot)
    {
        if (gxDot.IsEmpty) return;
        Others(x, xDot, gDot[0], g[0], gxDot);
    }

    /// <summary>
    /// target_i += a · P_i + b · dP_i, where P_i is the product of all elements but i and dP_i its tangent along
    /// xDot (zero when xDot is empty), from prefix and suffix products and their tangents.
    /// </summary>
    static void Others(ReadOnlySpan<T> x, ReadOnlySpan<T> xDot, T a, T b, Span<T> target)
    {
        var n = x.Length;
        var rented = ArrayPool<T>.Shared.Rent(2 * n);
        try
        {
            Span<T> suffix = rented.AsSpan(0, n), suffixDot = rented.AsSpan(n, n);
            T s = T.One, sDot = T.Zero;
            for (var i = n - 1; i >= 0; i--)
            {
                suffix[i] = s;
                suffixDot[i] = sDot;
                if (!xDot.IsEmpty) sDot = sDot * x[i] + s * xDot[i];
                s *= x[i];
            }
            T p = T.One, pDot = T.Zero;
            for (var i = 0; i < n; i++)
            {
                var others = p * suffix[i];
                var othersDot = pDot * suffix[i] + p * suffixDot[i];
                target[i] += a * others + (xDot.IsEmpty ? T.Zero : b * othersDot);
                if (!xDot.IsEmpty) pDot = pDot * x[i] + p * xDot[i];
                p *= x[i];
            }
        }
        finally
        {
            ArrayPool<T>.Shared.Return(rented);
        }
    }
}

/// <summary>
/// logsumexp(v) = m + log Σ exp(v_i - m) with m = max(v): no overflow, and exact for a single element. Its gradient
/// is softmax(v), s_i = exp(v_i - r); its Hessian diag(s) - s sᵀ. All elements -inf give -inf with gradient 0, as
/// PyTorch.
/// </summary>
internal sealed class LogSumExpKernel<T> : ReductionKernel<T> where T : IFloatingPointIeee754<T>
{
    public override void Forward(ReadOnlySpan<T> x, ReadOnlySpan<T> y, T c, int index, Span<T> r)
    {
        var (m, sum) = Normaliser(x);
        r[0] = T.IsFinite(m) ? m + T.Log(sum) : m;
    }

    /// <summary>
    /// The max and Σ exp(v_i - max), from which s_i = exp(v_i - max) / sum: more accurate than exp(v_i - r), whose r
    /// carries the rounding of a large max. All elements -inf give a zero gradient.
    /// </summary>
    static (T Max, T Sum) Normaliser(ReadOnlySpan<T> x)
    {
        var m = TensorPrimitives.Max(x);
        if (!T.IsFinite(m)) return (m, T.IsNegativeInfinity(m) ? T.PositiveInfinity : T.NaN);
        var sum = T.Zero;
        foreach (var v in x) sum += T.Exp(v - m);
        return (m, sum);
    }

    static T Softmax(T v, (T Max, T Sum) n) => T.IsNegativeInfinity(n.Max) ? T.Zero : T.Exp(v - n.Max) / n.Sum;

    public override void Backward(ReadOnlySpan<T> x, ReadOnlySpan<T> y, ReadOnlySpan<T> r, T c, int index,
        ReadOnlySpan<T> g, Span<T> gx, Span<T> gy)
    {
        if (gx.IsEmpty) return;
        var n = Normaliser(x);
        for (var i = 0; i < x.Length; i++) gx[i] += g[0] * Softmax(x[i], n);
    }

    public override void Tangent(ReadOnlySpan<T> x, ReadOnlySpan<T> y, ReadOnlySpan<T> r, T c, int index,
        ReadOnlySpan<T> xDot, ReadOnlySpan<T> yDot, Span<T> rDot)
    {
        var n = Normaliser(x);
        var sum = T.Zero;
        for (var i = 0; i < x.Length; i++) sum += Softmax(x[i], n) * xDot[i];
        rDot[0] = sum;
    }

    public override void SecondBackward(ReadOnlySpan<T> x, ReadOnlySpan<T> y, ReadOnlySpan<T> r, T c, int index,
        ReadOnlySpan<T> xDot, ReadOnlySpan<T> yDot, ReadOnlySpan<T> g, ReadOnlySpan<T> gDot, Span<T> gxDot, Span<T> gyDot)
    {
        if (gxDot.IsEmpty) return;
        var n = Normaliser(x);
        var mean = T.Zero;  // s · xDot, the tangent of r
        for (var i = 0; i < x.Length; i++) mean += Softmax(x[i], n) * xDot[i];
        for (var i = 0; i < x.Length; i++)
        {
            var s = Softmax(x[i], n);
            gxDot[i] += gDot[0] * s + g[0] * s * (xDot[i] - mean);
        }
    }
}

/// <summary>cumsum(v): r_i = v_1 + … + v_i, a vector; its transpose, the backward sweep, sums from the end.</summary>
internal sealed class CumSumKernel<T> : ReductionKernel<T> where T : IFloatingPointIeee754<T>
{
    public override void Forward(ReadOnlySpan<T> x, ReadOnlySpan<T> y, T c, int index, Span<T> r) => Scan(x, r);

    static void Scan(ReadOnlySpan<T> x, Span<T> r)
    {
        var sum = T.Zero;
        for (var i = 0; i < x.Length; i++) r[i] = sum += x[i];
    }

    static void ScanBack(ReadOnlySpan<T> g, Span<T> gx)
    {
        if (gx.IsEmpty) return;
        var sum = T.Zero;
        for (var i = g.Length - 1; i >= 0; i--) gx[i] += sum += g[i];
    }

    public override void Backward(ReadOnlySpan<T> x, ReadOnlySpan<T> y, ReadOnlySpan<T> r, T c, int index,
        ReadOnlySpan<T> g, Span<T> gx, Span<T> gy) => ScanBack(g, gx);
    public override void Tangent(ReadOnlySpan<T> x, ReadOnlySpan<T> y, ReadOnlySpan<T> r, T c, int index,
        ReadOnlySpan<T> xDot, ReadOnlySpan<T> yDot, Span<T> rDot) => Scan(xDot, rDot);
    public override void SecondBackward(ReadOnlySpan<T> x, ReadOnlySpan<T> y, ReadOnlySpan<T> r, T c, int index,
        ReadOnlySpan<T> xDot, ReadOnlySpan<T> yDot, ReadOnlySpan<T> g, ReadOnlySpan<T> gDot, Span<T> gxDot, Span<T> gyDot) =>
        ScanBack(gDot, gxDot);
}

/// <summary>v[a:b]: a run of elements from the node's index; its transpose adds the gradient back into that run.</summary>
internal sealed class SliceKernel<T> : ReductionKernel<T> where T : IFloatingPointIeee754<T>
{
    public override void Forward(ReadOnlySpan<T> x, ReadOnlySpan<T> y, T c, int index, Span<T> r) => x.Slice(index, r.Length).CopyTo(r);

    static void AddBack(ReadOnlySpan<T> g, int index, Span<T> gx)
    {
        if (gx.IsEmpty) return;
        var run = gx.Slice(index, g.Length);
        for (var i = 0; i < g.Length; i++) run[i] += g[i];
    }

    public override void Backward(ReadOnlySpan<T> x, ReadOnlySpan<T> y, ReadOnlySpan<T> r, T c, int index,
        ReadOnlySpan<T> g, Span<T> gx, Span<T> gy) => AddBack(g, index, gx);
    public override void Tangent(ReadOnlySpan<T> x, ReadOnlySpan<T> y, ReadOnlySpan<T> r, T c, int index,
        ReadOnlySpan<T> xDot, ReadOnlySpan<T> yDot, Span<T> rDot) => xDot.Slice(index, rDot.Length).CopyTo(rDot);
    public override void SecondBackward(ReadOnlySpan<T> x, ReadOnlySpan<T> y, ReadOnlySpan<T> r, T c, int index,
        ReadOnlySpan<T> xDot, ReadOnlySpan<T> yDot, ReadOnlySpan<T> g, ReadOnlySpan<T> gDot, Span<T> gxDot, Span<T> gyDot) =>
        AddBack(gDot, index, gxDot);
}

/// <summary>diff(v): r_i = v_(i+1) - v_i, one element shorter (R's diff, lag 1).</summary>
internal sealed class DiffKernel<T> : ReductionKernel<T> where T : IFloatingPointIeee754<T>
{
    public override void Forward(ReadOnlySpan<T> x, ReadOnlySpan<T> y, T c, int index, Span<T> r) => Difference(x, r);

    static void Difference(ReadOnlySpan<T> x, Span<T> r)
    {
        for (var i = 0; i < r.Length; i++) r[i] = x[i + 1] - x[i];
    }

    static void Transpose(ReadOnlySpan<T> g, Span<T> gx)
    {
        if (gx.IsEmpty) return;
        for (var i = 0; i < g.Length; i++)
        {
            gx[i + 1] += g[i];
            gx[i] -= g[i];
        }
    }

    public override void Backward(ReadOnlySpan<T> x, ReadOnlySpan<T> y, ReadOnlySpan<T> r, T c, int index,
        ReadOnlySpan<T> g, Span<T> gx, Span<T> gy) => Transpose(g, gx);
    public override void Tangent(ReadOnlySpan<T> x, ReadOnlySpan<T> y, ReadOnlySpan<T> r, T c, int index,
        ReadOnlySpan<T> xDot, ReadOnlySpan<T> yDot, Span<T> rDot) => Difference(xDot, rDot);
    public override void SecondBackward(ReadOnlySpan<T> x, ReadOnlySpan<T> y, ReadOnlySpan<T> r, T c, int index,
        ReadOnlySpan<T> xDot, ReadOnlySpan<T> yDot, ReadOnlySpan<T> g, ReadOnlySpan<T> gDot, Span<T> gxDot, Span<T> gyDot) =>
        Transpose(gDot, gxDot);
}
