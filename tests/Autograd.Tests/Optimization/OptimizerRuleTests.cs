using Autograd.Expressions;
using Autograd.Optimization;

namespace Autograd.Tests.Optimization;

/// <summary>Each optimizer's update rule against trajectories worked out independently.</summary>
public class OptimizerRuleTests
{
    /// <summary>f(x) = 0.5 * sum(c * x^2), gradient c * x, Hessian diag(c).</summary>
    static FormulaObjective<double> Quadratic(double[] c, double[] start)
    {
        var compiled = CompiledFormula<double>.Compile(Formula.Parse("0.5 * sum(c * x^2)"),
            [InputSpec.Vector("x", InputKind.Parameter, start.Length), InputSpec.Vector("c", InputKind.Constant, c.Length)]);
        compiled.SetInput(0, start);
        compiled.SetInput(1, c);
        return new FormulaObjective<double>(compiled);
    }

    static List<double[]> Trajectory(Optimizer<double> optimizer, FormulaObjective<double> objective, int iterations)
    {
        var points = new List<double[]>();
        Minimizer.Run(objective, objective.CurrentParameters(), optimizer, new StoppingRules(iterations),
            (in IterationState<double> s) => points.Add(s.Parameters.ToArray()));
        return points;
    }

    [Fact]
    public void SgdOnAQuadraticFollowsTheGeometricClosedForm()
    {
        // x_k = (1 - lr*c)^(k-1) * x_1 for f = c x^2 / 2.
        var points = Trajectory(new Sgd<double>(1, 0.1), Quadratic([3], [2]), 50);
        for (var k = 0; k < points.Count; k++)
            Assert.Equal(2 * Math.Pow(1 - 0.1 * 3, k), points[k][0], 1e-12);
    }

    [Fact]
    public void SgdWithMomentumMatchesHandComputedSteps()
    {
        // c = 1, x0 = 1, lr = 0.1, momentum 0.9, dampening 0:
        // g0 = 1, b0 = 1, x1 = 0.9; g1 = 0.9, b1 = 0.9*1 + 0.9 = 1.8, x2 = 0.9 - 0.18 = 0.72;
        // g2 = 0.72, b2 = 0.9*1.8 + 0.72 = 2.34, x3 = 0.72 - 0.234 = 0.486.
        var points = Trajectory(new Sgd<double>(1, 0.1, momentum: 0.9), Quadratic([1], [1]), 4);
        Assert.Equal([1, 0.9, 0.72, 0.486], points.Select(p => Math.Round(p[0], 12)));
    }

    [Fact]
    public void SgdWithNesterovAndWeightDecayMatchesHandComputedSteps()
    {
        // c = 1, x0 = 1, lr = 0.1, momentum 0.5, nesterov, weight decay 0.1: g = x + 0.1x = 1.1x.
        // step 1: g = 1.1, b = 1.1, g' = 1.1 + 0.55 = 1.65, x1 = 1 - 0.165 = 0.835.
        // step 2: g = 0.9185, b = 0.55 + 0.9185 = 1.4685, g' = 0.9185 + 0.73425 = 1.65275, x2 = 0.835 - 0.165275 = 0.669725.
        var points = Trajectory(new Sgd<double>(1, 0.1, momentum: 0.5, nesterov: true, weightDecay: 0.1), Quadratic([1], [1]), 3);
        Assert.Equal(0.835, points[1][0], 12);
        Assert.Equal(0.669725, points[2][0], 12);
    }

    [Fact]
    public void AdamFirstStepMovesEachCoordinateByTheLearningRate()
    {
        // After one step m̂ = g and v̂ = g², so the step is lr * g / (|g| + eps) in every coordinate.
        var points = Trajectory(new Adam<double>(2, 0.01), Quadratic([1, 100], [3, -2]), 2);
        Assert.Equal(3 - 0.01 * 3 / (3 + 1e-8), points[1][0], 14);
        Assert.Equal(-2 + 0.01 * 200 / (200 + 1e-8), points[1][1], 14);
    }

    [Fact]
    public void AdamSecondStepMatchesHandComputedMoments()
    {
        // c = 1, x0 = 1, lr = 0.1: g0 = 1, x1 = 1 - 0.1/(1 + 1e-8).
        // g1 = x1; m = 0.9*0.1 + 0.1*g1 ... computed step by step below from the torch formulas.
        var x1 = 1 - 0.1 / (1 + 1e-8);
        double m = 0.1 * 1, v = 0.001 * 1;
        m = 0.9 * m + 0.1 * x1;
        v = 0.999 * v + 0.001 * x1 * x1;
        var mHat = m / (1 - 0.9 * 0.9);
        var vHat = v / (1 - 0.999 * 0.999);
        var x2 = x1 - 0.1 * mHat / (Math.Sqrt(vHat) + 1e-8);
        var points = Trajectory(new Adam<double>(1, 0.1), Quadratic([1], [1]), 3);
        Assert.Equal(x2, points[2][0], 12);
    }

    [Fact]
    public void AdamWDecaysTheWeightsBeforeTheAdamStep()
    {
        // x1 = x0 * (1 - lr*wd) - lr * g/(|g| + eps), with g evaluated at x0.
        var points = Trajectory(new Adam<double>(1, 0.1, weightDecay: 0.5, decoupledWeightDecay: true), Quadratic([2], [1]), 2);
        Assert.Equal(1 * (1 - 0.05) - 0.1 * 2 / (2 + 1e-8), points[1][0], 12);
    }

