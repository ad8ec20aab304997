using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Autograd.Benchmarks;

/// <summary>
/// The fastest hand-written floors of W7 found so far: <see cref="Vector{T}"/> (256 bits here) with fused multiply-adds,
/// the row's working set in registers or L1, and the gradient of a parameter vector kept in registers where it fits.
/// </summary>
public static class MatrixFloors
{
    /// <summary>
    /// The two-layer network over rows [start, end): per row, pre = x1 W1[1,:] + x2 W1[2,:] + b1 and out = relu(pre)·w2 + b2
    /// in one pass over the hidden units, then the backward pass over them with pre from L1. Adds the gradients (of
    /// scale times the sum of squared residuals) into gw1 (both rows of W1, 2H), gb1 and gw2, and returns the sum of
    /// squared residuals and the gradient of b2. H must be a multiple of twice <see cref="Vector{T}.Count"/>.
    /// </summary>
    public static (double Loss, double Gb2) Network(double[] x1, double[] x2, double[] y, double[] w1, double[] b1, double[] w2, double b2,
        double scale, double[] pre, double[] gw1, double[] gb1, double[] gw2, int start, int end)
    {
        int hidden = b1.Length, width = Vector<double>.Count;
        ref var first = ref MemoryMarshal.GetArrayDataReference(w1);
        ref var second = ref Unsafe.Add(ref first, hidden);
        ref var bias = ref MemoryMarshal.GetArrayDataReference(b1);
        ref var output = ref MemoryMarshal.GetArrayDataReference(w2);
        ref var p0 = ref MemoryMarshal.GetArrayDataReference(pre);
        ref var gFirst = ref MemoryMarshal.GetArrayDataReference(gw1);
        ref var gSecond = ref Unsafe.Add(ref gFirst, hidden);
        ref var gBias = ref MemoryMarshal.GetArrayDataReference(gb1);
        ref var gOutput = ref MemoryMarshal.GetArrayDataReference(gw2);
        double loss = 0, gb2 = 0;
        for (var i = start; i < end; i++)
        {
            Vector<double> a = new(x1[i]), b = new(x2[i]), sum0 = default, sum1 = default;
            for (var j = 0; j < hidden; j += 2 * width)
            {
                var u = (nuint)j;
                var v = (nuint)(j + width);
                var pu = Vector.FusedMultiplyAdd(b, Vector.LoadUnsafe(ref second, u), Vector.FusedMultiplyAdd(a, Vector.LoadUnsafe(ref first, u), Vector.LoadUnsafe(ref bias, u)));
                var pv = Vector.FusedMultiplyAdd(b, Vector.LoadUnsafe(ref second, v), Vector.FusedMultiplyAdd(a, Vector.LoadUnsafe(ref first, v), Vector.LoadUnsafe(ref bias, v)));
                pu.StoreUnsafe(ref p0, u);
                pv.StoreUnsafe(ref p0, v);
                sum0 = Vector.FusedMultiplyAdd(Vector.Max(pu, Vector<double>.Zero), Vector.LoadUnsafe(ref output, u), sum0);
                sum1 = Vector.FusedMultiplyAdd(Vector.Max(pv, Vector<double>.Zero), Vector.LoadUnsafe(ref output, v), sum1);
            }
            var r = y[i] - (Vector.Sum(sum0 + sum1) + b2);
            loss += r * r;
            var dOut = -2 * r * scale;
            gb2 += dOut;
            Vector<double> d = new(dOut);
            for (var j = 0; j < hidden; j += width)
            {
                var u = (nuint)j;
                var p = Vector.LoadUnsafe(ref p0, u);
                Vector.FusedMultiplyAdd(Vector.Max(p, Vector<double>.Zero), d, Vector.LoadUnsafe(ref gOutput, u)).StoreUnsafe(ref gOutput, u);
                var gh = Vector.ConditionalSelect(Vector.GreaterThan(p, Vector<double>.Zero), d * Vector.LoadUnsafe(ref output, u), Vector<double>.Zero);
                (Vector.LoadUnsafe(ref gBias, u) + gh).StoreUnsafe(ref gBias, u);
                Vector.FusedMultiplyAdd(gh, a, Vector.LoadUnsafe(ref gFirst, u)).StoreUnsafe(ref gFirst, u);
                Vector.FusedMultiplyAdd(gh, b, Vector.LoadUnsafe(ref gSecond, u)).StoreUnsafe(ref gSecond, u);
            }
        }
        return (loss, gb2);
    }

    /// <summary>
    /// Logistic regression over rows [start, end) of x (features columns, a multiple of <see cref="Vector{T}.Count"/>, at most
    /// 8 vectors): z = b0 + x·w for a block of rows with w in registers, exp and log vectorised over the block
    /// (softplus(z) = max(z, 0) + log(1 + e^-|z|), sigmoid from the same exponential), then the gradient Σ (sigmoid - y) x
    /// in registers. Returns the sum of losses and the gradient sum for b0; adds the w gradient sum into gw.
    /// </summary>
    public static (double Loss, double Gb0) Logistic(double[] x, double[] y, double[] w, double b0, int features,
        double[] z, double[] e, double[] l, double[] gw, int start, int end)
    {
        var width = Vector<double>.Count;
        var vectors = features / width;
        Span<Vector<double>> weights = stackalloc Vector<double>[8], gradient = stackalloc Vector<double>[8];
        for (var k = 0; k < vectors; k++) (weights[k], gradient[k]) = (new Vector<double>(w.AsSpan(k * width)), default);
        ref var x0 = ref MemoryMarshal.GetArrayDataReference(x);
        double loss = 0, gb0 = 0;
        for (var block = start; block < end; block += z.Length)
        {
            var count = Math.Min(z.Length, end - block);
            for (var r = 0; r < count; r++)
            {
                var row = (nuint)((block + r) * features);
                var acc = Vector<double>.Zero;
                for (var k = 0; k < vectors; k++) acc = Vector.FusedMultiplyAdd(Vector.LoadUnsafe(ref x0, row + (nuint)(k * width)), weights[k], acc);
                z[r] = b0 + Vector.Sum(acc);
            }
            Span<double> zs = z.AsSpan(0, count), es = e.AsSpan(0, count), ls = l.AsSpan(0, count);
            TensorPrimitives.Abs(zs, es);
            TensorPrimitives.Negate(es, es);
            TensorPrimitives.Exp(es, es);
            TensorPrimitives.Add(es, 1.0, ls);
            TensorPrimitives.Log(ls, ls);
            for (var r = 0; r < count; r++)
            {
                double zr = zs[r], er = es[r], yr = y[block + r];
                loss += Math.Max(zr, 0) + ls[r] - yr * zr;
                var g = (zr >= 0 ? 1 / (1 + er) : er / (1 + er)) - yr;
                gb0 += g;
                var vg = new Vector<double>(g);
                var row = (nuint)((block + r) * features);
                for (var k = 0; k < vectors; k++) gradient[k] = Vector.FusedMultiplyAdd(Vector.LoadUnsafe(ref x0, row + (nuint)(k * width)), vg, gradient[k]);
            }
        }
        for (var k = 0; k < vectors; k++) (new Vector<double>(gw.AsSpan(k * width)) + gradient[k]).CopyTo(gw.AsSpan(k * width));
        return (loss, gb0);
    }
}
