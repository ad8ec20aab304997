using Autograd.Analysis;
using Autograd.Optimization;
using static Autograd.Tests.Analysis.AnalysisHelpers;

namespace Autograd.Tests.Analysis;

/// <summary>Curvature certificates and the preflight's λmax against closed-form eigenvalues.</summary>
public class CertificateTests
{
    [Fact]
    public void AConvexQuadraticIsAMinimumWithItsEigenvalues()
    {
        // H = [[6, 2], [2, 4]]: λ = 5 ± sqrt(5).
        var compiled = Compile<double>("3*x^2 + 2*x*y + 2*y^2 + x", Parameter("x", 0.3), Parameter("y", -1.0));
        var certificate = Certifier.Certify(compiled, 200);
        Assert.Equal(CurvatureKind.Minimum, certificate.Kind);
        Assert.True(certificate.Complete);
        Assert.Equal(5 - Math.Sqrt(5), certificate.Eigenvalues[0], 1e-12);
        Assert.Equal(5 + Math.Sqrt(5), certificate.Eigenvalues[1], 1e-12);
        Assert.Equal((5 + Math.Sqrt(5)) / (5 - Math.Sqrt(5)), certificate.ConditionNumber!.Value, 1e-10);
        // gradient (6x + 2y + 1, 2x + 4y) at (0.3, -1).
        Assert.Equal(Math.Sqrt(0.8 * 0.8 + 3.4 * 3.4), certificate.GradientNorm, 1e-12);
    }

    [Fact]
    public void XSquaredMinusYSquaredAtTheOriginIsASaddle()
    {
        var certificate = Certifier.Certify(Compile<double>("x^2 - y^2", Parameter("x", 0.0), Parameter("y", 0.0)), 200);
        Assert.Equal(CurvatureKind.Saddle, certificate.Kind);
        Assert.Equal([-2.0, 2.0], certificate.Eigenvalues);
        Assert.Equal(0, certificate.GradientNorm);
    }

    [Fact]
    public void NegatedQuadraticIsAMaximumAndAQuarticAtZeroIsDegenerate()
    {
        Assert.Equal(CurvatureKind.Maximum, Certifier.Certify(Compile<double>("-x^2 - 3*y^2", Parameter("x", 1.0), Parameter("y", 2.0)), 200).Kind);
        var quartic = Certifier.Certify(Compile<double>("x^4 + y^2", Parameter("x", 0.0), Parameter("y", 0.0)), 200);
        Assert.Equal(CurvatureKind.Degenerate, quartic.Kind);
        Assert.Null(quartic.ConditionNumber);
    }

    [Fact]
    public void RosenbrockAtItsMinimumHasTheClosedFormEigenvalues()
    {
        // H = [[802, -400], [-400, 200]]: λ = (1002 ± sqrt(1002² - 4·400)) / 2.
        var certificate = Certifier.Certify(Compile<double>("(1 - x)^2 + 100*(y - x^2)^2", Parameter("x", 1.0), Parameter("y", 1.0)), 200);
        var root = Math.Sqrt(1002.0 * 1002.0 - 4 * 400);
        Assert.Equal(CurvatureKind.Minimum, certificate.Kind);
        Assert.Equal((1002 - root) / 2, certificate.Eigenvalues[0], 1e-11);
        Assert.Equal((1002 + root) / 2, certificate.Eigenvalues[1], 1e-9);
        Assert.Equal("jacobi", certificate.Method);
    }

    [Fact]
    public void JacobiFindsTheEigenvaluesOfARotatedDiagonalMatrix()
    {
        // A = Q·diag(d)·Q with Q = I - 2uuᵀ/uᵀu, a reflection: the eigenvalues are d.
        double[] d = [-3.5, -1e-3, 0.25, 2, 7, 1e4];
        double[] u = [1, -2, 0.5, 3, -1, 0.75];
        var n = d.Length;
        var uu = u.Sum(v => v * v);
        var q = new double[n, n];
        for (var i = 0; i < n; i++) for (var j = 0; j < n; j++) q[i, j] = (i == j ? 1 : 0) - 2 * u[i] * u[j] / uu;
        var a = new double[n * n];
        for (var i = 0; i < n; i++) for (var j = 0; j < n; j++) for (var k = 0; k < n; k++) a[i * n + j] += q[i, k] * d[k] * q[j, k];
        var eigenvalues = SymmetricEigen.Eigenvalues(a, n);
        for (var i = 0; i < n; i++) Assert.Equal(d[i], eigenvalues[i], 1e-10);
    }

