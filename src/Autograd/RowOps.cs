using System.Numerics;
using System.Runtime.InteropServices;

namespace Autograd;

/// <summary>
/// r += x·s and r += x over one short row (a matrix row of tens of elements), as a plain <see cref="Vector{T}"/> loop: the
/// matrix kernels call these once per row, where <c>TensorPrimitives</c>' checks and dispatch cost as much as the
/// arithmetic. Each element is the same multiply then add (never fused), so the bits are TensorPrimitives.MultiplyAdd's
/// and Add's.
/// </summary>
internal static class RowOps<T> where T : IFloatingPointIeee754<T>
{
    /// <summary>r[i] += x[i] * s.</summary>
    public static void MultiplyAdd(ReadOnlySpan<T> x, T s, Span<T> r)
    {
        if (x.Length != r.Length) throw new ArgumentException("The row and its target differ in length.", nameof(r));
        var i = 0;
        if (Vector.IsHardwareAccelerated && Vector<T>.IsSupported)
        {
            ref var x0 = ref MemoryMarshal.GetReference(x);
            ref var r0 = ref MemoryMarshal.GetReference(r);
            var scale = new Vector<T>(s);
            for (; i <= x.Length - Vector<T>.Count; i += Vector<T>.Count)
            {
                var at = (nuint)i;
                (Vector.LoadUnsafe(ref x0, at) * scale + Vector.LoadUnsafe(ref r0, at)).StoreUnsafe(ref r0, at);
            }
        }
        for (; i < x.Length; i++) r[i] = x[i] * s + r[i];
    }

    /// <summary>r[i] += x[i].</summary>
    public static void Add(ReadOnlySpan<T> x, Span<T> r)
    {
        if (x.Length != r.Length) throw new ArgumentException("The row and its target differ in length.", nameof(r));
        var i = 0;
        if (Vector.IsHardwareAccelerated && Vector<T>.IsSupported)
        {
            ref var x0 = ref MemoryMarshal.GetReference(x);
            ref var r0 = ref MemoryMarshal.GetReference(r);
            for (; i <= x.Length - Vector<T>.Count; i += Vector<T>.Count)
            {
                var at = (nuint)i;
                (Vector.LoadUnsafe(ref r0, at) + Vector.LoadUnsafe(ref x0, at)).StoreUnsafe(ref r0, at);
            }
        }
        for (; i < x.Length; i++) r[i] += x[i];
    }

    /// <summary>r[i] = x[i] + y[i].</summary>
    public static void Add(ReadOnlySpan<T> x, ReadOnlySpan<T> y, Span<T> r)
    {
        if (x.Length != r.Length || y.Length != r.Length) throw new ArgumentException("The rows differ in length.", nameof(r));
        var i = 0;
        if (Vector.IsHardwareAccelerated && Vector<T>.IsSupported)
        {
            ref var x0 = ref MemoryMarshal.GetReference(x);
            ref var y0 = ref MemoryMarshal.GetReference(y);
            ref var r0 = ref MemoryMarshal.GetReference(r);
            for (; i <= x.Length - Vector<T>.Count; i += Vector<T>.Count)
            {
                var at = (nuint)i;
                (Vector.LoadUnsafe(ref x0, at) + Vector.LoadUnsafe(ref y0, at)).StoreUnsafe(ref r0, at);
            }
        }
        for (; i < x.Length; i++) r[i] = x[i] + y[i];
    }
}
