using System.Numerics;
using System.Numerics.Tensors;

namespace Autograd;

/// <summary>
/// The four sweeps over one node, derived from the rules in Derivatives.cs: value, vector-Jacobian
/// product, tangent (Jacobian-vector product) and the second-order adjoint used for Hessians.
/// An empty span stands for an input that does not require grad (no adjoint, zero tangent).
/// A scalar operand broadcasts against a vector one: its stride is 0.
/// </summary>
internal static class Kernels<T> where T : IFloatingPointIeee754<T>
{
    public static void Forward(Op op, ReadOnlySpan<T> x, ReadOnlySpan<T> y, T c, int index, Span<T> r)
    {
        if (VectorKernels<T>.TryForward(op, x, y, c, r)) return;
        switch (op)
        {
            case Op.Neg: UnaryForward<NegRule>(x, c, r); break;
            case Op.Exp: UnaryForward<ExpRule>(x, c, r); break;
            case Op.Log: UnaryForward<LogRule>(x, c, r); break;
            case Op.Sqrt: UnaryForward<SqrtRule>(x, c, r); break;
            case Op.Abs: UnaryForward<AbsRule>(x, c, r); break;
            case Op.Sin: UnaryForward<SinRule>(x, c, r); break;
            case Op.Cos: UnaryForward<CosRule>(x, c, r); break;
            case Op.Tan: UnaryForward<TanRule>(x, c, r); break;
            case Op.Tanh: UnaryForward<TanhRule>(x, c, r); break;
            case Op.Sigmoid: UnaryForward<SigmoidRule>(x, c, r); break;
            case Op.Relu: UnaryForward<ReluRule>(x, c, r); break;
            case Op.Softplus: UnaryForward<SoftplusRule>(x, c, r); break;
            case Op.Square: UnaryForward<SquareRule>(x, c, r); break;
            case Op.PowConstant: UnaryForward<PowConstantRule>(x, c, r); break;
            case Op.Add: BinaryForward<AddRule>(x, y, r); break;
            case Op.Sub: BinaryForward<SubRule>(x, y, r); break;
            case Op.Mul: BinaryForward<MulRule>(x, y, r); break;
            case Op.Div: BinaryForward<DivRule>(x, y, r); break;
            case Op.Pow: BinaryForward<PowRule>(x, y, r); break;
            case Op.Minimum: BinaryForward<MinimumRule>(x, y, r); break;
            case Op.Maximum: BinaryForward<MaximumRule>(x, y, r); break;
            case Op.Sum: r[0] = TensorPrimitives.Sum(x); break;
            case Op.Mean: r[0] = TensorPrimitives.Sum(x) / T.CreateChecked(x.Length); break;
            case Op.Dot: r[0] = TensorPrimitives.Dot(x, y); break;
            case Op.Min: r[0] = Extreme(x, max: false); break;
            case Op.Max: r[0] = Extreme(x, max: true); break;
            case Op.Index: r[0] = x[index]; break;
            default: throw new InvalidOperationException($"Op {op} has no forward rule.");
        }
    }

    public static void Backward(Op op, ReadOnlySpan<T> x, ReadOnlySpan<T> y, ReadOnlySpan<T> r, T c, int index,
        ReadOnlySpan<T> g, Span<T> gx, Span<T> gy)
    {
        if (VectorKernels<T>.TryBackward(op, x, y, r, c, g, gx, gy)) return;
        switch (op)
        {
            case Op.Neg: UnaryBackward<NegRule>(x, r, c, g, gx); break;
            case Op.Exp: UnaryBackward<ExpRule>(x, r, c, g, gx); break;
            case Op.Log: UnaryBackward<LogRule>(x, r, c, g, gx); break;
            case Op.Sqrt: UnaryBackward<SqrtRule>(x, r, c, g, gx); break;
            case Op.Abs: UnaryBackward<AbsRule>(x, r, c, g, gx); break;
            case Op.Sin: UnaryBackward<SinRule>(x, r, c, g, gx); break;
            case Op.Cos: UnaryBackward<CosRule>(x, r, c, g, gx); break;
            case Op.Tan: UnaryBackward<TanRule>(x, r, c, g, gx); break;
            case Op.Tanh: UnaryBackward<TanhRule>(x, r, c, g, gx); break;
            case Op.Sigmoid: UnaryBackward<SigmoidRule>(x, r, c, g, gx); break;
            case Op.Relu: UnaryBackward<ReluRule>(x, r, c, g, gx); break;
            case Op.Softplus: UnaryBackward<SoftplusRule>(x, r, c, g, gx); break;
            case Op.Square: UnaryBackward<SquareRule>(x, r, c, g, gx); break;
            case Op.PowConstant: UnaryBackward<PowConstantRule>(x, r, c, g, gx); break;
            case Op.Add: BinaryBackward<AddRule>(x, y, r, g, gx, gy); break;
            case Op.Sub: BinaryBackward<SubRule>(x, y, r, g, gx, gy); break;
            case Op.Mul: BinaryBackward<MulRule>(x, y, r, g, gx, gy); break;
            case Op.Div: BinaryBackward<DivRule>(x, y, r, g, gx, gy); break;
            case Op.Pow: BinaryBackward<PowRule>(x, y, r, g, gx, gy); break;
            case Op.Minimum: BinaryBackward<MinimumRule>(x, y, r, g, gx, gy); break;
            case Op.Maximum: BinaryBackward<MaximumRule>(x, y, r, g, gx, gy); break;
            case Op.Sum: TensorPrimitives.Add(gx, g[0], gx); break;
            case Op.Mean: TensorPrimitives.Add(gx, g[0] / T.CreateChecked(x.Length), gx); break;
            case Op.Dot: DotBackward(x, y, g[0], gx, gy); break;
            case Op.Min or Op.Max: ExtremeBackward(x, r[0], g[0], gx); break;
            case Op.Index: gx[index] += g[0]; break;
            default: throw new InvalidOperationException($"Op {op} has no backward rule.");
        }
    }

