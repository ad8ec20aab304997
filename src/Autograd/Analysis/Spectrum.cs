namespace Autograd.Analysis;

/// <summary>A symmetric linear operator given only by its products: y = A·x.</summary>
public delegate void LinearOperator(ReadOnlySpan<double> x, Span<double> y);

/// <summary>Extreme eigenvalues of a symmetric operator known only by its products: power iteration and Lanczos.</summary>
public static class Spectrum
{
    /// <summary>
    /// The largest (algebraic) eigenvalue by power iteration from a seeded start. Power iteration finds the
    /// eigenvalue of largest magnitude; when that is negative, a second run on A - λI finds the top of the spectrum.
    /// Stops when the Rayleigh quotient changes by less than <paramref name="relativeTolerance"/>.
    /// </summary>
    public static (double Value, int Products) LargestByPowerIteration(LinearOperator apply, int n, int maxIterations = 100,
        double relativeTolerance = 1e-10, int seed = 16)
    {
        var (dominant, products) = Power(apply, n, 0, maxIterations, relativeTolerance, seed);
        if (dominant >= 0) return (dominant, products);
        var (shifted, more) = Power(apply, n, dominant, maxIterations, relativeTolerance, seed);
        return (shifted + dominant, products + more);
    }

    static (double Value, int Products) Power(LinearOperator apply, int n, double shift, int maxIterations, double tolerance, int seed)
    {
        var v = StartVector(n, seed);
        var w = new double[n];
        double estimate = 0;
        var products = 0;
        for (var k = 0; k < maxIterations; k++)
        {
            apply(v, w);
            products++;
            for (var i = 0; i < n; i++) w[i] -= shift * v[i];
            var rayleigh = Dot(v, w);
            var norm = Math.Sqrt(Dot(w, w));
            if (norm == 0 || !double.IsFinite(norm)) return (double.IsFinite(norm) ? 0 : double.NaN, products);
            for (var i = 0; i < n; i++) v[i] = w[i] / norm;
            var converged = k > 0 && Math.Abs(rayleigh - estimate) <= tolerance * Math.Abs(rayleigh);
            estimate = rayleigh;
            if (converged) break;
        }
        return (estimate, products);
    }

    /// <summary>
    /// Ritz values of <paramref name="steps"/> Lanczos steps with full reorthogonalisation, ascending: the first and
    /// last converge to the smallest and largest eigenvalues first. Fewer steps when the Krylov space closes early
    /// (then the Ritz values are exact eigenvalues).
    /// </summary>
    public static double[] Lanczos(LinearOperator apply, int n, int steps, int seed = 16)
    {
        steps = Math.Min(steps, n);
        var basis = new List<double[]>(steps);
        var alpha = new List<double>(steps);
        var beta = new List<double>(steps);
        var v = StartVector(n, seed);
        var w = new double[n];
        for (var k = 0; k < steps; k++)
        {
            basis.Add(v);
            apply(v, w);
            var a = Dot(v, w);
            alpha.Add(a);
            // Two passes of Gram-Schmidt against every earlier vector keep the basis orthogonal in floating point.
            for (var pass = 0; pass < 2; pass++)
                foreach (var q in basis)
                {
                    var projection = Dot(q, w);
                    for (var i = 0; i < n; i++) w[i] -= projection * q[i];
                }
            var b = Math.Sqrt(Dot(w, w));
            if (k == steps - 1 || b <= 1e-12 * Math.Max(1, Math.Abs(a)) || !double.IsFinite(b)) break;
            beta.Add(b);
            var next = new double[n];
            for (var i = 0; i < n; i++) next[i] = w[i] / b;
            v = next;
        }
        var m = alpha.Count;
        var tridiagonal = new double[m * m];
        for (var i = 0; i < m; i++)
        {
            tridiagonal[i * m + i] = alpha[i];
            if (i + 1 < m) tridiagonal[i * m + i + 1] = tridiagonal[(i + 1) * m + i] = beta[i];
        }
        return SymmetricEigen.Eigenvalues(tridiagonal, m);
    }

    static double[] StartVector(int n, int seed)
    {
        var random = new Random(seed);
        var v = new double[n];
        for (var i = 0; i < n; i++) v[i] = random.NextDouble() - 0.5;
        var norm = Math.Sqrt(Dot(v, v));
        for (var i = 0; i < n; i++) v[i] /= norm;
        return v;
    }

    static double Dot(ReadOnlySpan<double> a, ReadOnlySpan<double> b) => System.Numerics.Tensors.TensorPrimitives.Dot(a, b);
}