    [Fact]
    public void AThousandParametersGetTheirExtremeEigenvaluesByLanczos()
    {
        // H = diag(2c): λmin = 2·min(c) = 1, λmax = 2·max(c) = 20, the rest in [2, 4].
        const int n = 1000;
        var c = Enumerable.Range(0, n).Select(i => 1 + i / (double)n).ToArray();
        c[17] = 0.5;
        c[901] = 10;
        var w = Enumerable.Range(0, n).Select(i => Math.Sin(i)).ToArray();
        var certificate = Certifier.Certify(Compile<double>("sum(c * w^2)", Parameter("w", w), Data("c", c)), 200);
        Assert.False(certificate.Complete);
        Assert.Equal("lanczos", certificate.Method);
        Assert.Equal(CurvatureKind.Minimum, certificate.Kind);
        Assert.Equal(1.0, certificate.Eigenvalues[0], 1e-8);
        Assert.Equal(20.0, certificate.Eigenvalues[^1], 1e-8);
        Assert.Equal(Certifier.LanczosSteps, certificate.Products);
    }

    [Fact]
    public void LanczosFindsARankOneSpikeAndASaddleAmongAThousand()
    {
        // H = 2I + 11ᵀ - 4·e1e1ᵀ·... : here sum(w^2) + 0.5·sum(w)^2 - 3·w[1]^2 has H = 2I + 11ᵀ - 6·e1e1ᵀ,
        // whose extremes solve the secular equation; simpler: without the last term they are 2 and 2 + n.
        const int n = 1000;
        var w = Enumerable.Range(0, n).Select(i => Math.Cos(i)).ToArray();
        var certificate = Certifier.Certify(Compile<double>("sum(w^2) + 0.5*sum(w)^2", Parameter("w", w)), 200);
        Assert.Equal(2.0, certificate.Eigenvalues[0], 1e-9);
        Assert.Equal(2.0 + n, certificate.Eigenvalues[^1], 1e-9);

        var saddle = Certifier.Certify(Compile<double>("sum(w^2) - 0.5*sum(w)^2", Parameter("w", w)), 200);
        Assert.Equal(CurvatureKind.Saddle, saddle.Kind);
        Assert.Equal(2.0 - n, saddle.Eigenvalues[0], 1e-9);
        Assert.Equal(2.0, saddle.Eigenvalues[^1], 1e-9);
    }

    [Fact]
    public void UnderBoundsTheCertificateIsOverTheFreeCoordinatesWithTheProjectedGradient()
    {
        // (x-3)^2 + x*y + 2(y+1)^2 with x <= 1: the constrained minimum is x = 1 (held: df/dx = -5.25 pushes up),
        // y = -1.25; the free Hessian is [4], the projected gradient 0. Unbounded, H = [[2, 1], [1, 4]] and |g| = 5.25.
        var compiled = Compile<double>("(x - 3)^2 + x*y + 2*(y + 1)^2", Parameter("x", 1.0), Parameter("y", -1.25));
        var plain = Certifier.Certify(compiled, 200);
        Assert.Equal(3 - Math.Sqrt(2), plain.Eigenvalues[0], 1e-12);
        Assert.Equal(5.25, plain.GradientNorm, 1e-12);
        Assert.Equal(0, plain.HeldByBounds);

        var box = new Bounds<double>([double.NegativeInfinity, double.NegativeInfinity], [1.0, double.PositiveInfinity]);
        var bounded = Certifier.Certify(compiled, 200, box);
        Assert.Equal([4.0], bounded.Eigenvalues);
        Assert.Equal(CurvatureKind.Minimum, bounded.Kind);
        Assert.Equal(0, bounded.GradientNorm, 1e-12);
        Assert.Equal(1, bounded.HeldByBounds);
    }