    public static void Tangent(Op op, ReadOnlySpan<T> x, ReadOnlySpan<T> y, ReadOnlySpan<T> r, T c, int index,
        ReadOnlySpan<T> xDot, ReadOnlySpan<T> yDot, Span<T> rDot)
    {
        switch (op)
        {
            case Op.Neg: UnaryTangent<NegRule>(x, r, c, xDot, rDot); break;
            case Op.Exp: UnaryTangent<ExpRule>(x, r, c, xDot, rDot); break;
            case Op.Log: UnaryTangent<LogRule>(x, r, c, xDot, rDot); break;
            case Op.Sqrt: UnaryTangent<SqrtRule>(x, r, c, xDot, rDot); break;
            case Op.Abs: UnaryTangent<AbsRule>(x, r, c, xDot, rDot); break;
            case Op.Sin: UnaryTangent<SinRule>(x, r, c, xDot, rDot); break;
            case Op.Cos: UnaryTangent<CosRule>(x, r, c, xDot, rDot); break;
            case Op.Tan: UnaryTangent<TanRule>(x, r, c, xDot, rDot); break;
            case Op.Tanh: UnaryTangent<TanhRule>(x, r, c, xDot, rDot); break;
            case Op.Sigmoid: UnaryTangent<SigmoidRule>(x, r, c, xDot, rDot); break;
            case Op.Relu: UnaryTangent<ReluRule>(x, r, c, xDot, rDot); break;
            case Op.Softplus: UnaryTangent<SoftplusRule>(x, r, c, xDot, rDot); break;
            case Op.Square: UnaryTangent<SquareRule>(x, r, c, xDot, rDot); break;
            case Op.PowConstant: UnaryTangent<PowConstantRule>(x, r, c, xDot, rDot); break;
            case Op.Add: BinaryTangent<AddRule>(x, y, r, xDot, yDot, rDot); break;
            case Op.Sub: BinaryTangent<SubRule>(x, y, r, xDot, yDot, rDot); break;
            case Op.Mul: BinaryTangent<MulRule>(x, y, r, xDot, yDot, rDot); break;
            case Op.Div: BinaryTangent<DivRule>(x, y, r, xDot, yDot, rDot); break;
            case Op.Pow: BinaryTangent<PowRule>(x, y, r, xDot, yDot, rDot); break;
            case Op.Minimum: BinaryTangent<MinimumRule>(x, y, r, xDot, yDot, rDot); break;
            case Op.Maximum: BinaryTangent<MaximumRule>(x, y, r, xDot, yDot, rDot); break;
            case Op.Sum: rDot[0] = Sum(xDot); break;
            case Op.Mean: rDot[0] = Sum(xDot) / T.CreateChecked(x.Length); break;
            case Op.Dot: rDot[0] = (xDot.IsEmpty ? T.Zero : Dot(xDot, y)) + (yDot.IsEmpty ? T.Zero : Dot(x, yDot)); break;
            case Op.Min or Op.Max: rDot[0] = ExtremeTangent(x, r[0], xDot); break;
            case Op.Index: rDot[0] = xDot[index]; break;
            default: throw new InvalidOperationException($"Op {op} has no tangent rule.");
        }
    }

