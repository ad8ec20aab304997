using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Autograd;

/// <summary>
/// Sin and cos over spans and over <see cref="Vector512{T}"/>, computed here rather than by the runtime's
/// Vector512.Sin/Cos or TensorPrimitives.Sin/Cos, for two reasons of determinism. TensorPrimitives group elements by the
/// destination's memory address and fall back to the scalar routine for a whole vector when one element is large, so
/// an element's last bit could depend on where a scratch buffer happens to sit. And the runtime's vector sin and cos
/// use a multiply-add whose fusing is left to the JIT: the first calls of a process (tier-0 code, unfused) and the
/// later ones (optimised, fused) give different bits for the same input (seen: after ~150 calls). Here every step is
/// an IEEE add, multiply, compare or rounding (the JIT never fuses those), so an element's bits depend only on its value: the
/// argument reduction and polynomials of fdlibm (k_sin.c, k_cos.c, e_rem_pio2.c: under an ulp), lanes beyond
/// |x| = 5e5, infinities and NaN by Math.Sin/Math.Cos. Float is computed in double and rounded. Without AVX-512 the
/// spans go element by element through Math.
/// </summary>
internal static class VectorMath<T> where T : IFloatingPointIeee754<T>
{
    public static void Sin(ReadOnlySpan<T> x, Span<T> r)
    {
        var i = 0;
        if (typeof(T) == typeof(double)) i = Sin(As<double>(x), As<double>(r));
        else if (typeof(T) == typeof(float)) i = Sin(As<float>(x), As<float>(r));
        for (; i < x.Length; i++) r[i] = T.Sin(x[i]);
    }

    public static void Cos(ReadOnlySpan<T> x, Span<T> r)
    {
        var i = 0;
        if (typeof(T) == typeof(double)) i = Cos(As<double>(x), As<double>(r));
        else if (typeof(T) == typeof(float)) i = Cos(As<float>(x), As<float>(r));
        for (; i < x.Length; i++) r[i] = T.Cos(x[i]);
    }

    static ReadOnlySpan<TTo> As<TTo>(ReadOnlySpan<T> x) =>
        MemoryMarshal.CreateReadOnlySpan(ref Unsafe.As<T, TTo>(ref MemoryMarshal.GetReference(x)), x.Length);

    static Span<TTo> As<TTo>(Span<T> x) => MemoryMarshal.CreateSpan(ref Unsafe.As<T, TTo>(ref MemoryMarshal.GetReference(x)), x.Length);

    // Each returns how many leading elements it wrote; the caller does the rest one by one.
    static int Sin(ReadOnlySpan<double> x, Span<double> r)
    {
        ref var x0 = ref MemoryMarshal.GetReference(x);
        ref var r0 = ref MemoryMarshal.GetReference(r);
        var i = 0;
        if (Vector512.IsHardwareAccelerated)
            for (; i <= x.Length - Vector512<double>.Count; i += Vector512<double>.Count)
                SinCos.Of(Vector512.LoadUnsafe(ref x0, (nuint)i)).Sin.StoreUnsafe(ref r0, (nuint)i);
        return i;
    }

    static int Cos(ReadOnlySpan<double> x, Span<double> r)
    {
        ref var x0 = ref MemoryMarshal.GetReference(x);
        ref var r0 = ref MemoryMarshal.GetReference(r);
        var i = 0;
        if (Vector512.IsHardwareAccelerated)
            for (; i <= x.Length - Vector512<double>.Count; i += Vector512<double>.Count)
                SinCos.Of(Vector512.LoadUnsafe(ref x0, (nuint)i)).Cos.StoreUnsafe(ref r0, (nuint)i);
        return i;
    }

    static int Sin(ReadOnlySpan<float> x, Span<float> r)
    {
        ref var x0 = ref MemoryMarshal.GetReference(x);
        ref var r0 = ref MemoryMarshal.GetReference(r);
        var i = 0;
        if (Vector512.IsHardwareAccelerated)
            for (; i <= x.Length - Vector512<float>.Count; i += Vector512<float>.Count)
                SinCos.Of(Vector512.LoadUnsafe(ref x0, (nuint)i)).Sin.StoreUnsafe(ref r0, (nuint)i);
        return i;
    }

    static int Cos(ReadOnlySpan<float> x, Span<float> r)
    {
        ref var x0 = ref MemoryMarshal.GetReference(x);
        ref var r0 = ref MemoryMarshal.GetReference(r);
        var i = 0;
        if (Vector512.IsHardwareAccelerated)
            for (; i <= x.Length - Vector512<float>.Count; i += Vector512<float>.Count)
                SinCos.Of(Vector512.LoadUnsafe(ref x0, (nuint)i)).Cos.StoreUnsafe(ref r0, (nuint)i);
        return i;
    }
}

