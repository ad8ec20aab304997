using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;

namespace Autograd;

/// <summary>
/// relu over long vectors, several elements at a time: the value is <see cref="ReluRule"/>'s max(x, 0) and the VJP adds
/// g times its slope (1 where x > 0, else 0), the same operations element by element, so the same bits as the rule's loop.
/// </summary>
internal static class ReluKernels<T> where T : IFloatingPointIeee754<T>
{
    public static void Forward(ReadOnlySpan<T> x, Span<T> r) => TensorPrimitives.Max(x, T.Zero, r);

    /// <summary>gx += g · (x > 0 ? 1 : 0).</summary>
    public static void AddSlopeTimes(ReadOnlySpan<T> x, ReadOnlySpan<T> g, Span<T> gx)
    {
        var i = 0;
        if (Vector.IsHardwareAccelerated && Vector<T>.IsSupported)
        {
            ref var x0 = ref MemoryMarshal.GetReference(x);
            ref var g0 = ref MemoryMarshal.GetReference(g);
            ref var gx0 = ref MemoryMarshal.GetReference(gx);
            for (; i <= x.Length - Vector<T>.Count; i += Vector<T>.Count)
            {
                var at = (nuint)i;
                var slope = Vector.ConditionalSelect(Vector.GreaterThan(Vector.LoadUnsafe(ref x0, at), Vector<T>.Zero), Vector<T>.One, Vector<T>.Zero);
                (Vector.LoadUnsafe(ref gx0, at) + Vector.LoadUnsafe(ref g0, at) * slope).StoreUnsafe(ref gx0, at);
            }
        }
        for (; i < x.Length; i++) gx[i] += g[i] * ReluRule.Slope(x[i], T.Zero, T.Zero);
    }
}
