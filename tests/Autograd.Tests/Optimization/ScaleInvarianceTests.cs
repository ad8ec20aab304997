using Autograd.Optimization;

namespace Autograd.Tests.Optimization;

/// <summary>
/// Multiplying a loss by a constant does not move its minimiser: L-BFGS and Newton must find it at every scale, solve a
/// badly scaled problem, and L-BFGS must keep learning curvature however small its steps get.
/// </summary>
public class ScaleInvarianceTests
{
    static readonly TestProblem[] Problems = [TestProblem.Rosenbrock, TestProblem.LabLine, TestProblem.ExponentialDecay];

    public static TheoryData<string, string, double> EveryScale()
    {
        var data = new TheoryData<string, string, double>();
        foreach (var problem in Problems)
            foreach (var method in new[] { "lbfgs", "newton" })
                foreach (var scale in new[] { 1e-10, 1, 1e6, 1e10 })
                    data.Add(problem.Name, method, scale);
        return data;
    }

    static Optimizer<double> Create(string method) => method == "lbfgs" ? new Lbfgs<double>(2) : new Newton<double>(2);

    static void AssertRelative(double expected, double actual, double tolerance, string what) =>
        Assert.True(Math.Abs(actual - expected) <= tolerance * Math.Abs(expected), $"{what}: expected {expected:R}, got {actual:R}");

    [Theory]
    [MemberData(nameof(EveryScale))]
    public void TheMinimiserIsFoundAtEveryScaleOfTheLoss(string name, string method, double scale)
    {
        var problem = Problems.Single(p => p.Name == name);
        // The gradient scales with the loss, and so does a tolerance on it that means the same at every scale.
        var outcome = Minimizer.Run(problem.Objective<double>(scale), problem.Start, Create(method),
            new StoppingRules(1000) { GradientNormTolerance = 1e-9 * scale });
        Assert.True(outcome.Reason == StopReason.GradientNormTolerance, outcome.Message);
        for (var i = 0; i < problem.Minimiser.Length; i++)
            AssertRelative(problem.Minimiser[i], outcome.Parameters[i], 1e-6, $"x[{i + 1}]");
    }

    [Fact]
    public void LbfgsSolvesPowellsBadlyScaledFunctionTimesAMillion()
    {
        // The reproducer: the line search used to give up on the first step, and no iteration moved.
        var objective = new FormulaObjective<double>(TestProblem.Compile<double>(TestProblem.PowellBadlyScaled, 1e6, [0, 1], []));
        var lbfgs = new Lbfgs<double>(2);
        var outcome = Minimizer.Run(objective, [0.0, 1.0], lbfgs, new StoppingRules(2000) { GradientNormTolerance = 1e-4 });

        Assert.True(outcome.Reason == StopReason.GradientNormTolerance, outcome.Message);
        var (x1, x2) = (outcome.Parameters[0], outcome.Parameters[1]);
        // Both residuals vanish at the minimiser: 10⁴·x1·x2 = 1 and exp(-x1) + exp(-x2) = 1.0001.
        Assert.True(Math.Abs(1e4 * x1 * x2 - 1) < 1e-9, $"first residual {1e4 * x1 * x2 - 1:E3}");
        Assert.True(Math.Abs(Math.Exp(-x1) + Math.Exp(-x2) - 1.0001) < 1e-12, $"second residual {Math.Exp(-x1) + Math.Exp(-x2) - 1.0001:E3}");
        // Moré, Garbow and Hillstrom's published minimiser, (1.098...e-5, 9.106...).
        AssertRelative(1.098159e-5, x1, 1e-6, "x1");
        AssertRelative(9.106146, x2, 1e-6, "x2");
        Assert.Equal(0, lbfgs.SkippedPairs);
    }

    public static TheoryData<string, double> PairCases()
    {
        var data = new TheoryData<string, double>();
        foreach (var problem in Problems)
            foreach (var scale in new[] { 1e-10, 1.0 })
                data.Add(problem.Name, scale);
        return data;
    }

    [Theory]
    [MemberData(nameof(PairCases))]
    public void LbfgsKeepsEveryCurvaturePairUntilItConverges(string name, double scale)
    {
        // At scale 1e-10 every s·y is far below 1e-10, the absolute cut this replaced, which kept none of them.
        var problem = Problems.Single(p => p.Name == name);
        var lbfgs = new Lbfgs<double>(2);
        var outcome = Minimizer.Run(problem.Objective<double>(scale), problem.Start, lbfgs,
            new StoppingRules(1000) { GradientNormTolerance = 1e-10 * scale });

        Assert.True(outcome.Reason == StopReason.GradientNormTolerance, outcome.Message);
        // Each step after the first offers the pair of the step before; the last iteration converged before stepping.
        Assert.Equal(outcome.Iterations - 2, lbfgs.AcceptedPairs);
        Assert.Equal(0, lbfgs.SkippedPairs);
    }

    [Fact]
    public void LbfgsInFloat32ReachesRosenbrocksMinimum()
    {
        var problem = TestProblem.Rosenbrock;
        var lbfgs = new Lbfgs<float>(2);
        var outcome = Minimizer.Run(problem.Objective<float>(1), [-1.2f, 1f], lbfgs, new StoppingRules(1000) { GradientNormTolerance = 1e-3 });
        Assert.True(outcome.Converged || outcome.Reason == StopReason.NoProgress, outcome.Message);
        AssertRelative(1, outcome.Parameters[0], 1e-3, "x[1]");
        AssertRelative(1, outcome.Parameters[1], 1e-3, "x[2]");
        Assert.True(lbfgs.AcceptedPairs > 10, $"{lbfgs.AcceptedPairs} pairs kept, {lbfgs.SkippedPairs} skipped");
    }
}
