namespace Autograd.Analysis;

/// <summary>Eigenvalues of a small dense symmetric matrix by the cyclic Jacobi method: plain loops, no recursion.</summary>
public static class SymmetricEigen
{
    /// <summary>
    /// The eigenvalues of the symmetric n×n matrix <paramref name="matrix"/> (row-major; only its symmetric part is
    /// used), in ascending order. Jacobi rotations are accurate to a few ulps of the largest eigenvalue, also for
    /// the small ones of an ill-conditioned matrix, which is what a curvature certificate needs.
    /// </summary>
    public static double[] Eigenvalues(ReadOnlySpan<double> matrix, int n, int maxSweeps = 60)
    {
        if (matrix.Length != n * n) throw new ArgumentException($"A {n}×{n} matrix has {n * n} elements, not {matrix.Length}.", nameof(matrix));
        // A matrix with a NaN or an infinity has no meaningful eigenvalues: NaN for each, for the caller to report.
        foreach (var entry in matrix)
            if (!double.IsFinite(entry)) return Enumerable.Repeat(double.NaN, n).ToArray();
        var a = new double[n * n];
        for (var i = 0; i < n; i++)
            for (var j = 0; j < n; j++)
                a[i * n + j] = 0.5 * (matrix[i * n + j] + matrix[j * n + i]);
        for (var sweep = 0; sweep < maxSweeps; sweep++)
        {
            double off = 0, diagonal = 0;
            for (var i = 0; i < n; i++)
            {
                diagonal += a[i * n + i] * a[i * n + i];
                for (var j = i + 1; j < n; j++) off += a[i * n + j] * a[i * n + j];
            }
            if (off == 0 || off <= 1e-32 * diagonal) break;
            for (var p = 0; p < n - 1; p++)
                for (var q = p + 1; q < n; q++)
                    Rotate(a, n, p, q);
        }
        var values = new double[n];
        for (var i = 0; i < n; i++) values[i] = a[i * n + i];
        Array.Sort(values);
        return values;
    }

    /// <summary>One Jacobi rotation that zeroes a[p, q] (Golub and Van Loan, algorithm 8.5.1, with Rutishauser's stable angle).</summary>
    static void Rotate(double[] a, int n, int p, int q)
    {
        var apq = a[p * n + q];
        if (apq == 0) return;
        var theta = (a[q * n + q] - a[p * n + p]) / (2 * apq);
        var t = Math.Sign(theta) / (Math.Abs(theta) + Math.Sqrt(theta * theta + 1));
        if (theta == 0) t = 1;
        if (double.IsInfinity(theta * theta)) t = 1 / (2 * theta);
        var c = 1 / Math.Sqrt(t * t + 1);
        var s = t * c;
        for (var k = 0; k < n; k++)
        {
            double akp = a[k * n + p], akq = a[k * n + q];
            a[k * n + p] = c * akp - s * akq;
            a[k * n + q] = s * akp + c * akq;
        }
        for (var k = 0; k < n; k++)
        {
            double apk = a[p * n + k], aqk = a[q * n + k];
            a[p * n + k] = c * apk - s * aqk;
            a[q * n + k] = s * apk + c * aqk;
        }
        a[p * n + q] = a[q * n + p] = 0;
    }
}