    /// <summary>Accumulates the tangents of the input adjoints: the second-order part of a Hessian-vector product.</summary>
    public static void SecondBackward(Op op, ReadOnlySpan<T> x, ReadOnlySpan<T> y, ReadOnlySpan<T> r, T c, int index,
        ReadOnlySpan<T> xDot, ReadOnlySpan<T> yDot, ReadOnlySpan<T> g, ReadOnlySpan<T> gDot, Span<T> gxDot, Span<T> gyDot)
    {
        switch (op)
        {
            case Op.Neg: UnarySecond<NegRule>(x, r, c, xDot, g, gDot, gxDot); break;
            case Op.Exp: UnarySecond<ExpRule>(x, r, c, xDot, g, gDot, gxDot); break;
            case Op.Log: UnarySecond<LogRule>(x, r, c, xDot, g, gDot, gxDot); break;
            case Op.Sqrt: UnarySecond<SqrtRule>(x, r, c, xDot, g, gDot, gxDot); break;
            case Op.Abs: UnarySecond<AbsRule>(x, r, c, xDot, g, gDot, gxDot); break;
            case Op.Sin: UnarySecond<SinRule>(x, r, c, xDot, g, gDot, gxDot); break;
            case Op.Cos: UnarySecond<CosRule>(x, r, c, xDot, g, gDot, gxDot); break;
            case Op.Tan: UnarySecond<TanRule>(x, r, c, xDot, g, gDot, gxDot); break;
            case Op.Tanh: UnarySecond<TanhRule>(x, r, c, xDot, g, gDot, gxDot); break;
            case Op.Sigmoid: UnarySecond<SigmoidRule>(x, r, c, xDot, g, gDot, gxDot); break;
            case Op.Relu: UnarySecond<ReluRule>(x, r, c, xDot, g, gDot, gxDot); break;
            case Op.Softplus: UnarySecond<SoftplusRule>(x, r, c, xDot, g, gDot, gxDot); break;
            case Op.Square: UnarySecond<SquareRule>(x, r, c, xDot, g, gDot, gxDot); break;
            case Op.PowConstant: UnarySecond<PowConstantRule>(x, r, c, xDot, g, gDot, gxDot); break;
            case Op.Add: BinarySecond<AddRule>(x, y, r, xDot, yDot, g, gDot, gxDot, gyDot); break;
            case Op.Sub: BinarySecond<SubRule>(x, y, r, xDot, yDot, g, gDot, gxDot, gyDot); break;
            case Op.Mul: BinarySecond<MulRule>(x, y, r, xDot, yDot, g, gDot, gxDot, gyDot); break;
            case Op.Div: BinarySecond<DivRule>(x, y, r, xDot, yDot, g, gDot, gxDot, gyDot); break;
            case Op.Pow: BinarySecond<PowRule>(x, y, r, xDot, yDot, g, gDot, gxDot, gyDot); break;
            case Op.Minimum: BinarySecond<MinimumRule>(x, y, r, xDot, yDot, g, gDot, gxDot, gyDot); break;
            case Op.Maximum: BinarySecond<MaximumRule>(x, y, r, xDot, yDot, g, gDot, gxDot, gyDot); break;
            case Op.Sum: AddScalar(gxDot, gDot[0]); break;
            case Op.Mean: AddScalar(gxDot, gDot[0] / T.CreateChecked(x.Length)); break;
            case Op.Dot: DotSecond(x, y, xDot, yDot, g[0], gDot[0], gxDot, gyDot); break;
            case Op.Min or Op.Max: ExtremeBackward(x, r[0], gDot[0], gxDot); break;
            case Op.Index: gxDot[index] += gDot[0]; break;
            default: throw new InvalidOperationException($"Op {op} has no second-order rule.");
        }
    }

    // ----- Elementwise, one input -----

    static void UnaryForward<TRule>(ReadOnlySpan<T> x, T c, Span<T> r) where TRule : IUnaryRule
    {
        for (var i = 0; i < r.Length; i++) r[i] = TRule.Value(x[i], c);
    }

    static void UnaryBackward<TRule>(ReadOnlySpan<T> x, ReadOnlySpan<T> r, T c, ReadOnlySpan<T> g, Span<T> gx)
        where TRule : IUnaryRule
    {
        if (gx.IsEmpty) return;
        for (var i = 0; i < r.Length; i++) gx[i] += g[i] * TRule.Slope(x[i], r[i], c);
    }

    static void UnaryTangent<TRule>(ReadOnlySpan<T> x, ReadOnlySpan<T> r, T c, ReadOnlySpan<T> xDot, Span<T> rDot)
        where TRule : IUnaryRule
    {
        for (var i = 0; i < r.Length; i++) rDot[i] = TRule.Slope(x[i], r[i], c) * xDot[i];
    }

    static void UnarySecond<TRule>(ReadOnlySpan<T> x, ReadOnlySpan<T> r, T c, ReadOnlySpan<T> xDot,
        ReadOnlySpan<T> g, ReadOnlySpan<T> gDot, Span<T> gxDot) where TRule : IUnaryRule
    {
        if (gxDot.IsEmpty) return;
        for (var i = 0; i < r.Length; i++)
            gxDot[i] += gDot[i] * TRule.Slope(x[i], r[i], c) + g[i] * TRule.Curvature(x[i], r[i], c) * xDot[i];
    }

