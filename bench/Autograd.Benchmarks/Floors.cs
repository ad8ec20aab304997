using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Autograd.Benchmarks;

/// <summary>
/// The hand-written floors of W3 and W4: one fused pass over the rows, forward and gradient together, with
/// <see cref="Vector{T}"/> (256 bits here) or <see cref="Vector512{T}"/> (AVX-512, where the hardware has it),
/// two vectors per step so that each sum has two independent accumulators, and optionally the rows split over two
/// threads the way the engine splits them (the caller takes the first half, a pool thread the second, and the caller
/// runs the second half itself if no pool thread has picked it up yet).
/// </summary>
public static class Floors
{
    /// <summary>Sums of r², r and r·x over rows [start, end) with r = y - (b0 + b1 x), Vector&lt;double&gt;, two accumulators per sum.</summary>
    public static (double Squares, double R, double Rx) LeastSquaresVectorT(double[] xs, double[] ys, double b0, double b1, int start, int end)
    {
        ref var x0 = ref MemoryMarshal.GetArrayDataReference(xs);
        ref var y0 = ref MemoryMarshal.GetArrayDataReference(ys);
        var w = Vector<double>.Count;
        Vector<double> vb0 = new(b0), vb1 = new(b1);
        Vector<double> sq0 = default, sq1 = default, r0 = default, r1 = default, rx0 = default, rx1 = default;
        var i = start;
        for (; i <= end - 2 * w; i += 2 * w)
        {
            var xa = Vector.LoadUnsafe(ref x0, (nuint)i);
            var xb = Vector.LoadUnsafe(ref x0, (nuint)(i + w));
            var ra = Vector.LoadUnsafe(ref y0, (nuint)i) - (vb0 + vb1 * xa);
            var rb = Vector.LoadUnsafe(ref y0, (nuint)(i + w)) - (vb0 + vb1 * xb);
            sq0 += ra * ra; sq1 += rb * rb;
            r0 += ra; r1 += rb;
            rx0 += ra * xa; rx1 += rb * xb;
        }
        double squares = Vector.Sum(sq0 + sq1), rs = Vector.Sum(r0 + r1), rxs = Vector.Sum(rx0 + rx1);
        for (; i < end; i++)
        {
            var r = ys[i] - (b0 + b1 * xs[i]);
            squares += r * r;
            rs += r;
            rxs += r * xs[i];
        }
        return (squares, rs, rxs);
    }

    /// <summary>The same sums with Vector512 (8 doubles), two accumulators per sum.</summary>
    public static (double Squares, double R, double Rx) LeastSquares512(double[] xs, double[] ys, double b0, double b1, int start, int end)
    {
        ref var x0 = ref MemoryMarshal.GetArrayDataReference(xs);
        ref var y0 = ref MemoryMarshal.GetArrayDataReference(ys);
        const int w = 8;
        Vector512<double> vb0 = Vector512.Create(b0), vb1 = Vector512.Create(b1);
        Vector512<double> sq0 = default, sq1 = default, r0 = default, r1 = default, rx0 = default, rx1 = default;
        var i = start;
        for (; i <= end - 2 * w; i += 2 * w)
        {
            var xa = Vector512.LoadUnsafe(ref x0, (nuint)i);
            var xb = Vector512.LoadUnsafe(ref x0, (nuint)(i + w));
            var ra = Vector512.LoadUnsafe(ref y0, (nuint)i) - (vb0 + vb1 * xa);
            var rb = Vector512.LoadUnsafe(ref y0, (nuint)(i + w)) - (vb0 + vb1 * xb);
            sq0 += ra * ra; sq1 += rb * rb;
            r0 += ra; r1 += rb;
            rx0 += ra * xa; rx1 += rb * xb;
        }
        double squares = Vector512.Sum(sq0 + sq1), rs = Vector512.Sum(r0 + r1), rxs = Vector512.Sum(rx0 + rx1);
        for (; i < end; i++)
        {
            var r = ys[i] - (b0 + b1 * xs[i]);
            squares += r * r;
            rs += r;
            rxs += r * xs[i];
        }
        return (squares, rs, rxs);
    }

