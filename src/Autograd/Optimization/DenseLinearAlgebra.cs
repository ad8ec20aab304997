using System.Numerics;

namespace Autograd.Optimization;

/// <summary>Small dense symmetric solves (row-major n×n) for the Newton-type steps and the fit report.</summary>
public static class DenseLinearAlgebra
{
    /// <summary>L with L·Lᵀ = A + λ·diag(D), in the lower triangle of <paramref name="factor"/>; false if not positive definite.</summary>
    /// <param name="diagonal">The damping's diagonal D; null for the identity.</param>
    public static bool Cholesky<T>(ReadOnlySpan<T> a, T damping, ReadOnlySpan<T> diagonal, Span<T> factor, int n)
        where T : IFloatingPointIeee754<T>
    {
        for (var i = 0; i < n; i++)
        {
            for (var j = 0; j <= i; j++)
            {
                var sum = a[i * n + j];
                if (i == j) sum += damping * (diagonal.IsEmpty ? T.One : diagonal[i]);
                for (var k = 0; k < j; k++) sum -= factor[i * n + k] * factor[j * n + k];
                if (i == j)
                {
                    if (!(sum > T.Zero) || !T.IsFinite(sum)) return false;
                    factor[i * n + i] = T.Sqrt(sum);
                }
                else
                {
                    factor[i * n + j] = sum / factor[j * n + j];
                }
            }
        }
        return true;
    }

    /// <summary>Solves L·Lᵀ·x = b in place, with L from <see cref="Cholesky{T}"/>.</summary>
    public static void CholeskySolve<T>(ReadOnlySpan<T> factor, Span<T> b, int n) where T : IFloatingPointIeee754<T>
    {
        for (var i = 0; i < n; i++)
        {
            var sum = b[i];
            for (var k = 0; k < i; k++) sum -= factor[i * n + k] * b[k];
            b[i] = sum / factor[i * n + i];
        }
        for (var i = n - 1; i >= 0; i--)
        {
            var sum = b[i];
            for (var k = i + 1; k < n; k++) sum -= factor[k * n + i] * b[k];
            b[i] = sum / factor[i * n + i];
        }
    }

    /// <summary>
    /// The inverse of a symmetric positive definite matrix (row-major n×n), or null when it is singular to working
    /// precision. Columns are equilibrated first (A = S·B·S with S = diag(A)^½), so that parameters on very different
    /// scales do not make the Cholesky factorisation fail.
    /// </summary>
    public static double[]? InverseSymmetric(ReadOnlySpan<double> a, int n)
    {
        var scale = new double[n];
        for (var i = 0; i < n; i++)
        {
            var d = a[i * n + i];
            if (!(d > 0) || !double.IsFinite(d)) return null;
            scale[i] = Math.Sqrt(d);
        }
        var b = new double[n * n];
        for (var i = 0; i < n; i++)
            for (var j = 0; j < n; j++)
                b[i * n + j] = a[i * n + j] / (scale[i] * scale[j]);
        var factor = new double[n * n];
        if (!Cholesky<double>(b, 0, default, factor, n)) return null;
        // A factor whose diagonal spans more than ~1e-8 is singular to the precision the inverse's entries need.
        double min = double.MaxValue, max = 0;
        for (var i = 0; i < n; i++)
        {
            min = Math.Min(min, factor[i * n + i]);
            max = Math.Max(max, factor[i * n + i]);
        }
        if (min <= max * 1e-8) return null;
        var inverse = new double[n * n];
        var column = new double[n];
        for (var j = 0; j < n; j++)
        {
            Array.Clear(column);
            column[j] = 1;
            CholeskySolve<double>(factor, column, n);
            for (var i = 0; i < n; i++) inverse[i * n + j] = column[i] / (scale[i] * scale[j]);
        }
        return inverse;
    }
}