    [Fact]
    public void RmsPropFirstStepDividesByTheRootOfTheSmoothedSquare()
    {
        var points = Trajectory(new RmsProp<double>(1, 0.01, alpha: 0.99), Quadratic([4], [1]), 2);
        Assert.Equal(1 - 0.01 * 4 / (Math.Sqrt(0.01 * 16) + 1e-8), points[1][0], 12);
    }

    [Fact]
    public void AdagradStepsShrinkWithTheAccumulatedSquares()
    {
        // g0 = 2 (c = 2, x0 = 1): x1 = 1 - 0.5*2/2 = 0.5; g1 = 1, sum = 5: x2 = 0.5 - 0.5/sqrt(5).
        var points = Trajectory(new Adagrad<double>(1, 0.5, eps: 0), Quadratic([2], [1]), 3);
        Assert.Equal(0.5, points[1][0], 12);
        Assert.Equal(0.5 - 0.5 / Math.Sqrt(5), points[2][0], 12);
    }

    [Fact]
    public void NewtonSolvesAQuadraticInOneStep()
    {
        var points = Trajectory(new Newton<double>(3), Quadratic([1, 10, 100], [1, -2, 3]), 2);
        Assert.All(points[1], v => Assert.Equal(0, v, 12));
    }

    [Fact]
    public void LbfgsSolvesAQuadraticInFewIterations()
    {
        var objective = Quadratic([1, 10, 100], [1, -2, 3]);
        var outcome = Minimizer.Run(objective, objective.CurrentParameters(), new Lbfgs<double>(3), new StoppingRules(20) { GradientNormTolerance = 1e-10 });
        Assert.True(outcome.Converged, outcome.Message);
        // A strong-Wolfe search is inexact, so the n + 1 steps of exact-line-search BFGS on a quadratic do not
        // hold; a few more do.
        Assert.True(outcome.Iterations <= 15, $"took {outcome.Iterations} iterations");
    }

    [Theory]
    [InlineData("lbfgs", 100)]
    [InlineData("newton", 50)]
    public void SecondOrderMethodsReachRosenbrocksMinimumWithB100(string method, int maxIterations)
    {
        var objective = RosenbrockRunTests.Objective<double>(1, 100, -1, 1);
        Optimizer<double> optimizer = method == "lbfgs" ? new Lbfgs<double>(2) : new Newton<double>(2);
        var outcome = Minimizer.Run(objective, objective.CurrentParameters(), optimizer,
            new StoppingRules(maxIterations) { GradientNormTolerance = 1e-10 });
        Assert.True(outcome.Converged, outcome.Message);
        Assert.Equal(1, outcome.Parameters[0], 1e-6);
        Assert.Equal(1, outcome.Parameters[1], 1e-6);
    }

    [Fact]
    public void NewtonNeverStepsUphillWhereTheHessianIsIndefinite()
    {
        // f = x^4 - x^2 + y^2 at (0.1, 1): the Hessian in x is negative there.
        var compiled = CompiledFormula<double>.Compile(Formula.Parse("x^4 - x^2 + y^2"),
            [InputSpec.Scalar("x", InputKind.Parameter), InputSpec.Scalar("y", InputKind.Parameter)]);
        compiled.SetInput(0, [0.1]);
        compiled.SetInput(1, [1.0]);
        var objective = new FormulaObjective<double>(compiled);
        var values = new List<double>();
        var outcome = Minimizer.Run(objective, objective.CurrentParameters(), new Newton<double>(2), new StoppingRules(30) { GradientNormTolerance = 1e-12 },
            (in IterationState<double> s) => values.Add(s.Value));
        for (var i = 1; i < values.Count; i++) Assert.True(values[i] <= values[i - 1], $"step {i} went uphill: {values[i - 1]} -> {values[i]}");
        Assert.Equal(-0.25, outcome.Value, 9);
    }

    [Fact]
    public void DivergingRunStopsWithTheLastFinitePoint()
    {
        var objective = RosenbrockRunTests.Objective<double>(1, 5, -1, 1);
        double[]? lastSeen = null;
        var outcome = Minimizer.Run(objective, objective.CurrentParameters(), new Sgd<double>(2, 1), new StoppingRules(1000),
            (in IterationState<double> s) => lastSeen = s.Parameters.ToArray());
        Assert.Equal(StopReason.Diverged, outcome.Reason);
        Assert.All(outcome.Parameters, v => Assert.True(double.IsFinite(v)));
        Assert.Equal(lastSeen, outcome.Parameters);
    }

    [Fact]
    public void StoppingRulesAreNamedInTheOutcome()
    {
        var objective = Quadratic([1], [1]);
        Assert.Equal(StopReason.GradientNormTolerance, Minimizer.Run(objective, [1.0], new Sgd<double>(1, 0.5), new StoppingRules(1000) { GradientNormTolerance = 1e-3 }).Reason);
        Assert.Equal(StopReason.ValueChangeTolerance, Minimizer.Run(objective, [1.0], new Sgd<double>(1, 0.5), new StoppingRules(1000) { ValueChangeTolerance = 1e-6 }).Reason);
        Assert.Equal(StopReason.ParameterChangeTolerance, Minimizer.Run(objective, [1.0], new Sgd<double>(1, 0.5), new StoppingRules(1000) { ParameterChangeTolerance = 1e-4 }).Reason);
        Assert.Equal(StopReason.MaxIterations, Minimizer.Run(objective, [1.0], new Sgd<double>(1, 0.5), new StoppingRules(3)).Reason);
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        Assert.Equal(StopReason.Cancelled, Minimizer.Run(objective, [1.0], new Sgd<double>(1, 0.5), new StoppingRules(3), null, cancelled.Token).Reason);
    }
}