    /// <summary>
    /// W4 rows [start, end): f = Σ (w - c)² (1 + 0.1 sin w), gw = 2 (w - c)(1 + 0.1 sin w) + 0.1 (w - c)² cos w, with
    /// Vector&lt;double&gt; and System.Numerics.Vector.SinCos.
    /// </summary>
    public static double ManyParametersVectorT(double[] ws, double[] cs, double[] gw, int start, int end)
    {
        ref var w0 = ref MemoryMarshal.GetArrayDataReference(ws);
        ref var c0 = ref MemoryMarshal.GetArrayDataReference(cs);
        ref var g0 = ref MemoryMarshal.GetArrayDataReference(gw);
        var n = Vector<double>.Count;
        Vector<double> tenth = new(0.1), two = new(2), sum0 = default;
        var i = start;
        for (; i <= end - n; i += n)
        {
            var w = Vector.LoadUnsafe(ref w0, (nuint)i);
            var d = w - Vector.LoadUnsafe(ref c0, (nuint)i);
            var (sin, cos) = Vector.SinCos(w);
            var scale = Vector<double>.One + tenth * sin;
            var dd = d * d;
            sum0 += dd * scale;
            (two * d * scale + tenth * dd * cos).StoreUnsafe(ref g0, (nuint)i);
        }
        var value = Vector.Sum(sum0);
        for (; i < end; i++) value += ManyParametersScalar(ws, cs, gw, i);
        return value;
    }

    /// <summary>W4 rows [start, end) with Vector512 and Vector512.SinCos.</summary>
    public static double ManyParameters512(double[] ws, double[] cs, double[] gw, int start, int end)
    {
        ref var w0 = ref MemoryMarshal.GetArrayDataReference(ws);
        ref var c0 = ref MemoryMarshal.GetArrayDataReference(cs);
        ref var g0 = ref MemoryMarshal.GetArrayDataReference(gw);
        const int n = 8;
        Vector512<double> tenth = Vector512.Create(0.1), two = Vector512.Create(2.0), sum0 = default;
        var i = start;
        for (; i <= end - n; i += n)
        {
            var w = Vector512.LoadUnsafe(ref w0, (nuint)i);
            var d = w - Vector512.LoadUnsafe(ref c0, (nuint)i);
            var (sin, cos) = Vector512.SinCos(w);
            var scale = Vector512<double>.One + tenth * sin;
            var dd = d * d;
            sum0 += dd * scale;
            (two * d * scale + tenth * dd * cos).StoreUnsafe(ref g0, (nuint)i);
        }
        var value = Vector512.Sum(sum0);
        for (; i < end; i++) value += ManyParametersScalar(ws, cs, gw, i);
        return value;
    }

    /// <summary>W4 rows [start, end) with Vector512 and separate Vector512.Sin and Vector512.Cos.</summary>
    public static double ManyParameters512SinThenCos(double[] ws, double[] cs, double[] gw, int start, int end)
    {
        ref var w0 = ref MemoryMarshal.GetArrayDataReference(ws);
        ref var c0 = ref MemoryMarshal.GetArrayDataReference(cs);
        ref var g0 = ref MemoryMarshal.GetArrayDataReference(gw);
        const int n = 8;
        Vector512<double> tenth = Vector512.Create(0.1), two = Vector512.Create(2.0), sum0 = default;
        var i = start;
        for (; i <= end - n; i += n)
        {
            var w = Vector512.LoadUnsafe(ref w0, (nuint)i);
            var d = w - Vector512.LoadUnsafe(ref c0, (nuint)i);
            var sin = Vector512.Sin(w);
            var cos = Vector512.Cos(w);
            var scale = Vector512<double>.One + tenth * sin;
            var dd = d * d;
            sum0 += dd * scale;
            (two * d * scale + tenth * dd * cos).StoreUnsafe(ref g0, (nuint)i);
        }
        var value = Vector512.Sum(sum0);
        for (; i < end; i++) value += ManyParametersScalar(ws, cs, gw, i);
        return value;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static double ManyParametersScalar(double[] ws, double[] cs, double[] gw, int i)
    {
        var (sin, cos) = Math.SinCos(ws[i]);
        var d = ws[i] - cs[i];
        var scale = 1 + 0.1 * sin;
        gw[i] = 2 * d * scale + 0.1 * d * d * cos;
        return d * d * scale;
    }
}

/// <summary>
/// Runs a range kernel over [0, n) on two threads as the engine does (FusedReplay): the second half is queued to the
/// thread pool, the caller runs the first half, then the second half itself if no pool thread has claimed it. No
/// allocation per run.
/// </summary>
public sealed class TwoThreads<TResult> : IThreadPoolWorkItem
{
    readonly Func<int, int, TResult> _kernel;
    readonly ManualResetEventSlim _done = new();
    int _start, _end, _claimed;
    TResult _result = default!;

    public TwoThreads(Func<int, int, TResult> kernel) => _kernel = kernel;

    /// <summary>Runs both halves; returns the first half's result and the second's.</summary>
    public (TResult First, TResult Second) Run(int n, int alignment = 64)
    {
        var half = n / 2 / alignment * alignment;
        (_start, _end) = (half, n);
        _done.Reset();
        Volatile.Write(ref _claimed, 0);
        ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);
        var first = _kernel(0, half);
        Execute();
        _done.Wait();
        return (first, _result);
    }

    public void Execute()
    {
        if (Interlocked.Exchange(ref _claimed, 1) != 0) return;
        _result = _kernel(_start, _end);
        _done.Set();
    }
}