/// <summary>Sin and cos of every lane at once, the same bits on every call (see <see cref="VectorMath{T}"/>).</summary>
internal static class SinCos
{
    // fdlibm's constants: 2/pi, pi/2 in three 33-bit parts and their tails, and the kernels' polynomial coefficients.
    const double InvPio2 = 6.36619772367581382433e-01;
    const double Pio2_1 = 1.57079632673412561417e+00;
    const double Pio2_2 = 6.07710050630396597660e-11, Pio2_2t = 2.02226624879595063154e-21;
    const double Pio2_3 = 2.02226624871116645580e-21, Pio2_3t = 8.47842766036889956997e-32;
    const double S1 = -1.66666666666666324348e-01, S2 = 8.33333333332248946124e-03, S3 = -1.98412698298579493134e-04,
        S4 = 2.75573137070700676789e-06, S5 = -2.50507602534068634195e-08, S6 = 1.58969099521155010221e-10;
    const double C1 = 4.16666666666666019037e-02, C2 = -1.38888888888741095749e-03, C3 = 2.48015872894767294178e-05,
        C4 = -2.75573143513906633035e-07, C5 = 2.08757232129817482790e-09, C6 = -1.13596475577881948265e-11;
    /// <summary>Beyond this the quadrant count no longer fits the three-part reduction; Math takes those lanes.</summary>
    const double Largest = 5e5;
    /// <summary>Below this sin x = x and cos x = 1 to the last bit (fdlibm's shortcut).</summary>
    const double Tiny = 7.450580596923828125e-9; // 2^-27

    public static (Vector512<double> Sin, Vector512<double> Cos) Of(Vector512<double> x)
    {
        var ax = Vector512.Abs(x);
        // n = x * 2/pi rounded, then y0 + y1 = x - n pi/2 to about 2^-100 absolute (e_rem_pio2's medium case, all
        // three rounds): n pi/2's parts are exact products for |n| < 2^20.
        var n = Vector512.Round(x * Vector512.Create(InvPio2));
        var r = x - n * Vector512.Create(Pio2_1);
        var t = r;
        var w = n * Vector512.Create(Pio2_2);
        r = t - w;
        w = n * Vector512.Create(Pio2_2t) - ((t - r) - w);
        t = r;
        w = n * Vector512.Create(Pio2_3);
        r = t - w;
        w = n * Vector512.Create(Pio2_3t) - ((t - r) - w);
        var y0 = r - w;
        var y1 = (r - y0) - w;

        var ks = KernelSin(y0, y1);
        var kc = KernelCos(y0, y1);
        // Quadrant n mod 4: sin = ks, kc, -ks, -kc; cos = kc, -ks, -kc, ks.
        var q = Vector512.ConvertToInt64(n) & Vector512.Create(3L);
        var odd = Vector512.Equals(q & Vector512.Create(1L), Vector512.Create(1L)).AsDouble();
        var sinNegative = Vector512.GreaterThanOrEqual(q, Vector512.Create(2L)).AsDouble();
        var cosNegative = Vector512.Equals(q, Vector512.Create(1L)).AsDouble() | Vector512.Equals(q, Vector512.Create(2L)).AsDouble();
        var sin = Vector512.ConditionalSelect(odd, kc, ks);
        var cos = Vector512.ConditionalSelect(odd, ks, kc);
        sin = Vector512.ConditionalSelect(sinNegative, -sin, sin);
        cos = Vector512.ConditionalSelect(cosNegative, -cos, cos);

        var tiny = Vector512.LessThan(ax, Vector512.Create(Tiny));
        sin = Vector512.ConditionalSelect(tiny, x, sin);
        cos = Vector512.ConditionalSelect(tiny, Vector512<double>.One, cos);
        // Large, infinite or NaN lanes (NaN fails the comparison) go to Math one by one.
        if (!Vector512.LessThanOrEqualAll(ax, Vector512.Create(Largest))) (sin, cos) = ByMath(x, sin, cos);
        return (sin, cos);
    }

    public static (Vector512<float> Sin, Vector512<float> Cos) Of(Vector512<float> x)
    {
        var (lower, upper) = Vector512.Widen(x);
        var (sinLower, cosLower) = Of(lower);
        var (sinUpper, cosUpper) = Of(upper);
        return (Vector512.Narrow(sinLower, sinUpper), Vector512.Narrow(cosLower, cosUpper));
    }

    // k_sin.c: sin(x + y) for |x| <= pi/4, y the tail of x.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector512<double> KernelSin(Vector512<double> x, Vector512<double> y)
    {
        var z = x * x;
        var v = z * x;
        var r = Vector512.Create(S2) + z * (Vector512.Create(S3) + z * (Vector512.Create(S4) + z * (Vector512.Create(S5) + z * Vector512.Create(S6))));
        return x - ((z * (Vector512.Create(0.5) * y - v * r) - y) - v * Vector512.Create(S1));
    }

    // k_cos.c (FreeBSD): cos(x + y) for |x| <= pi/4.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector512<double> KernelCos(Vector512<double> x, Vector512<double> y)
    {
        var z = x * x;
        var w = z * z;
        var r = z * (Vector512.Create(C1) + z * (Vector512.Create(C2) + z * Vector512.Create(C3)))
            + w * w * (Vector512.Create(C4) + z * (Vector512.Create(C5) + z * Vector512.Create(C6)));
        var hz = Vector512.Create(0.5) * z;
        w = Vector512<double>.One - hz;
        return w + (((Vector512<double>.One - w) - hz) + (z * r - x * y));
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    static (Vector512<double>, Vector512<double>) ByMath(Vector512<double> x, Vector512<double> sin, Vector512<double> cos)
    {
        Span<double> s = stackalloc double[8], c = stackalloc double[8];
        sin.CopyTo(s);
        cos.CopyTo(c);
        for (var i = 0; i < 8; i++)
        {
            var xi = x[i];
            if (Math.Abs(xi) <= Largest) continue;
            (s[i], c[i]) = (Math.Sin(xi), Math.Cos(xi));
        }
        return (Vector512.Create(s), Vector512.Create(c));
    }
}
