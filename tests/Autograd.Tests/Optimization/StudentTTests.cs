using Autograd.Optimization;

namespace Autograd.Tests.Optimization;

/// <summary>Student's t tail probabilities and quantiles against closed forms (ν = 1, 2) and scipy.stats.t.</summary>
public class StudentTTests
{
    static void AssertRelative(double expected, double actual, double tolerance, string what) =>
        Assert.True(Math.Abs(actual - expected) <= tolerance * Math.Abs(expected), $"{what}: expected {expected:R}, got {actual:R}");

    [Theory]
    [InlineData(0.5)]
    [InlineData(3.0)]
    [InlineData(1e3)]
    [InlineData(1e8)]
    public void MatchesTheClosedFormsForOneAndTwoDegreesOfFreedom(double t)
    {
        // ν = 1 (Cauchy): P(|T| > t) = (2/π)·atan(1/t). ν = 2: 1 - t/√(2 + t²) = 2/(√(2 + t²)(√(2 + t²) + t)).
        AssertRelative(2 / Math.PI * Math.Atan(1 / t), StudentT.TwoSidedP(t, 1), 1e-12, "nu=1");
        var root = Math.Sqrt(2 + t * t);
        AssertRelative(2 / (root * (root + t)), StudentT.TwoSidedP(t, 2), 1e-12, "nu=2");
    }

    [Fact]
    public void MatchesScipyFromTheCentreToFarTails()
    {
        double[] ts = [0.1, 1, 2.5, 6, 28.13974654966284, 32.68405027460066];
        double[] nus = [3, 7.5, 12, 30, 198];
        var cases = ts.SelectMany(t => nus.Select(nu => new[] { t, nu })).ToArray();
        var quantiles = nus.Select(nu => StudentT.Quantile(0.975, nu)).ToArray();
        // The quantile is checked by scipy's tail probability at it (scipy's own ppf is only good to about 1e-10).
        var answer = Scipy.Run("""
            import json, sys
            from scipy import stats
            d = json.load(sys.stdin)
            print(json.dumps({'p': [2*stats.t.sf(t, nu) for t, nu in d['cases']],
                              'q': [stats.t.sf(q, nu) for q, nu in zip(d['quantiles'], d['nus'])]}))
            """, new { cases, nus, quantiles });
        var p = Scipy.Doubles(answer.GetProperty("p"));
        for (var i = 0; i < cases.Length; i++)
            AssertRelative(p[i], StudentT.TwoSidedP(cases[i][0], cases[i][1]), 1e-10, $"p(t={cases[i][0]}, nu={cases[i][1]})");
        var q = Scipy.Doubles(answer.GetProperty("q"));
        for (var i = 0; i < nus.Length; i++) AssertRelative(0.025, q[i], 1e-12, $"upper tail at q(nu={nus[i]}) = {quantiles[i]}");
    }
}
