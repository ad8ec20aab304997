using Autograd.Expressions;
using Autograd.Optimization;

namespace Autograd.Tests.Optimization;

/// <summary>
/// Box bounds for every optimizer on f(a, b) = (a - 3)² + 2(b + 2)² + a·b, whose unconstrained minimum
/// (32/7, -22/7) lies outside every box used here. Constrained minima in closed form: with a ≤ 1 the bound is
/// active (∂f/∂a = -6.25 &lt; 0 there) and b solves 4(b + 2) + 1 = 0, so (1, -2.25); with a fixed at 0, b = -2.
/// </summary>
public class BoundsTests
{
    const string Quadratic = "(a - 3)^2 + 2*(b + 2)^2 + a*b";

    static FormulaObjective<double> Objective(string expression = Quadratic)
    {
        var compiled = CompiledFormula<double>.Compile(Formula.Parse(expression),
            [InputSpec.Scalar("a", InputKind.Parameter), InputSpec.Scalar("b", InputKind.Parameter)]);
        return new FormulaObjective<double>(compiled);
    }

    public static TheoryData<string> Optimizers => ["sgd", "sgd-momentum", "adam", "adamw", "rmsprop", "adagrad", "lbfgs", "newton"];

    static (OptimizerSettings Settings, int Iterations, double Tolerance) Setup(string name) => name switch
    {
        "sgd" => (new OptimizerSettings(OptimizerKind.Sgd, 0.1), 2000, 1e-9),
        "sgd-momentum" => (new OptimizerSettings(OptimizerKind.Sgd, 0.05) { Momentum = 0.9 }, 3000, 1e-9),
        "adam" => (new OptimizerSettings(OptimizerKind.Adam, 0.01), 20000, 1e-6),
        "adamw" => (new OptimizerSettings(OptimizerKind.AdamW, 0.01) { WeightDecay = 0 }, 20000, 1e-6),
        "rmsprop" => (new OptimizerSettings(OptimizerKind.RmsProp, 0.001), 20000, 1e-3),
        "adagrad" => (new OptimizerSettings(OptimizerKind.Adagrad, 0.5), 20000, 1e-9),
        "lbfgs" => (new OptimizerSettings(OptimizerKind.Lbfgs), 100, 1e-9),
        _ => (new OptimizerSettings(OptimizerKind.Newton), 50, 1e-9),
    };

    static MinimizeOutcome<double> Run(string name, double[] start, Bounds<double> bounds, string expression = Quadratic)
    {
        var (settings, iterations, _) = Setup(name);
        var objective = Objective(expression);
        var optimizer = BoundedOptimizers.Create(settings, 2, bounds);
        var x = (double[])start.Clone();
        bounds.Project(x);
        return Minimizer.Run(objective, x, optimizer, new StoppingRules(iterations) { GradientNormTolerance = 1e-10 }, bounds: bounds);
    }

    [Theory]
    [MemberData(nameof(Optimizers))]
    public void EndsOnTheBoxAtTheConstrainedMinimum(string name)
    {
        var bounds = new Bounds<double>([-5, -10], [1, 10]);
        var outcome = Run(name, [0, 0], bounds);
        var tolerance = Setup(name).Tolerance;
        Assert.Equal(1.0, outcome.Parameters[0], 15);
        Assert.Equal(-2.25, outcome.Parameters[1], tolerance);
        Assert.True(outcome.Parameters[0] <= 1, "a left the box");
        // The reported norm is the projected gradient's: small at the solution, though ∂f/∂a = -6.25 there.
        if (name is "sgd" or "lbfgs" or "newton" or "adagrad")
        {
            Assert.True(outcome.Converged, outcome.Message);
            Assert.True(outcome.GradientNorm <= 1e-10, $"{outcome.GradientNorm}");
        }
    }

    [Theory]
    [MemberData(nameof(Optimizers))]
    public void OneSidedBoundsAreHonoured(string name)
    {
        var bounds = new Bounds<double>([double.NegativeInfinity, double.NegativeInfinity], [1, double.PositiveInfinity]);
        var outcome = Run(name, [4, 4], bounds);
        Assert.Equal(1.0, outcome.Parameters[0], 15);
        Assert.Equal(-2.25, outcome.Parameters[1], Setup(name).Tolerance);
    }

    [Theory]
    [MemberData(nameof(Optimizers))]
    public void AnEqualLowerAndUpperBoundFixesTheParameter(string name)
    {
        var bounds = new Bounds<double>([0, double.NegativeInfinity], [0, double.PositiveInfinity]);
        var outcome = Run(name, [2, 5], bounds);
        Assert.Equal(0.0, outcome.Parameters[0]);
        Assert.Equal(-2.0, outcome.Parameters[1], Setup(name).Tolerance);
    }

    [Fact]
    public void LowerAboveUpperIsRefused() =>
        Assert.Throws<ArgumentException>(() => new Bounds<double>([1, 0], [0, 0]));

    [Fact]
    public void ProjectedGradientIsTheDistanceToTheBoundWhereABoundStopsTheStep()
    {
        var bounds = new Bounds<double>([0, 0], [1, 1]);
        // At a = 0.25 with ∂f/∂a = 1, the step x - g stops at 0: the projected gradient is 0.25; at b = 0 with the
        // gradient pushing below it, 0; with ∂f/∂b = -2 the step to 2 stops at the upper bound 1: -1.
        Assert.Equal(0.25, bounds.ProjectedGradient([0.25, 0], [1, 3], 0));
        Assert.Equal(0, bounds.ProjectedGradient([0.25, 0], [1, 3], 1));
        Assert.Equal(-1, bounds.ProjectedGradient([0.25, 0], [1, -2], 1));
    }
}
