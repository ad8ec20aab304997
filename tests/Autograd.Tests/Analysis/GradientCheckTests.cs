using Autograd.Analysis;
using static Autograd.Tests.Analysis.AnalysisHelpers;

namespace Autograd.Tests.Analysis;

/// <summary>
/// The gradient check over the whole registry: at every op's regular samples it passes (reverse mode against
/// Richardson-extrapolated central differences), at every declared kink it reports a kink instead of failing, and a
/// deliberately wrong gradient fails.
/// </summary>
public class GradientCheckTests
{
    public static TheoryData<string> EveryOp()
    {
        var data = new TheoryData<string>();
        foreach (var entry in OpRegistry.Entries) data.Add(entry.Op.ToString());
        return data;
    }

    /// <summary>A formula that records <paramref name="entry"/>'s op on parameters x (and y) with a scalar result.</summary>
    internal static Autograd.Expressions.CompiledFormula<double> Formula(OpEntry entry, double[] sample)
    {
        var name = entry.Names.FirstOrDefault();
        if (entry.HoldsConstant)
            return Compile<double>($"x ^ {sample[1]:R}", Parameter("x", sample[0]));
        switch (entry.Shape)
        {
            case OpShape.Elementwise:
                return Compile<double>(entry.Op == Op.Neg ? "-x" : $"{name}(x)", Parameter("x", sample[0]));
            case OpShape.Broadcast:
                var text = entry.Op switch
                {
                    Op.Add => "x + y", Op.Sub => "x - y", Op.Mul => "x * y", Op.Div => "x / y", Op.Pow => "x ^ y",
                    Op.ClampLow => "clamp(x, y, 1e300)", Op.ClampHigh => "clamp(x, -1e300, y)",
                    _ => $"{name}(x, y)",
                };
                return Compile<double>(text, Parameter("x", sample[0]), Parameter("y", sample[1]));
            case OpShape.Pairwise:
                var half = sample.Length / 2;
                return Compile<double>($"{name}(v, w)", Parameter("v", sample[..half]), Parameter("w", sample[half..]));
            default:
                // Vector results are weighted by a data column so that every element reaches the loss differently.
                var weights = Enumerable.Range(1, sample.Length).Select(i => 0.5 + i).ToArray();
                var formula = entry.Op switch
                {
                    Op.Index => "v[2]",
                    Op.Slice => "sum(v[2:3] * k[1:2])",
                    Op.Diff => "sum(diff(v) * k[1:2])",
                    _ when entry.Shape == OpShape.Reduction => $"{name}(v)",
                    _ => $"sum({name}(v) * k)",
                };
                return Compile<double>(formula, Parameter("v", sample), Data("k", weights));
        }
    }

    [Theory]
    [MemberData(nameof(EveryOp))]
    public void PassesAtEveryRegularSample(string op)
    {
        var entry = OpRegistry.Of(Enum.Parse<Op>(op));
        // Matrix ops need their samples' shapes (a vector is no matrix): MatrixOpTests checks them against central differences.
        if (entry.Shape == OpShape.Matrix) return;
        foreach (var sample in entry.Samples)
        {
            var compiled = Formula(entry, sample);
            var checks = GradientChecker.Check(compiled);
            Assert.NotEmpty(checks);
            foreach (var check in checks)
            {
                var what = $"{op} at ({string.Join(", ", sample)}), {check.Parameter}[{check.Index}]: reverse {check.Reverse}, estimate {check.Estimate}, tolerance {check.Tolerance}, kink {check.Kink}";
                Assert.True(check.Passed == true, what);
                Assert.Null(check.Kink);
            }
        }
    }

    [Theory]
    [MemberData(nameof(EveryOp))]
    public void ReportsAKinkRatherThanAFailureAtEveryDeclaredKink(string op)
    {
        var entry = OpRegistry.Of(Enum.Parse<Op>(op));
        foreach (var (at, _) in entry.Kinks)
        {
            var checks = GradientChecker.Check(Formula(entry, at));
            Assert.DoesNotContain(checks, check => check.Passed == false);
            // prod's "kinks" are zeros of a polynomial: smooth, so the check passes there outright.
            if (entry.Op == Op.Prod) Assert.All(checks, check => Assert.True(check.Passed));
            else Assert.Contains(checks, check => check.Passed is null && check.Kink!.StartsWith(OpNames.Of(entry.Op), StringComparison.Ordinal));
        }
    }

    [Fact]
    public void AKinkNamesTheOpItsColumnAndTheConvention()
    {
        var check = Assert.Single(GradientChecker.Check(Compile<double>("2 + abs(x)", Parameter("x", 0.0))));
        Assert.Null(check.Passed);
        Assert.Equal("abs at columns 5-10: it is at its kink at this point (abs'(0) = 0)", check.Kink);
    }

    [Fact]
    public void AStepThatCrossesAKinkNearThePointIsAKinkToo()
    {
        // relu at 1e-7: the gradient is 1 there, but x - h with h ≈ 6e-6 is on the flat side.
        var check = Assert.Single(GradientChecker.Check(Compile<double>("relu(x)", Parameter("x", 1e-7))));
        Assert.Null(check.Passed);
        Assert.Contains("a step of the finite difference crosses its kink", check.Kink);
    }

    [Fact]
    public void AWrongGradientFails()
    {
        // The tape is right; corrupting the reverse value the check compares proves the comparison can fail.
        var compiled = Compile<double>("sin(x) * y", Parameter("x", 0.7), Parameter("y", 2.0));
        var checks = GradientChecker.Check(compiled);
        var x = checks[0];
        Assert.Equal(2 * Math.Cos(0.7), x.Estimate, 1e-9);
        var wrong = x.Reverse * (1 + 1e-4);
        Assert.True(Math.Abs(wrong - x.Estimate) > x.Tolerance);
    }

    [Fact]
    public void Float32UsesItsOwnStepAndTolerance()
    {
        var check = Assert.Single(GradientChecker.Check(Compile<float>("exp(x) * 3", Parameter("x", 0.5))));
        Assert.True(check.Passed);
        Assert.Equal(3 * Math.Exp(0.5), check.Estimate, 1e-2);
        Assert.True(check.Step > 1e-3, $"float32 step {check.Step}");
    }
}
