using System.Numerics;
using System.Numerics.Tensors;

namespace Autograd;

/// <summary>
/// Row-major matrix products, vectorised along rows with <see cref="TensorPrimitives"/> and blocked over the inner
/// dimension so that a block of the right operand stays in cache while every row of the left passes over it.
/// Every method accumulates into its destination and allocates nothing.
/// </summary>
internal static class MatMul<T> where T : IFloatingPointIeee754<T>
{
    /// <summary>Rows of the right operand in one block, by its row length: about 32 KB of doubles.</summary>
    static int BlockRows(int m) => Math.Max(1, 4096 / Math.Max(m, 1));

    /// <summary>r (n x m) += x (n x k) · y (k x m).</summary>
    public static void Accumulate(ReadOnlySpan<T> x, ReadOnlySpan<T> y, Span<T> r, int n, int k, int m)
    {
        if (m == 1)
        {
            for (var i = 0; i < n; i++) r[i] += TensorPrimitives.Dot(x.Slice(i * k, k), y);
            return;
        }
        var block = BlockRows(m);
        for (var p0 = 0; p0 < k; p0 += block)
        {
            var p1 = Math.Min(k, p0 + block);
            for (var i = 0; i < n; i++)
            {
                var row = r.Slice(i * m, m);
                var xi = x.Slice(i * k, k);
                for (var p = p0; p < p1; p++)
                {
                    var xip = xi[p];
                    if (xip != T.Zero) RowOps<T>.MultiplyAdd(y.Slice(p * m, m), xip, row);
                }
            }
        }
    }

    /// <summary>gx (n x k) += g (n x m) · yᵀ, y being k x m.</summary>
    public static void AccumulateTransposedRight(ReadOnlySpan<T> g, ReadOnlySpan<T> y, Span<T> gx, int n, int k, int m)
    {
        for (var i = 0; i < n; i++)
        {
            var row = gx.Slice(i * k, k);
            if (m == 1)
            {
                RowOps<T>.MultiplyAdd(y, g[i], row);
                continue;
            }
            var gi = g.Slice(i * m, m);
            for (var p = 0; p < k; p++) row[p] += TensorPrimitives.Dot(gi, y.Slice(p * m, m));
        }
    }

    /// <summary>gy (k x m) += xᵀ · g, x being n x k and g n x m.</summary>
    public static void AccumulateTransposedLeft(ReadOnlySpan<T> x, ReadOnlySpan<T> g, Span<T> gy, int n, int k, int m)
    {
        if (m == 1)
        {
            for (var i = 0; i < n; i++) RowOps<T>.MultiplyAdd(x.Slice(i * k, k), g[i], gy);
            return;
        }
        var block = BlockRows(m);
        for (var p0 = 0; p0 < k; p0 += block)
        {
            var p1 = Math.Min(k, p0 + block);
            for (var i = 0; i < n; i++)
            {
                var gi = g.Slice(i * m, m);
                var xi = x.Slice(i * k, k);
                for (var p = p0; p < p1; p++)
                {
                    var xip = xi[p];
                    if (xip != T.Zero)
                    {
                        RowOps<T>.MultiplyAdd(gi, xip, gy.Slice(p * m, m));
                    }
                }
            }
        }
    }
}

/// <summary>
/// x %*% y with x n x k and y k x m (a vector on the left is 1 x k, on the right k x 1); the node's index holds k.
/// Bilinear: the VJP is (g yᵀ, xᵀ g), the JVP ẋ y + x ẏ, and the second-order adjoints ġ yᵀ + g ẏᵀ and ẋᵀ g + xᵀ ġ.
/// </summary>
internal sealed class MatMulKernel<T> : OpKernel<T> where T : IFloatingPointIeee754<T>
{
    static (int N, int K, int M) Dimensions(int xLength, int yLength, int k) => (xLength / k, k, yLength / k);