    // ----- Elementwise, two inputs -----

    static int Stride(ReadOnlySpan<T> operand, int resultLength) => operand.Length == resultLength ? 1 : 0;

    static void BinaryForward<TRule>(ReadOnlySpan<T> x, ReadOnlySpan<T> y, Span<T> r) where TRule : IBinaryRule
    {
        int sx = Stride(x, r.Length), sy = Stride(y, r.Length);
        for (var i = 0; i < r.Length; i++) r[i] = TRule.Value(x[i * sx], y[i * sy]);
    }

    static void BinaryBackward<TRule>(ReadOnlySpan<T> x, ReadOnlySpan<T> y, ReadOnlySpan<T> r, ReadOnlySpan<T> g,
        Span<T> gx, Span<T> gy) where TRule : IBinaryRule
    {
        int sx = Stride(x, r.Length), sy = Stride(y, r.Length);
        if (!gx.IsEmpty)
            for (var i = 0; i < r.Length; i++) gx[i * sx] += g[i] * TRule.DX(x[i * sx], y[i * sy], r[i]);
        if (!gy.IsEmpty)
            for (var i = 0; i < r.Length; i++) gy[i * sy] += g[i] * TRule.DY(x[i * sx], y[i * sy], r[i]);
    }

    static void BinaryTangent<TRule>(ReadOnlySpan<T> x, ReadOnlySpan<T> y, ReadOnlySpan<T> r,
        ReadOnlySpan<T> xDot, ReadOnlySpan<T> yDot, Span<T> rDot) where TRule : IBinaryRule
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
    static void BinarySecond<TRule>(ReadOnlySpan<T> x, ReadOnlySpan<T> y, ReadOnlySpan<T> r,
        ReadOnlySpan<T> xDot, ReadOnlySpan<T> yDot, ReadOnlySpan<T> g, ReadOnlySpan<T> gDot,
        Span<T> gxDot, Span<T> gyDot) where TRule : IBinaryRule
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

    // ----- Reductions and selection -----

    static T Sum(ReadOnlySpan<T> x)
    {
        var sum = T.Zero;
        foreach (var v in x) sum += v;
        return sum;
    }

    static void AddScalar(Span<T> target, T value)
    {
        for (var i = 0; i < target.Length; i++) target[i] += value;
    }

    static T Dot(ReadOnlySpan<T> x, ReadOnlySpan<T> y)
    {
        var sum = T.Zero;
        for (var i = 0; i < x.Length; i++) sum += x[i] * y[i];
        return sum;
    }

    static void DotBackward(ReadOnlySpan<T> x, ReadOnlySpan<T> y, T g, Span<T> gx, Span<T> gy)
    {
        if (!gx.IsEmpty) TensorPrimitives.MultiplyAdd(y, g, gx, gx);
        if (!gy.IsEmpty) TensorPrimitives.MultiplyAdd(x, g, gy, gy);
    }

    static void DotSecond(ReadOnlySpan<T> x, ReadOnlySpan<T> y, ReadOnlySpan<T> xDot, ReadOnlySpan<T> yDot,
        T g, T gDot, Span<T> gxDot, Span<T> gyDot)
    {
        for (var i = 0; i < gxDot.Length; i++) gxDot[i] += gDot * y[i] + (yDot.IsEmpty ? T.Zero : g * yDot[i]);
        for (var i = 0; i < gyDot.Length; i++) gyDot[i] += gDot * x[i] + (xDot.IsEmpty ? T.Zero : g * xDot[i]);
    }

    static T Extreme(ReadOnlySpan<T> x, bool max)
    {
        var best = x[0];
        foreach (var v in x)
        {
            if (T.IsNaN(v)) return v;
            if (max ? v > best : v < best) best = v;
        }
        return best;
    }

    static int TieCount(ReadOnlySpan<T> x, T extreme)
    {
        var ties = 0;
        foreach (var v in x) if (v == extreme) ties++;
        return ties;
    }

    static void ExtremeBackward(ReadOnlySpan<T> x, T extreme, T g, Span<T> gx)
    {
        if (gx.IsEmpty) return;
        var ties = TieCount(x, extreme);
        if (ties == 0) return;
        var share = g / T.CreateChecked(ties);
        for (var i = 0; i < x.Length; i++) if (x[i] == extreme) gx[i] += share;
    }

    static T ExtremeTangent(ReadOnlySpan<T> x, T extreme, ReadOnlySpan<T> xDot)
    {
        var ties = TieCount(x, extreme);
        if (ties == 0) return T.Zero;
        var sum = T.Zero;
        for (var i = 0; i < x.Length; i++) if (x[i] == extreme) sum += xDot[i];
        return sum / T.CreateChecked(ties);
    }
}
