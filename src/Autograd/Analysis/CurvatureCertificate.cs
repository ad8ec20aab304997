using System.Numerics;
using Autograd.Expressions;
using Autograd.Optimization;

namespace Autograd.Analysis;

/// <summary>What the Hessian's eigenvalues say about a point.</summary>
public enum CurvatureKind { Minimum, Saddle, Maximum, Degenerate }

/// <summary>
/// The second-order description of a point: the Hessian's eigenvalues (all of them, or the extreme ones from
/// Lanczos), what they make of the point, and the numbers that went into that judgement.
/// </summary>
/// <param name="Eigenvalues">Ascending; all of them when <paramref name="Complete"/>, else the Lanczos estimates of the extremes.</param>
/// <param name="Tolerance">An eigenvalue within ±Tolerance of 0 counts as zero.</param>
/// <param name="ConditionNumber">max|λ| / min|λ|; null where an eigenvalue is zero within the tolerance.</param>
/// <param name="Method">"jacobi" (dense Hessian) or "lanczos" (Hessian-vector products).</param>
/// <param name="Products">Hessian-vector products spent.</param>
/// <param name="GradientNorm">The gradient's norm; under bounds, the projected gradient's.</param>
public sealed record Certificate(double[] Eigenvalues, bool Complete, CurvatureKind Kind, double Tolerance, double? ConditionNumber,
    double GradientNorm, string Method, int Products)
{
    /// <summary>Coordinates a bound held at the point, left out of the eigenvalues (0 without bounds).</summary>
    public int HeldByBounds { get; init; }
}

/// <summary>Builds <see cref="Certificate"/>s from a compiled formula at the parameters it holds.</summary>
public static class Certifier
{
    /// <summary>Lanczos steps beyond the dense limit: enough for the extremes of well-separated spectra, cheap in products.</summary>
    public const int LanczosSteps = 80;

    /// <summary>
    /// Certifies the point the formula's parameters hold now. Up to <paramref name="maxDense"/> parameter elements
    /// the dense Hessian's eigenvalues are all found (Jacobi); beyond, the smallest and largest by Lanczos.
    /// </summary>
    public static Certificate Certify<T>(CompiledFormula<T> formula, int maxDense) where T : IFloatingPointIeee754<T> =>
        Certify(formula, maxDense, null);

    /// <summary>
    /// Certifies the point the formula's parameters hold in the box <paramref name="box"/>: the coordinates a bound holds
    /// (fixed, or on a bound the gradient pushes against) are left out, so the eigenvalues are those of the Hessian
    /// over the free coordinates and the gradient norm is the projected gradient's.
    /// </summary>
    public static Certificate Certify<T>(CompiledFormula<T> formula, int maxDense, Bounds<T>? box) where T : IFloatingPointIeee754<T>
    {
        var hessian = new HessianOperator<T>(formula);
        var n = hessian.Dimension;
        var gradient = hessian.Gradient();
        var free = Enumerable.Range(0, n).ToArray();
        double gradientNorm;
        if (box is null)
            gradientNorm = Math.Sqrt(gradient.Sum(g => g * g));
        else
        {
            var x = new FormulaObjective<T>(formula).CurrentParameters();
            var g = gradient.Select(T.CreateChecked).ToArray();
            var held = new bool[n];
            box.ActiveSet(x, g, held);
            free = free.Where(i => !held[i]).ToArray();
            gradientNorm = double.CreateChecked(box.ProjectedGradientNorm(x, g));
        }
        var m = free.Length;
        double[] eigenvalues;
        bool complete;
        string method;
        if (m <= maxDense)
        {
            eigenvalues = m == 0 ? [] : SymmetricEigen.Eigenvalues(Restrict(hessian.Dense(), n, free), m);
            (complete, method) = (true, "jacobi");
        }
        else
        {
            var embedded = new double[n];
            var product = new double[n];
            var ritz = Spectrum.Lanczos((v, hv) =>
            {
                for (var k = 0; k < m; k++) embedded[free[k]] = v[k];
                hessian.Apply(embedded, product);
                for (var k = 0; k < m; k++) hv[k] = product[free[k]];
            }, m, LanczosSteps);
            eigenvalues = ritz.Length == m ? ritz : [ritz[0], ritz[^1]];
            (complete, method) = (ritz.Length == m, "lanczos");
        }
        return Classify(eigenvalues, complete, gradientNorm, method, hessian.Products, Epsilon<T>()) with { HeldByBounds = n - m };
    }

    /// <summary>The rows and columns <paramref name="keep"/> of a row-major n×n matrix.</summary>
    static double[] Restrict(double[] matrix, int n, int[] keep)
    {
        if (keep.Length == n) return matrix;
        var m = keep.Length;
        var result = new double[m * m];
        for (var i = 0; i < m; i++)
            for (var j = 0; j < m; j++)
                result[i * m + j] = matrix[keep[i] * n + keep[j]];
        return result;
    }

    /// <summary>The largest eigenvalue of the Hessian at the parameters the formula holds, by power iteration on Hessian-vector products.</summary>
    public static (double LambdaMax, int Products) LargestEigenvalue<T>(CompiledFormula<T> formula) where T : IFloatingPointIeee754<T>
    {
        var hessian = new HessianOperator<T>(formula);
        return Spectrum.LargestByPowerIteration(hessian.Apply, hessian.Dimension);
    }

    /// <summary>The machine epsilon of T: 2^-52 for double, 2^-23 for float.</summary>
    static double Epsilon<T>() where T : IFloatingPointIeee754<T> => typeof(T) == typeof(float) ? Math.Pow(2, -23) : Math.Pow(2, -52);

    /// <summary>
    /// Judges the eigenvalues: an eigenvalue counts as zero within sqrt(eps)·max(1, max|λ|), the accuracy an exact
    /// Hessian evaluated in floating point supports after the rounding of the point itself.
    /// </summary>
    public static Certificate Classify(double[] eigenvalues, bool complete, double gradientNorm, string method, int products, double epsilon)
    {
        var scale = eigenvalues.Length == 0 ? 0 : eigenvalues.Max(Math.Abs);
        var tolerance = Math.Sqrt(epsilon) * Math.Max(1, scale);
        var lowest = eigenvalues.Length == 0 ? 0 : eigenvalues[0];
        var highest = eigenvalues.Length == 0 ? 0 : eigenvalues[^1];
        var kind = lowest > tolerance ? CurvatureKind.Minimum
            : highest < -tolerance ? CurvatureKind.Maximum
            : lowest < -tolerance && highest > tolerance ? CurvatureKind.Saddle
            : CurvatureKind.Degenerate;
        var smallest = eigenvalues.Length == 0 ? 0 : eigenvalues.Min(Math.Abs);
        // With only the extremes of a spectrum that crosses zero, the smallest |λ| is unknown.
        double? condition = smallest > tolerance && (complete || kind is CurvatureKind.Minimum or CurvatureKind.Maximum) ? scale / smallest : null;
        return new Certificate(eigenvalues, complete, kind, tolerance, condition, gradientNorm, method, products);
    }
}
