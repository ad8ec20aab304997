using Autograd.Expressions;
using Autograd.Optimization;

namespace Autograd.Tests.Optimization;

/// <summary>
/// Levenberg–Marquardt on standard nonlinear least-squares problems, against NIST StRD certified values and
/// against scipy.optimize.least_squares (MINPACK's lmder) run in the test.
/// </summary>
public class LevenbergMarquardtTests
{
    // NIST StRD Misra1a (lower difficulty): y = b1·(1 - exp(-b2·x)).
    static readonly double[] MisraX = [77.6, 114.9, 141.1, 190.8, 239.9, 289.0, 332.8, 378.4, 434.8, 477.3, 536.8, 593.1, 689.1, 760.0];
    static readonly double[] MisraY = [10.07, 14.73, 17.94, 23.93, 29.61, 35.18, 40.02, 44.82, 50.76, 55.05, 61.01, 66.40, 75.47, 81.78];

    // R's datasets::Puromycin, state "treated": rate = Vm·conc/(K + conc).
    static readonly double[] PuromycinConc = [0.02, 0.02, 0.06, 0.06, 0.11, 0.11, 0.22, 0.22, 0.56, 0.56, 1.10, 1.10];
    static readonly double[] PuromycinRate = [76, 47, 97, 107, 123, 139, 159, 152, 191, 201, 207, 200];

    internal static (FormulaObjective<double> Loss, FormulaResiduals<double> Residuals) Problem(string residual, string[] parameters,
        double[] start, double[] x, double[] y)
    {
        CompiledFormula<double> Compile(string text)
        {
            var specs = parameters.Select(p => InputSpec.Scalar(p, InputKind.Parameter))
                .Append(InputSpec.Vector("x", InputKind.Data, x.Length)).Append(InputSpec.Vector("y", InputKind.Data, y.Length)).ToList();
            var compiled = CompiledFormula<double>.Compile(Formula.Parse(text), specs);
            for (var i = 0; i < parameters.Length; i++) compiled.SetInput(i, [start[i]]);
            compiled.SetInput(parameters.Length, x);
            compiled.SetInput(parameters.Length + 1, y);
            return compiled;
        }
        return (new FormulaObjective<double>(Compile($"mean(({residual})^2)")), new FormulaResiduals<double>(Compile($"sum(({residual}))")));
    }

    static MinimizeOutcome<double> Fit(string residual, string[] parameters, double[] start, double[] x, double[] y, Bounds<double>? bounds = null)
    {
        var (loss, residuals) = Problem(residual, parameters, start, x, y);
        var optimizer = new LevenbergMarquardt<double>(residuals, bounds);
        return Minimizer.Run(loss, loss.CurrentParameters(), optimizer, new StoppingRules(500) { GradientNormTolerance = 0 }, bounds: bounds);
    }

    const string ScipyFit = """
        import json, sys, numpy as np
        from scipy.optimize import least_squares
        d = json.load(sys.stdin)
        x, y = np.array(d['x']), np.array(d['y'])
        f = eval('lambda p, x: ' + d['model'], {'np': np})
        r = least_squares(lambda p: y - f(p, x), d['start'], method='lm', xtol=1e-15, ftol=1e-15, gtol=1e-15, max_nfev=100000)
        print(json.dumps({'x': r.x.tolist()}))
        """;

    static double[] ScipyLeastSquares(string model, double[] start, double[] x, double[] y) =>
        Scipy.Doubles(Scipy.Run(ScipyFit, new { model, start, x, y }).GetProperty("x"));

    static void AssertRelative(double expected, double actual, double tolerance, string what) =>
        Assert.True(Math.Abs(actual - expected) <= tolerance * Math.Abs(expected), $"{what}: expected {expected:R}, got {actual:R}");

    [Fact]
    public void Misra1aReachesTheCertifiedValuesFromNistStartOne()
    {
        var outcome = Fit("y - b1*(1 - exp(-b2*x))", ["b1", "b2"], [500, 1e-4], MisraX, MisraY);
        AssertRelative(2.3894212918E+02, outcome.Parameters[0], 1e-8, "b1");
        AssertRelative(5.5015643181E-04, outcome.Parameters[1], 1e-8, "b2");
    }