    public override void Forward(ReadOnlySpan<T> x, ReadOnlySpan<T> y, T c, int index, Span<T> r)
    {
        var (n, k, m) = Dimensions(x.Length, y.Length, index);
        r.Clear();
        MatMul<T>.Accumulate(x, y, r, n, k, m);
    }

    public override void Backward(ReadOnlySpan<T> x, ReadOnlySpan<T> y, ReadOnlySpan<T> r, T c, int index,
        ReadOnlySpan<T> g, Span<T> gx, Span<T> gy)
    {
        var (n, k, m) = Dimensions(x.Length, y.Length, index);
        if (!gx.IsEmpty) MatMul<T>.AccumulateTransposedRight(g, y, gx, n, k, m);
        if (!gy.IsEmpty) MatMul<T>.AccumulateTransposedLeft(x, g, gy, n, k, m);
    }

    public override void Tangent(ReadOnlySpan<T> x, ReadOnlySpan<T> y, ReadOnlySpan<T> r, T c, int index,
        ReadOnlySpan<T> xDot, ReadOnlySpan<T> yDot, Span<T> rDot)
    {
        var (n, k, m) = Dimensions(x.Length, y.Length, index);
        rDot.Clear();
        if (!xDot.IsEmpty) MatMul<T>.Accumulate(xDot, y, rDot, n, k, m);
        if (!yDot.IsEmpty) MatMul<T>.Accumulate(x, yDot, rDot, n, k, m);
    }

    public override void SecondBackward(ReadOnlySpan<T> x, ReadOnlySpan<T> y, ReadOnlySpan<T> r, T c, int index,
        ReadOnlySpan<T> xDot, ReadOnlySpan<T> yDot, ReadOnlySpan<T> g, ReadOnlySpan<T> gDot, Span<T> gxDot, Span<T> gyDot)
    {
        var (n, k, m) = Dimensions(x.Length, y.Length, index);
        if (!gxDot.IsEmpty)
        {
            MatMul<T>.AccumulateTransposedRight(gDot, y, gxDot, n, k, m);
            if (!yDot.IsEmpty) MatMul<T>.AccumulateTransposedRight(g, yDot, gxDot, n, k, m);
        }
        if (!gyDot.IsEmpty)
        {
            MatMul<T>.AccumulateTransposedLeft(x, gDot, gyDot, n, k, m);
            if (!xDot.IsEmpty) MatMul<T>.AccumulateTransposedLeft(xDot, g, gyDot, n, k, m);
        }
    }

    public override T Value(T x, T y, T c) => x * y;
    public override T DX(T x, T y, T r, T c) => y;
    public override T DY(T x, T y, T r) => x;
}

/// <summary>
/// A linear op of one input, r = L x: the VJP adds Lᵀ g, the JVP is L ẋ and the second-order adjoint Lᵀ ġ (a
/// linear map has no curvature). Subclasses give L and Lᵀ; index is what the node holds.
/// </summary>
internal abstract class LinearKernel<T> : OpKernel<T> where T : IFloatingPointIeee754<T>
{
    /// <summary>r = L x (r is overwritten).</summary>
    protected abstract void Apply(ReadOnlySpan<T> x, Span<T> r, int index);

    /// <summary>gx += Lᵀ g; x's length is gx's.</summary>
    protected abstract void AddTransposed(ReadOnlySpan<T> g, Span<T> gx, int index);

    public override void Forward(ReadOnlySpan<T> x, ReadOnlySpan<T> y, T c, int index, Span<T> r) => Apply(x, r, index);

    public override void Backward(ReadOnlySpan<T> x, ReadOnlySpan<T> y, ReadOnlySpan<T> r, T c, int index,
        ReadOnlySpan<T> g, Span<T> gx, Span<T> gy)
    {
        if (!gx.IsEmpty) AddTransposed(g, gx, index);
    }

    public override void Tangent(ReadOnlySpan<T> x, ReadOnlySpan<T> y, ReadOnlySpan<T> r, T c, int index,
        ReadOnlySpan<T> xDot, ReadOnlySpan<T> yDot, Span<T> rDot)
    {
        if (xDot.IsEmpty) rDot.Clear();
        else Apply(xDot, rDot, index);
    }

