namespace Autograd.Optimization;

/// <summary>Student's t distribution through the regularised incomplete beta function, in double.</summary>
public static class StudentT
{
    /// <summary>P(|T| ≥ |t|) with <paramref name="freedom"/> degrees of freedom: I_{ν/(ν+t²)}(ν/2, 1/2).</summary>
    public static double TwoSidedP(double t, double freedom)
    {
        if (double.IsNaN(t) || !(freedom > 0)) return double.NaN;
        if (double.IsInfinity(t)) return 0;
        var t2 = t * t;
        // x and 1 - x each from their own quotient, so that neither loses digits to cancellation.
        return RegularizedBeta(freedom / 2, 0.5, freedom / (freedom + t2), t2 / (freedom + t2));
    }

    /// <summary>P(T ≤ t).</summary>
    public static double Cdf(double t, double freedom)
    {
        var tail = TwoSidedP(t, freedom) / 2;
        return t >= 0 ? 1 - tail : tail;
    }

    /// <summary>The t with P(T ≤ t) = <paramref name="probability"/>, by bisection to the last bit.</summary>
    public static double Quantile(double probability, double freedom)
    {
        if (!(probability > 0 && probability < 1) || !(freedom > 0)) return double.NaN;
        if (probability == 0.5) return 0;
        if (probability < 0.5) return -Quantile(1 - probability, freedom);
        // Upper tail probability q = 1 - p, matched on the two-sided p value 2q, which keeps digits for small q.
        var target = 2 * (1 - probability);
        double low = 0, high = 1;
        while (TwoSidedP(high, freedom) > target && high < 1e300) high *= 2;
        for (var i = 0; i < 2000 && high - low > 0; i++)
        {
            var middle = low + (high - low) / 2;
            if (middle == low || middle == high) break;
            if (TwoSidedP(middle, freedom) > target) low = middle;
            else high = middle;
        }
        return low + (high - low) / 2;
    }

    /// <summary>
    /// I_x(a, b), the regularised incomplete beta function, by the continued fraction (modified Lentz) on whichever
    /// side of the mean converges fast; <paramref name="oneMinusX"/> is 1 - x, passed to keep its digits.
    /// </summary>
    public static double RegularizedBeta(double a, double b, double x, double oneMinusX)
    {
        if (x <= 0) return 0;
        if (oneMinusX <= 0) return 1;
        var logFront = LogGamma(a + b) - LogGamma(a) - LogGamma(b) + a * Math.Log(x) + b * Math.Log(oneMinusX);
        var front = Math.Exp(logFront);
        return x < (a + 1) / (a + b + 2)
            ? front * BetaContinuedFraction(a, b, x) / a
            : 1 - front * BetaContinuedFraction(b, a, oneMinusX) / b;
    }

    static double BetaContinuedFraction(double a, double b, double x)
    {
        const double tiny = 1e-300;
        var c = 1.0;
        var d = 1 - (a + b) * x / (a + 1);
        if (Math.Abs(d) < tiny) d = tiny;
        d = 1 / d;
        var h = d;
        for (var m = 1; m <= 10000; m++)
        {
            var m2 = 2 * m;
            var even = m * (b - m) * x / ((a + m2 - 1) * (a + m2));
            d = 1 + even * d;
            if (Math.Abs(d) < tiny) d = tiny;
            c = 1 + even / c;
            if (Math.Abs(c) < tiny) c = tiny;
            d = 1 / d;
            h *= d * c;
            var odd = -(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1));
            d = 1 + odd * d;
            if (Math.Abs(d) < tiny) d = tiny;
            c = 1 + odd / c;
            if (Math.Abs(c) < tiny) c = tiny;
            d = 1 / d;
            var delta = d * c;
            h *= delta;
            if (Math.Abs(delta - 1) < 1e-16) break;
        }
        return h;
    }

    static readonly double[] Lanczos =
    [
        0.99999999999999709182, 57.156235665862923517, -59.597960355475491248, 14.136097974741747174,
        -0.49191381609762019978, .33994649984811888699e-4, .46523628927048575665e-4, -.98374475304879564677e-4,
        .15808870322491248884e-3, -.21026444172410488319e-3, .21743961811521264320e-3, -.16431810653676389022e-3,
        .84418223983852743293e-4, -.26190838401581408670e-4, .36899182659531622704e-5,
    ];

    /// <summary>ln Γ(x) for x &gt; 0: Lanczos' approximation with Godfrey's coefficients (g = 607/128), about 1e-15 relative.</summary>
    public static double LogGamma(double x)
    {
        if (x < 0.5) return Math.Log(Math.PI / Math.Abs(Math.Sin(Math.PI * x))) - LogGamma(1 - x);
        const double g = 607.0 / 128;
        x -= 1;
        var sum = Lanczos[0];
        for (var i = 1; i < Lanczos.Length; i++) sum += Lanczos[i] / (x + i);
        var t = x + g + 0.5;
        return 0.5 * Math.Log(2 * Math.PI) + (x + 0.5) * Math.Log(t) - t + Math.Log(sum);
    }
}