    [Fact]
    public void UnderBoundsLanczosWorksOnTheFreeCoordinates()
    {
        // sum(c * w^2), H = diag(2c); the first ten elements sit on their lower bound 1 with the gradient 2c > 0 pushing
        // against it, so they are held. c[3] = 0.1 among them would be the smallest eigenvalue (0.2) if it were free.
        const int n = 1000;
        var c = Enumerable.Range(0, n).Select(i => 1 + i / (double)n).ToArray();
        c[3] = 0.1;
        c[500] = 0.5;
        c[901] = 10;
        var w = Enumerable.Range(0, n).Select(i => i < 10 ? 1.0 : Math.Sin(i)).ToArray();
        var lower = Enumerable.Range(0, n).Select(i => i < 10 ? 1.0 : double.NegativeInfinity).ToArray();
        var box = new Bounds<double>(lower, Enumerable.Repeat(double.PositiveInfinity, n).ToArray());
        var compiled = Compile<double>("sum(c * w^2)", Parameter("w", w), Data("c", c));
        Assert.Equal(0.2, Certifier.Certify(compiled, 200).Eigenvalues[0], 1e-8);
        var bounded = Certifier.Certify(compiled, 200, box);
        Assert.Equal("lanczos", bounded.Method);
        Assert.Equal(10, bounded.HeldByBounds);
        Assert.Equal(1.0, bounded.Eigenvalues[0], 1e-8);
        Assert.Equal(20.0, bounded.Eigenvalues[^1], 1e-8);
        // The projected gradient: the free elements' 2·c·w only.
        var expected = Math.Sqrt(Enumerable.Range(10, n - 10).Sum(i => Math.Pow(2 * c[i] * w[i], 2)));
        Assert.Equal(expected, bounded.GradientNorm, 1e-9);
    }

    [Fact]
    public void PowerIterationFindsLambdaMaxOfAQuadratic()
    {
        // H = diag(10, 1) rotated by the coupling: [[10, 3], [3, 2]], λmax = 6 + 5 = 11.
        var compiled = Compile<double>("5*x^2 + 3*x*y + y^2", Parameter("x", 1.0), Parameter("y", -2.0));
        var (lambda, products) = Certifier.LargestEigenvalue(compiled);
        Assert.Equal(11.0, lambda, 1e-8);
        Assert.InRange(products, 2, 100);
        // A Hessian whose dominant eigenvalue is negative: the top of the spectrum is found by a shift.
        var (top, _) = Certifier.LargestEigenvalue(Compile<double>("-10*x^2 + y^2", Parameter("x", 1.0), Parameter("y", 1.0)));
        Assert.Equal(2.0, top, 1e-8);
    }
}

/// <summary>Points where the Hessian is not finite give NaN eigenvalues, never an exception.</summary>
public class NonFiniteCurvatureTests
{
    [Fact]
    public void ANonFiniteHessianGivesNaNEigenvaluesDenseAndByLanczos()
    {
        Assert.All(SymmetricEigen.Eigenvalues([1, double.NaN, double.NaN, 2], 2), v => Assert.True(double.IsNaN(v)));
        // sqrt at 0: the second derivative is infinite.
        var dense = Certifier.Certify(Compile<double>("sqrt(x) + y^2", Parameter("x", 0.0), Parameter("y", 1.0)), 200);
        Assert.Contains(dense.Eigenvalues, double.IsNaN);
        var w = new double[300];
        var lanczos = Certifier.Certify(Compile<double>("sum(sqrt(w))", Parameter("w", w)), 200);
        Assert.Contains(lanczos.Eigenvalues, v => !double.IsFinite(v));
        Assert.True(double.IsNaN(Certifier.LargestEigenvalue(Compile<double>("sqrt(x) + y^2", Parameter("x", 0.0), Parameter("y", 1.0))).LambdaMax));
    }
}