    [Fact]
    public void Misra1aStandardErrorsAndResidualStandardDeviationAreTheCertifiedOnes()
    {
        var outcome = Fit("y - b1*(1 - exp(-b2*x))", ["b1", "b2"], [500, 1e-4], MisraX, MisraY);
        var (_, residuals) = Problem("y - b1*(1 - exp(-b2*x))", ["b1", "b2"], outcome.Parameters, MisraX, MisraY);
        var r = new double[MisraX.Length];
        var jacobian = new double[MisraX.Length * 2];
        residuals.Jacobian(outcome.Parameters, r, jacobian);
        var summary = LeastSquaresSummary.Compute(outcome.Parameters, r, jacobian, [true, true], default);
        AssertRelative(1.2455138894E-01, summary.ResidualSumOfSquares, 1e-8, "RSS");
        AssertRelative(1.0187876330E-01, summary.ResidualStandardError!.Value, 1e-8, "residual SD");
        AssertRelative(2.7070075241E+00, summary.StandardErrors[0], 1e-6, "SE b1");
        AssertRelative(7.2668688436E-06, summary.StandardErrors[1], 1e-6, "SE b2");
        Assert.Equal(12, summary.DegreesOfFreedom);
    }

    public static TheoryData<string, string, string[], double[], string> Problems => new()
    {
        // name, residual in the formula language, parameters, start, the model in numpy
        { "puromycin", "y - Vm*x/(K + x)", ["Vm", "K"], [200, 0.1], "p[0]*x/(p[1] + x)" },
        { "exponential decay", "y - (A*exp(-k*x) + c)", ["A", "k", "c"], [1, 1, 0], "p[0]*np.exp(-p[1]*x) + p[2]" },
        { "gaussian peak", "y - a*exp(-(x - mu)^2/(2*s^2))", ["a", "mu", "s"], [3, 4, 2], "p[0]*np.exp(-(x - p[1])**2/(2*p[2]**2))" },
    };

    static (double[] X, double[] Y) Data(string name)
    {
        if (name == "puromycin") return (PuromycinConc, PuromycinRate);
        var x = Enumerable.Range(0, 60).Select(i => i * 10.0 / 59).ToArray();
        // Deterministic "noise": a fixed, irregular wiggle, so that the fit has residuals to weigh.
        var noise = x.Select((v, i) => 0.05 * Math.Sin(7.3 * i + 1.1) * Math.Cos(2.9 * i)).ToArray();
        var y = name == "exponential decay"
            ? x.Select((v, i) => 5 * Math.Exp(-0.7 * v) + 1 + noise[i]).ToArray()
            : x.Select((v, i) => 4 * Math.Exp(-(v - 5.5) * (v - 5.5) / (2 * 1.2 * 1.2)) + noise[i]).ToArray();
        return (x, y);
    }

    [Theory]
    [MemberData(nameof(Problems))]
    public void AgreesWithScipyLeastSquares(string name, string residual, string[] parameters, double[] start, string numpyModel)
    {
        var (x, y) = Data(name);
        var expected = ScipyLeastSquares(numpyModel, start, x, y);
        var outcome = Fit(residual, parameters, start, x, y);
        for (var i = 0; i < parameters.Length; i++) AssertRelative(expected[i], outcome.Parameters[i], 1e-6, $"{name} {parameters[i]}");
        if (name == "puromycin")
        {
            // R: nls(rate ~ Vm*conc/(K + conc), Puromycin, subset = state == "treated") gives Vm 212.7, K 0.06412.
            Assert.Equal(212.68, outcome.Parameters[0], 0.01);
            Assert.Equal(0.06412, outcome.Parameters[1], 0.00001);
        }
    }

    [Fact]
    public void BoundsAreHonouredAtTheConstrainedMinimum()
    {
        // Residuals (a - 3, √2(b + 2)) with a ≤ 1: the sum of squares is separable, so the minimum is (1, -2).
        var x = new double[] { 0, 1 };
        var y = new double[] { 0, 0 };
        var bounds = new Bounds<double>([double.NegativeInfinity, double.NegativeInfinity], [1, double.PositiveInfinity]);
        var outcome = Fit("(1 - x)*(a - 3) + x*sqrt(2)*(b + 2)", ["a", "b"], [0, 0], x, y, bounds);
        Assert.Equal(1.0, outcome.Parameters[0]);
        Assert.Equal(-2.0, outcome.Parameters[1], 1e-9);
    }
}
