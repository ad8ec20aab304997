namespace Autograd;

/// <summary>Functions the BCL lacks (there is no Math.Erf), in double; float32 rounds the double result.</summary>
internal static class SpecialFunctions
{
    const double TwoOverSqrtPi = 1.1283791670955126;
    const double OneOverSqrtPi = 0.5641895835477563;

    /// <summary>
    /// The error function, to a few ulps. Below |x| = 3 the series erf(x) = 2/√π e^(-x²) Σ (2x²)^n x / (1·3·…·(2n+1)),
    /// whose terms are all positive (no cancellation, and exact to the last digit near 0: erf(x) = 2x/√π there);
    /// from 3 to 6, 1 - erfc(x) with erfc's continued fraction; beyond 6, erfc(x) &lt; 2e-17 and erf is ±1.
    /// </summary>
    public static double Erf(double x)
    {
        if (double.IsNaN(x)) return x;
        var a = Math.Abs(x);
        if (a >= 6) return Math.CopySign(1, x);
        if (a >= 3) return Math.CopySign(1 - Erfc(a), x);
        var x2 = x * x;
        double term = x, sum = x;
        for (var n = 1; n < 200; n++)
        {
            term *= 2 * x2 / (2 * n + 1);
            sum += term;
            if (Math.Abs(term) <= 1e-17 * Math.Abs(sum)) break;
        }
        return TwoOverSqrtPi * Math.Exp(-x2) * sum;
    }

    /// <summary>erfc(x) for x ≥ 3: e^(-x²)/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + …)))), evaluated from the tail.</summary>
    static double Erfc(double x)
    {
        var fraction = x;
        for (var k = 120; k >= 1; k--) fraction = x + k / 2.0 / fraction;
        return OneOverSqrtPi * Math.Exp(-x * x) / fraction;
    }

    /// <summary>erf by its Maclaurin series, alternating: a reference for tests, accurate to about 1e-14 for |x| ≤ 2.5.</summary>
    public static double ErfTaylor(double x)
    {
        double term = x, sum = x;
        for (var n = 1; n < 200 && Math.Abs(term) > 1e-18 * Math.Abs(sum); n++)
        {
            term *= -x * x / n;
            sum += term / (2 * n + 1);
        }
        return TwoOverSqrtPi * sum;
    }
}
