using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Autograd;

/// <summary>
/// Sin and cos over spans with Vector512/Vector256 (System.Runtime.Intrinsics), in fixed groups counted from the
/// start of the span and a scalar tail. TensorPrimitives.Sin/Cos group elements by the destination's memory address
/// and fall back to the scalar routine for a whole vector when one element is large, so an element's last bit could
/// depend on where a scratch buffer happens to sit (which thread, which GC); here it depends only on the span's
/// length and the element's index, so that reruns give the same bits.
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
                Vector512.Sin(Vector512.LoadUnsafe(ref x0, (nuint)i)).StoreUnsafe(ref r0, (nuint)i);
        else if (Vector256.IsHardwareAccelerated)
            for (; i <= x.Length - Vector256<double>.Count; i += Vector256<double>.Count)
                Vector256.Sin(Vector256.LoadUnsafe(ref x0, (nuint)i)).StoreUnsafe(ref r0, (nuint)i);
        return i;
    }

    static int Cos(ReadOnlySpan<double> x, Span<double> r)
    {
        ref var x0 = ref MemoryMarshal.GetReference(x);
        ref var r0 = ref MemoryMarshal.GetReference(r);
        var i = 0;
        if (Vector512.IsHardwareAccelerated)
            for (; i <= x.Length - Vector512<double>.Count; i += Vector512<double>.Count)
                Vector512.Cos(Vector512.LoadUnsafe(ref x0, (nuint)i)).StoreUnsafe(ref r0, (nuint)i);
        else if (Vector256.IsHardwareAccelerated)
            for (; i <= x.Length - Vector256<double>.Count; i += Vector256<double>.Count)
                Vector256.Cos(Vector256.LoadUnsafe(ref x0, (nuint)i)).StoreUnsafe(ref r0, (nuint)i);
        return i;
    }

    static int Sin(ReadOnlySpan<float> x, Span<float> r)
    {
        ref var x0 = ref MemoryMarshal.GetReference(x);
        ref var r0 = ref MemoryMarshal.GetReference(r);
        var i = 0;
        if (Vector512.IsHardwareAccelerated)
            for (; i <= x.Length - Vector512<float>.Count; i += Vector512<float>.Count)
                Vector512.Sin(Vector512.LoadUnsafe(ref x0, (nuint)i)).StoreUnsafe(ref r0, (nuint)i);
        else if (Vector256.IsHardwareAccelerated)
            for (; i <= x.Length - Vector256<float>.Count; i += Vector256<float>.Count)
                Vector256.Sin(Vector256.LoadUnsafe(ref x0, (nuint)i)).StoreUnsafe(ref r0, (nuint)i);
        return i;
    }

    static int Cos(ReadOnlySpan<float> x, Span<float> r)
    {
        ref var x0 = ref MemoryMarshal.GetReference(x);
        ref var r0 = ref MemoryMarshal.GetReference(r);
        var i = 0;
        if (Vector512.IsHardwareAccelerated)
            for (; i <= x.Length - Vector512<float>.Count; i += Vector512<float>.Count)
                Vector512.Cos(Vector512.LoadUnsafe(ref x0, (nuint)i)).StoreUnsafe(ref r0, (nuint)i);
        else if (Vector256.IsHardwareAccelerated)
            for (; i <= x.Length - Vector256<float>.Count; i += Vector256<float>.Count)
                Vector256.Cos(Vector256.LoadUnsafe(ref x0, (nuint)i)).StoreUnsafe(ref r0, (nuint)i);
        return i;
    }
}
