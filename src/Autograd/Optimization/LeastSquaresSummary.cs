namespace Autograd.Optimization;

/// <summary>
/// The coefficient table of a least-squares fit, as R's summary(lm) and summary(nls) print it: from the residuals
/// r and their Jacobian J at the estimate, σ² = RSS/(n - p) and Cov = σ²·(JᵀJ)⁻¹ over the estimated parameters.
/// </summary>
/// <param name="Estimated">Which parameters were estimated (a fixed one has no standard error and no degree of freedom).</param>
public sealed record LeastSquaresSummary(
    double ResidualSumOfSquares, int Rows, int DegreesOfFreedom, double? ResidualStandardError,
    double? RSquared, double? AdjustedRSquared, bool[] Estimated, double[] StandardErrors, double[] TValues,
    double[] PValues, double[] ConfidenceLow, double[] ConfidenceHigh, double[][]? Correlation, string? Note)
{
    /// <summary>The confidence level of <see cref="ConfidenceLow"/> and <see cref="ConfidenceHigh"/>.</summary>
    public const double Level = 0.95;

    /// <param name="residuals">r at the estimate, one per row.</param>
    /// <param name="jacobian">∂r/∂x at the estimate, row-major rows × parameters.</param>
    /// <param name="target">The observed column, for R² (centred, as lm with an intercept); null where unknown.</param>
    public static LeastSquaresSummary Compute(ReadOnlySpan<double> estimates, ReadOnlySpan<double> residuals,
        ReadOnlySpan<double> jacobian, bool[] estimated, ReadOnlySpan<double> target)
    {
        var n = estimates.Length;
        var rows = residuals.Length;
        var free = Enumerable.Range(0, n).Where(i => estimated[i]).ToArray();
        var p = free.Length;
        var rss = 0.0;
        foreach (var r in residuals) rss += r * r;
        var freedom = rows - p;
        double? rSquared = null, adjusted = null;
        if (!target.IsEmpty)
        {
            var mean = 0.0;
            foreach (var y in target) mean += y;
            mean /= target.Length;
            var total = 0.0;
            foreach (var y in target) total += (y - mean) * (y - mean);
            if (total > 0)
            {
                rSquared = 1 - rss / total;
                if (freedom > 0) adjusted = 1 - (1 - rSquared.Value) * (rows - 1) / freedom;
            }
        }
        var nan = Enumerable.Repeat(double.NaN, n).ToArray();
        LeastSquaresSummary Partial(string note) => new(rss, rows, freedom, freedom > 0 ? Math.Sqrt(rss / freedom) : null,
            rSquared, adjusted, estimated, nan, (double[])nan.Clone(), (double[])nan.Clone(), (double[])nan.Clone(), (double[])nan.Clone(), null, note);
        if (freedom <= 0)
            return Partial($"No standard errors: {rows} rows leave no degrees of freedom for {p} estimated parameters.");

        var normal = new double[p * p];
        for (var i = 0; i < rows; i++)
            for (var a = 0; a < p; a++)
                for (var b = 0; b < p; b++)
                    normal[a * p + b] += jacobian[i * n + free[a]] * jacobian[i * n + free[b]];
        var inverse = DenseLinearAlgebra.InverseSymmetric(normal, p);
        if (inverse is null)
            return Partial("No standard errors: JᵀJ is singular at the estimate (a parameter the residuals do not depend on, or two that only act together).");
        var sigma2 = rss / freedom;
        var quantile = StudentT.Quantile(0.5 + Level / 2, freedom);
        var se = (double[])nan.Clone();
        var t = (double[])nan.Clone();
        var pValues = (double[])nan.Clone();
        var low = (double[])nan.Clone();
        var high = (double[])nan.Clone();
        var correlation = new double[n][];
        for (var i = 0; i < n; i++) correlation[i] = (double[])nan.Clone();
        for (var a = 0; a < p; a++)
        {
            var i = free[a];
            se[i] = Math.Sqrt(sigma2 * inverse[a * p + a]);
            t[i] = estimates[i] / se[i];
            pValues[i] = StudentT.TwoSidedP(t[i], freedom);
            low[i] = estimates[i] - quantile * se[i];
            high[i] = estimates[i] + quantile * se[i];
            for (var b = 0; b < p; b++)
                correlation[i][free[b]] = a == b ? 1 : inverse[a * p + b] / Math.Sqrt(inverse[a * p + a] * inverse[b * p + b]);
        }
        return new(rss, rows, freedom, Math.Sqrt(sigma2), rSquared, adjusted, estimated, se, t, pValues, low, high, correlation, null);
    }
}
