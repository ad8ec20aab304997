using System.Numerics;
using Autograd.Expressions;
using Autograd.Optimization;

namespace Autograd.Tests.Optimization;

/// <summary>The tutorial's gradient-descent run on Rosenbrock (a = 1, b = 5), through the minimizer.</summary>
public class RosenbrockRunTests
{
    public const string Rosenbrock = "(a - x[1])^2 + b*(x[2] - x[1]^2)^2";

    internal static FormulaObjective<T> Objective<T>(double a, double b, double x1, double x2) where T : IFloatingPointIeee754<T>
    {
        var compiled = CompiledFormula<T>.Compile(Formula.Parse(Rosenbrock),
        [
            InputSpec.Vector("x", InputKind.Parameter, 2),
            InputSpec.Scalar("a", InputKind.Constant),
            InputSpec.Scalar("b", InputKind.Constant),
        ]);
        compiled.SetInput(0, [T.CreateChecked(x1), T.CreateChecked(x2)]);
        compiled.SetInput(1, [T.CreateChecked(a)]);
        compiled.SetInput(2, [T.CreateChecked(b)]);
        return new FormulaObjective<T>(compiled);
    }

    static Dictionary<int, (double Value, double G1, double G2)> Run<T>(out MinimizeOutcome<T> outcome) where T : IFloatingPointIeee754<T>
    {
        var objective = Objective<T>(1, 5, -1, 1);
        var trace = new Dictionary<int, (double, double, double)>();
        outcome = Minimizer.Run(objective, objective.CurrentParameters(), new Sgd<T>(2, 0.01), new StoppingRules(1000),
            (in IterationState<T> s) => trace[s.Iteration] = (double.CreateChecked(s.Value),
                double.CreateChecked(s.Gradient[0]), double.CreateChecked(s.Gradient[1])));
        return trace;
    }

    static void AssertRelative(double expected, double actual, double tolerance) =>
        Assert.True(Math.Abs(actual - expected) <= tolerance * Math.Abs(expected),
            $"expected {expected:R}, got {actual:R} (relative error {Math.Abs(actual - expected) / Math.Abs(expected):E2})");

    [Theory]
    [InlineData(100, 0.35029246978084444, -0.6676852329110927, -0.5771310972800915)]
    [InlineData(200, 0.07398106873321564, -0.16031877759579394, -0.253247727124728)]
    [InlineData(500, 0.0039907161524854904, -0.02651927777881584, -0.05206312665164581)]
    [InlineData(1000, 6.962694008850682e-05, -0.0032222025458647236, -0.006654080512732419)]
    public void Float64TraceMatchesTheReference(int iteration, double value, double g1, double g2)
    {
        var trace = Run<double>(out _);
        AssertRelative(value, trace[iteration].Value, 1e-9);
        AssertRelative(g1, trace[iteration].G1, 1e-9);
        AssertRelative(g2, trace[iteration].G2, 1e-9);
    }

    [Fact]
    public void Float64FinalParametersMatchTheReference()
    {
        Run<double>(out var outcome);
        Assert.Equal(StopReason.MaxIterations, outcome.Reason);
        Assert.Equal(1000, outcome.Iterations);
        AssertRelative(0.9918216738881531, outcome.Parameters[0], 1e-9);
        AssertRelative(0.9830474495799582, outcome.Parameters[1], 1e-9);
    }

    [Theory]
    [InlineData(100, 0.3502924, -0.667685, -0.5771312)]
    [InlineData(1000, 6.962555e-05, -0.003222887, -0.006653666)]
    public void Float32TraceReproducesTheTutorialsPrintedFigures(int iteration, double value, double g1, double g2)
    {
        var trace = Run<float>(out var outcome);
        AssertRelative(value, trace[iteration].Value, 1e-6);
        AssertRelative(g1, trace[iteration].G1, 1e-6);
        AssertRelative(g2, trace[iteration].G2, 1e-6);
        Assert.Equal(0.9918, Math.Round((double)outcome.Parameters[0], 4));
        Assert.Equal(0.9830, Math.Round((double)outcome.Parameters[1], 4));
    }
}
