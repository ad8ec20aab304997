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

    /// <summary>
    /// Exp of every element, each a lane of <see cref="ExpLog.Exp(Vector512{double})"/> (the last few in a padded vector),
    /// so an element's bits depend on its value alone: not on its neighbours, its address or its place in the span.
    /// </summary>
    public static void Exp(ReadOnlySpan<T> x, Span<T> r)
    {
        if (typeof(T) == typeof(double) && Vector512.IsHardwareAccelerated) Lanes<ExpLanes>(As<double>(x), As<double>(r));
        else if (typeof(T) == typeof(float) && Vector512.IsHardwareAccelerated) Lanes<ExpLanes>(As<float>(x), As<float>(r));
        else for (var i = 0; i < x.Length; i++) r[i] = ExpRule.Value(x[i], T.Zero);
    }

    /// <summary>Log of every element, as <see cref="Exp"/> does exp.</summary>
    public static void Log(ReadOnlySpan<T> x, Span<T> r)
    {
        if (typeof(T) == typeof(double) && Vector512.IsHardwareAccelerated) Lanes<LogLanes>(As<double>(x), As<double>(r));
        else if (typeof(T) == typeof(float) && Vector512.IsHardwareAccelerated) Lanes<LogLanes>(As<float>(x), As<float>(r));
        else for (var i = 0; i < x.Length; i++) r[i] = LogRule.Value(x[i], T.Zero);
    }

    static void Lanes<TLanes>(ReadOnlySpan<double> x, Span<double> r) where TLanes : ILanes
    {
        ref var x0 = ref MemoryMarshal.GetReference(x);
        ref var r0 = ref MemoryMarshal.GetReference(r);
        var i = 0;
        for (; i <= x.Length - Vector512<double>.Count; i += Vector512<double>.Count)
            TLanes.Of(Vector512.LoadUnsafe(ref x0, (nuint)i)).StoreUnsafe(ref r0, (nuint)i);
        if (i == x.Length) return;
        Span<double> padded = stackalloc double[Vector512<double>.Count];
        padded.Clear();
        x[i..].CopyTo(padded);
        TLanes.Of(Vector512.Create<double>(padded)).CopyTo(padded);
        padded[..(x.Length - i)].CopyTo(r[i..]);
    }

    static void Lanes<TLanes>(ReadOnlySpan<float> x, Span<float> r) where TLanes : ILanes
    {
        ref var x0 = ref MemoryMarshal.GetReference(x);
        ref var r0 = ref MemoryMarshal.GetReference(r);
        var i = 0;
        for (; i <= x.Length - Vector512<float>.Count; i += Vector512<float>.Count)
            TLanes.Of(Vector512.LoadUnsafe(ref x0, (nuint)i)).StoreUnsafe(ref r0, (nuint)i);
        if (i == x.Length) return;
        Span<float> padded = stackalloc float[Vector512<float>.Count];
        padded.Clear();
        x[i..].CopyTo(padded);
        TLanes.Of(Vector512.Create<float>(padded)).CopyTo(padded);
        padded[..(x.Length - i)].CopyTo(r[i..]);
    }

    interface ILanes
    {
        static abstract Vector512<double> Of(Vector512<double> x);
        static abstract Vector512<float> Of(Vector512<float> x);
    }

    readonly struct ExpLanes : ILanes
    {
        public static Vector512<double> Of(Vector512<double> x) => ExpLog.Exp(x);
        public static Vector512<float> Of(Vector512<float> x) => ExpLog.Exp(x);
    }

    readonly struct LogLanes : ILanes
    {
        public static Vector512<double> Of(Vector512<double> x) => ExpLog.Log(x);
        public static Vector512<float> Of(Vector512<float> x) => ExpLog.Log(x);
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

/// <summary>
/// Exp and log of every lane at once, for the same reasons of determinism as <see cref="SinCos"/>: TensorPrimitives.Exp
/// (and Tanh) send a whole vector to the scalar routine when one element is out of the vector routine's range (|x| past
/// ~709, NaN, infinity), so an element's bits depended on which neighbours shared its vector, which the destination's
/// address decides. Here every lane is fdlibm's algorithm (e_exp.c, e_log.c: under an ulp) in IEEE adds, multiplies,
/// divides and compares only; out-of-range lanes are selected lane by lane, never by their neighbours.
/// </summary>
internal static class ExpLog
{
    // e_exp.c: ln2 in two parts (the upper one with zeros at the end, so that k ln2hi is exact), 1/ln2, the
    // overflow and underflow thresholds, and the remez coefficients of the reduced argument's rational function.
    const double Ln2Hi = 6.93147180369123816490e-01, Ln2Lo = 1.90821492927058770002e-10, InvLn2 = 1.44269504088896338700e+00;
    const double Overflow = 7.09782712893383973096e+02, Underflow = -7.45133219101941108420e+02;
    const double P1 = 1.66666666666666019037e-01, P2 = -2.77777777770155933842e-03, P3 = 6.61375632143793436117e-05,
        P4 = -1.65339022054652515390e-06, P5 = 4.13813679705723846039e-08;
    // e_log.c's coefficients of log(1+f) = f - f^2/2 + s(f^2/2 + R(s^2)), s = f/(2+f).
    const double Lg1 = 6.666666666666735130e-01, Lg2 = 3.999999999940941908e-01, Lg3 = 2.857142874366239149e-01,
        Lg4 = 2.222219843214978396e-01, Lg5 = 1.818357216161805012e-01, Lg6 = 1.531383769920937332e-01,
        Lg7 = 1.479819860511658591e-01;
    const double Two54 = 1.80143985094819840000e+16, MinNormal = 2.2250738585072014e-308;

    public static Vector512<double> Exp(Vector512<double> x)
    {
        // x = k ln2 + (hi - lo), |hi - lo| <= ln2/2; inside the thresholds |k| <= 1075, so k ln2hi is exact.
        var clamped = Vector512.Min(Vector512.Max(x, Vector512.Create(Underflow - 1)), Vector512.Create(Overflow + 1));
        var k = Vector512.Round(clamped * Vector512.Create(InvLn2));
        var hi = clamped - k * Vector512.Create(Ln2Hi);
        var lo = k * Vector512.Create(Ln2Lo);
        var reduced = hi - lo;
        var t = reduced * reduced;
        var c = reduced - t * (Vector512.Create(P1) + t * (Vector512.Create(P2) + t * (Vector512.Create(P3) + t * (Vector512.Create(P4) + t * Vector512.Create(P5)))));
        var y = Vector512<double>.One - ((lo - (reduced * c) / (Vector512.Create(2.0) - c)) - hi);
        // y 2^k as two exact powers of two, so that a subnormal result rounds once, in the second product.
        var kl = Vector512.ConvertToInt64(k);
        var k1 = Vector512.ShiftRightArithmetic(kl, 1);
        var result = y * PowerOfTwo(k1) * PowerOfTwo(kl - k1);
        result = Vector512.ConditionalSelect(Vector512.GreaterThan(x, Vector512.Create(Overflow)), Vector512.Create(double.PositiveInfinity), result);
        result = Vector512.ConditionalSelect(Vector512.LessThan(x, Vector512.Create(Underflow)), Vector512<double>.Zero, result);
        return Vector512.ConditionalSelect(Vector512.Equals(x, x), result, x);
    }

    public static Vector512<double> Log(Vector512<double> x)
    {
        // Subnormals scaled into the normal range first.
        var subnormal = Vector512.LessThan(x, Vector512.Create(MinNormal));
        var scaled = Vector512.ConditionalSelect(subnormal, x * Vector512.Create(Two54), x);
        var bits = scaled.AsInt64();
        var hx = Vector512.ShiftRightLogical(bits, 32) & Vector512.Create(0x7fffffffL);
        var k = Vector512.ShiftRightArithmetic(hx, 20) - Vector512.Create(1023L)
            - (subnormal.AsInt64() & Vector512.Create(54L));
        hx &= Vector512.Create(0x000fffffL);
        // Normalise the mantissa into [sqrt(2)/2, sqrt(2)): i is 2^20 when it would be past sqrt(2).
        var i = (hx + Vector512.Create(0x95f64L)) & Vector512.Create(0x100000L);
        var high = hx | (i ^ Vector512.Create(0x3ff00000L));
        var m = (Vector512.ShiftLeft(high, 32) | (bits & Vector512.Create(0xffffffffL))).AsDouble();
        k += Vector512.ShiftRightArithmetic(i, 20);
        var f = m - Vector512<double>.One;
        var dk = Vector512.ConvertToDouble(k);
        var s = f / (Vector512.Create(2.0) + f);
        var z = s * s;
        var w = z * z;
        var t1 = w * (Vector512.Create(Lg2) + w * (Vector512.Create(Lg4) + w * Vector512.Create(Lg6)));
        var t2 = z * (Vector512.Create(Lg1) + w * (Vector512.Create(Lg3) + w * (Vector512.Create(Lg5) + w * Vector512.Create(Lg7))));
        var r = t2 + t1;
        // e_log.c's two forms (k = 0 needs no separate one: dk = 0 gives its bits), chosen by the mantissa's range.
        var hfsq = Vector512.Create(0.5) * f * f;
        var wide = dk * Vector512.Create(Ln2Hi) - ((hfsq - (s * (hfsq + r) + dk * Vector512.Create(Ln2Lo))) - f);
        var narrow = dk * Vector512.Create(Ln2Hi) - ((s * (f - r) - dk * Vector512.Create(Ln2Lo)) - f);
        var useWide = Vector512.GreaterThan((hx - Vector512.Create(0x6147aL)) | (Vector512.Create(0x6b851L) - hx), Vector512<long>.Zero);
        var result = Vector512.ConditionalSelect(useWide.AsDouble(), wide, narrow);
        // log 0 = -inf, log of a negative number or NaN = NaN, log inf = inf.
        result = Vector512.ConditionalSelect(Vector512.Equals(x, Vector512<double>.Zero), Vector512.Create(double.NegativeInfinity), result);
        result = Vector512.ConditionalSelect(Vector512.LessThan(x, Vector512<double>.Zero), Vector512.Create(double.NaN), result);
        result = Vector512.ConditionalSelect(Vector512.Equals(x, Vector512.Create(double.PositiveInfinity)), x, result);
        return Vector512.ConditionalSelect(Vector512.Equals(x, x), result, x);
    }

    /// <summary>Exp of a double or float as a lane computes it (float in double, rounded once); other types by T.Exp.</summary>
    public static T Exp<T>(T x) where T : IFloatingPointIeee754<T>
    {
        if (typeof(T) == typeof(double)) return T.CreateTruncating(Exp(double.CreateTruncating(x)));
        if (typeof(T) == typeof(float)) return T.CreateTruncating((float)Exp(double.CreateTruncating(x)));
        return T.Exp(x);
    }

    /// <summary>Log of a double or float as a lane computes it; other types by T.Log.</summary>
    public static T Log<T>(T x) where T : IFloatingPointIeee754<T>
    {
        if (typeof(T) == typeof(double)) return T.CreateTruncating(Log(double.CreateTruncating(x)));
        if (typeof(T) == typeof(float)) return T.CreateTruncating((float)Log(double.CreateTruncating(x)));
        return T.Log(x);
    }

    /// <summary>One lane of <see cref="Exp(Vector512{double})"/>: the same operations in the same order, so the same bits.</summary>
    public static double Exp(double x)
    {
        if (double.IsNaN(x)) return x;
        if (x > Overflow) return double.PositiveInfinity;
        if (x < Underflow) return 0.0;
        var k = Math.Round(x * InvLn2);
        var hi = x - k * Ln2Hi;
        var lo = k * Ln2Lo;
        var reduced = hi - lo;
        var t = reduced * reduced;
        var c = reduced - t * (P1 + t * (P2 + t * (P3 + t * (P4 + t * P5))));
        var y = 1.0 - ((lo - (reduced * c) / (2.0 - c)) - hi);
        var kl = (long)k;
        var k1 = kl >> 1;
        return y * PowerOfTwo(k1) * PowerOfTwo(kl - k1);
    }

    /// <summary>One lane of <see cref="Log(Vector512{double})"/>: the same operations in the same order, so the same bits.</summary>
    public static double Log(double x)
    {
        if (double.IsNaN(x)) return x;
        if (x == 0.0) return double.NegativeInfinity;
        if (x < 0.0) return double.NaN;
        if (x == double.PositiveInfinity) return x;
        var subnormal = x < MinNormal;
        var scaled = subnormal ? x * Two54 : x;
        var bits = BitConverter.DoubleToInt64Bits(scaled);
        var hx = (long)((ulong)bits >> 32) & 0x7fffffffL;
        var k = (hx >> 20) - 1023L - (subnormal ? 54L : 0L);
        hx &= 0x000fffffL;
        var i = (hx + 0x95f64L) & 0x100000L;
        var high = hx | (i ^ 0x3ff00000L);
        var m = BitConverter.Int64BitsToDouble((high << 32) | (bits & 0xffffffffL));
        k += i >> 20;
        var f = m - 1.0;
        var dk = (double)k;
        var s = f / (2.0 + f);
        var z = s * s;
        var w = z * z;
        var t1 = w * (Lg2 + w * (Lg4 + w * Lg6));
        var t2 = z * (Lg1 + w * (Lg3 + w * (Lg5 + w * Lg7)));
        var r = t2 + t1;
        var hfsq = 0.5 * f * f;
        return ((hx - 0x6147aL) | (0x6b851L - hx)) > 0
            ? dk * Ln2Hi - ((hfsq - (s * (hfsq + r) + dk * Ln2Lo)) - f)
            : dk * Ln2Hi - ((s * (f - r) - dk * Ln2Lo) - f);
    }

    /// <summary>Float in double, rounded once at the end.</summary>
    public static Vector512<float> Exp(Vector512<float> x)
    {
        var (lower, upper) = Vector512.Widen(x);
        return Vector512.Narrow(Exp(lower), Exp(upper));
    }

    public static Vector512<float> Log(Vector512<float> x)
    {
        var (lower, upper) = Vector512.Widen(x);
        return Vector512.Narrow(Log(lower), Log(upper));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static double PowerOfTwo(long k) => BitConverter.Int64BitsToDouble((k + 1023L) << 52);

    /// <summary>2^k for -1022 &lt;= k &lt;= 1023, from its exponent bits.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector512<double> PowerOfTwo(Vector512<long> k) => Vector512.ShiftLeft(k + Vector512.Create(1023L), 52).AsDouble();
}