    public override void SecondBackward(ReadOnlySpan<T> x, ReadOnlySpan<T> y, ReadOnlySpan<T> r, T c, int index,
        ReadOnlySpan<T> xDot, ReadOnlySpan<T> yDot, ReadOnlySpan<T> g, ReadOnlySpan<T> gDot, Span<T> gxDot, Span<T> gyDot)
    {
        if (!gxDot.IsEmpty) AddTransposed(gDot, gxDot, index);
    }

    public override T Value(T x, T y, T c) => x;
    public override T DX(T x, T y, T r, T c) => T.One;
}

/// <summary>t(x): x has index columns; the result is its transpose.</summary>
internal sealed class TransposeKernel<T> : LinearKernel<T> where T : IFloatingPointIeee754<T>
{
    protected override void Apply(ReadOnlySpan<T> x, Span<T> r, int index)
    {
        int columns = index, rows = x.Length / columns;
        for (var i = 0; i < rows; i++)
            for (var j = 0; j < columns; j++) r[j * rows + i] = x[i * columns + j];
    }

    protected override void AddTransposed(ReadOnlySpan<T> g, Span<T> gx, int index)
    {
        int columns = index, rows = gx.Length / columns;
        for (var i = 0; i < rows; i++)
            for (var j = 0; j < columns; j++) gx[i * columns + j] += g[j * rows + i];
    }
}

/// <summary>A vector of k repeated as each of the n rows of the result (n = result length / k).</summary>
internal sealed class BroadcastRowsKernel<T> : LinearKernel<T> where T : IFloatingPointIeee754<T>
{
    protected override void Apply(ReadOnlySpan<T> x, Span<T> r, int index)
    {
        for (var start = 0; start < r.Length; start += x.Length) x.CopyTo(r.Slice(start, x.Length));
    }

    protected override void AddTransposed(ReadOnlySpan<T> g, Span<T> gx, int index)
    {
        for (var start = 0; start < g.Length; start += gx.Length) RowOps<T>.Add(g.Slice(start, gx.Length), gx);
    }
}

/// <summary>rowSums or rowMeans of a matrix of index columns.</summary>
internal abstract class RowReduceKernel<T>(bool mean) : LinearKernel<T> where T : IFloatingPointIeee754<T>
{
    protected override void Apply(ReadOnlySpan<T> x, Span<T> r, int index)
    {
        var scale = mean ? T.One / T.CreateChecked(index) : T.One;
        for (var i = 0; i < r.Length; i++) r[i] = TensorPrimitives.Sum(x.Slice(i * index, index)) * scale;
    }

    protected override void AddTransposed(ReadOnlySpan<T> g, Span<T> gx, int index)
    {
        var scale = mean ? T.One / T.CreateChecked(index) : T.One;
        for (var i = 0; i < g.Length; i++)
        {
            var row = gx.Slice(i * index, index);
            TensorPrimitives.Add(row, g[i] * scale, row);
        }
    }
}

/// <summary>colSums or colMeans of a matrix of index columns.</summary>
internal abstract class ColumnReduceKernel<T>(bool mean) : LinearKernel<T> where T : IFloatingPointIeee754<T>
{
    protected override void Apply(ReadOnlySpan<T> x, Span<T> r, int index)
    {
        var rows = x.Length / index;
        r.Clear();
        for (var i = 0; i < rows; i++) TensorPrimitives.Add(r, x.Slice(i * index, index), r);
        if (mean) TensorPrimitives.Multiply(r, T.One / T.CreateChecked(rows), r);
    }

    protected override void AddTransposed(ReadOnlySpan<T> g, Span<T> gx, int index)
    {
        var rows = gx.Length / index;
        var scale = mean ? T.One / T.CreateChecked(rows) : T.One;
        for (var i = 0; i < rows; i++)
        {
            var row = gx.Slice(i * index, index);
            TensorPrimitives.MultiplyAdd(g, scale, row, row);
        }
    }
}

internal sealed class RowSumsKernel<T>() : RowReduceKernel<T>(mean: false) where T : IFloatingPointIeee754<T>;

internal sealed class RowMeansKernel<T>() : RowReduceKernel<T>(mean: true) where T : IFloatingPointIeee754<T>;

internal sealed class ColSumsKernel<T>() : ColumnReduceKernel<T>(mean: false) where T : IFloatingPointIeee754<T>;

internal sealed class ColMeansKernel<T>() : ColumnReduceKernel<T>(mean: true) where T : IFloatingPointIeee754<T>;

/// <summary>
/// Two blocks of columns side by side: x (n x index, or a vector as one column) then y (the remaining columns).
/// </summary>
internal sealed class CbindKernel<T> : OpKernel<T> where T : IFloatingPointIeee754<T>
{
    static (int Rows, int Left, int Right) Dimensions(int xLength, int resultLength, int left)
    {
        var rows = xLength / left;
        return (rows, left, resultLength / rows - left);
    }

    static void Split(ReadOnlySpan<T> g, Span<T> gx, Span<T> gy, int rows, int left, int right)
    {
        var width = left + right;
        for (var i = 0; i < rows; i++)
        {
            var row = g.Slice(i * width, width);
            if (!gx.IsEmpty)
            {
                var target = gx.Slice(i * left, left);
                TensorPrimitives.Add(target, row[..left], target);
            }
            if (!gy.IsEmpty)
            {
                var target = gy.Slice(i * right, right);
                TensorPrimitives.Add(target, row[left..], target);
            }
        }
    }

    public override void Forward(ReadOnlySpan<T> x, ReadOnlySpan<T> y, T c, int index, Span<T> r)
    {
        var (rows, left, right) = Dimensions(x.Length, r.Length, index);
        var width = left + right;
        for (var i = 0; i < rows; i++)
        {
            x.Slice(i * left, left).CopyTo(r.Slice(i * width, left));
            y.Slice(i * right, right).CopyTo(r.Slice(i * width + left, right));
        }
    }

    public override void Backward(ReadOnlySpan<T> x, ReadOnlySpan<T> y, ReadOnlySpan<T> r, T c, int index,
        ReadOnlySpan<T> g, Span<T> gx, Span<T> gy)
    {
        var (rows, left, right) = Dimensions(x.Length, r.Length, index);
        Split(g, gx, gy, rows, left, right);
    }

    public override void Tangent(ReadOnlySpan<T> x, ReadOnlySpan<T> y, ReadOnlySpan<T> r, T c, int index,
        ReadOnlySpan<T> xDot, ReadOnlySpan<T> yDot, Span<T> rDot)
    {
        var (rows, left, right) = Dimensions(x.Length, r.Length, index);
        var width = left + right;
        for (var i = 0; i < rows; i++)
        {
            var row = rDot.Slice(i * width, width);
            if (xDot.IsEmpty) row[..left].Clear();
            else xDot.Slice(i * left, left).CopyTo(row);
            if (yDot.IsEmpty) row[left..].Clear();
            else yDot.Slice(i * right, right).CopyTo(row[left..]);
        }
    }

    public override void SecondBackward(ReadOnlySpan<T> x, ReadOnlySpan<T> y, ReadOnlySpan<T> r, T c, int index,
        ReadOnlySpan<T> xDot, ReadOnlySpan<T> yDot, ReadOnlySpan<T> g, ReadOnlySpan<T> gDot, Span<T> gxDot, Span<T> gyDot)
    {
        var (rows, left, right) = Dimensions(x.Length, r.Length, index);
        Split(gDot, gxDot, gyDot, rows, left, right);
    }

    // A cbind always has at least two elements, so the one-element sweeps never reach it.
    public override T Value(T x, T y, T c) => throw new InvalidOperationException("cbind has no one-element form.");
    public override T DX(T x, T y, T r, T c) => throw new InvalidOperationException("cbind has no one-element form.");
}
