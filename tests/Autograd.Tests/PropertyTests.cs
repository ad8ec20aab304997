using Autograd.Expressions;
using CsCheck;
using Xunit.Abstractions;

namespace Autograd.Tests;

/// <summary>
/// Properties of random formulas over the whole function set (see <see cref="FormulaGenerator"/>):
/// gradients and Hessians agree with finite differences, the parser reads its own printout back and
/// honours precedence, and float32 agrees with float64.
/// </summary>
public class PropertyTests(ITestOutputHelper output)
{
    const double Eps = 2.220446049250313e-16;

    internal sealed record Case(Generated Formula, double[] Point, double[] Data)
    {
        public string Text => Formula.Expr.Minimal();
        public override string ToString() => $"{Text}  at [x, y, v] = {Probe.Show(Point)}, w = {Probe.Show(Data)}";
    }

    // Uniform in [-2, 2) (Gen.Double[a, b] favours zero, tiny and equal values, which sit exactly on the
    // kinks of abs, relu, min and max where no finite difference agrees), rounded to float32 so the float
    // and double compiles see the same inputs.
    static readonly Gen<double> Coordinate = Gen.Double.OneTwo.Select(d => (double)(float)(4 * (d - 1) - 2));

    static readonly Gen<Case> Cases = Gen.Select(FormulaGenerator.Scalar, Coordinate.Array[5], Coordinate.Array[3],
        (formula, point, data) => new Case(formula, point, data));

    /// <summary>Inputs x, y, v (parameters) and w (data, or a parameter when asked), set from the case.</summary>
    static CompiledFormula<T> Compile<T>(Case c, bool dataIsParameter = false, string? text = null)
        where T : System.Numerics.IFloatingPointIeee754<T>
    {
        var compiled = CompiledFormula<T>.Compile(Formula.Parse(text ?? c.Text),
        [
            InputSpec.Scalar("x", InputKind.Parameter),
            InputSpec.Scalar("y", InputKind.Parameter),
            InputSpec.Vector("v", InputKind.Parameter, FormulaGenerator.VectorLength),
            InputSpec.Vector("w", dataIsParameter ? InputKind.Parameter : InputKind.Data, FormulaGenerator.VectorLength),
        ]);
        T[] Cast(IEnumerable<double> values) => values.Select(T.CreateChecked).ToArray();
        compiled.SetInput(0, Cast([c.Point[0]]));
        compiled.SetInput(1, Cast([c.Point[1]]));
        compiled.SetInput(2, Cast(c.Point[2..]));
        compiled.SetInput(3, Cast(c.Data));
        return compiled;
    }

    /// <summary>
    /// Central differences at steps h and h/2 and their Richardson extrapolation (error O(h⁴)). The two
    /// differences disagreeing is the sign of a kink (abs, relu, min, max) within h of the point.
    /// </summary>
    static (double[] Estimate, double[] Coarse, double[] Fine) Differences(CompiledFormula<double> compiled, double[] point, int j,
        double h, Func<CompiledFormula<double>, double[]> f)
    {
        var coarse = Probe.Central(compiled, point, j, h, f);
        var fine = Probe.Central(compiled, point, j, h / 2, f);
        return (fine.Zip(coarse, (a, b) => (4 * a - b) / 3).ToArray(), coarse, fine);
    }

    static bool NearAKink(double coarse, double fine, double estimate, double noise) =>
        Math.Abs(coarse - fine) > 1e-4 * Math.Abs(estimate) + 100 * noise;

    void Report(string property, int compared, int nearKink)
    {
        output.WriteLine($"{property}: {compared} derivatives compared, {nearKink} skipped next to a kink");
        Assert.True(nearKink <= compared / 20 + 5, $"{nearKink} of {compared} derivatives sat next to a kink: the generator is off");
    }

    [Fact]
    public void GradientOfRandomFormulasMatchesFiniteDifferences()
    {
        int compared = 0, nearKink = 0;
        Cases.Sample(c =>
        {
            var compiled = Compile<double>(c);
            var gradient = Probe.Gradient(compiled);
            var value = compiled.Value;
            Assert.True(double.IsFinite(value) && gradient.All(double.IsFinite), $"not finite: {value}, {Probe.Show(gradient)}");
            // Rounding one node by an ulp moves the value by at most eps·|adjoint·value|; differences divide that by h.
            var noise = 1e-8 * (1 + Math.Abs(value) + Probe.RoundingScale(compiled.Tape));

            for (var j = 0; j < c.Point.Length; j++)
            {
                var (estimate, coarse, fine) = Differences(compiled, c.Point, j, 1e-5, Probe.ValueOnly);
                if (NearAKink(coarse[0], fine[0], estimate[0], noise))
                {
                    Interlocked.Increment(ref nearKink);
                    continue;
                }
                Interlocked.Increment(ref compared);
                var tolerance = 1e-6 * Math.Abs(estimate[0]) + noise;
                Assert.True(Math.Abs(gradient[j] - estimate[0]) <= tolerance,
                    $"d/dp{j} = {gradient[j]:R}, finite difference {estimate[0]:R} (tolerance {tolerance:G3})");
            }
        }, iter: 400, print: c => c.ToString());
        Report("gradient", compared, nearKink);
    }

    [Fact]
    public void HessianOfRandomFormulasMatchesFiniteDifferencesOfTheGradient()
    {
        int compared = 0, nearKink = 0;
        Cases.Sample(c =>
        {
            var compiled = Compile<double>(c);
            var n = compiled.ParameterCount;
            var hessian = Probe.Hessian(compiled);
            var gradient = Probe.Gradient(compiled);
            var hessianSize = 0.0;
            foreach (var h in hessian) hessianSize += Math.Abs(h);
            Assert.True(double.IsFinite(hessianSize), "Hessian not finite");
            var noise = 1e-9 * (1 + Math.Abs(compiled.Value) + gradient.Sum(Math.Abs) + hessianSize + Probe.RoundingScale(compiled.Tape));

            for (var j = 0; j < n; j++)
            {
                var (estimate, coarse, fine) = Differences(compiled, c.Point, j, 1e-4, Probe.Gradient);
                for (var i = 0; i < n; i++)
                {
                    Assert.True(Math.Abs(hessian[i, j] - hessian[j, i]) <= 1e-12 * (1 + Math.Abs(hessian[i, j])),
                        $"H[{i},{j}] = {hessian[i, j]:R} but H[{j},{i}] = {hessian[j, i]:R}");
                    if (NearAKink(coarse[i], fine[i], estimate[i], noise))
                    {
                        Interlocked.Increment(ref nearKink);
                        continue;
                    }
                    Interlocked.Increment(ref compared);
                    var tolerance = 1e-5 * Math.Abs(estimate[i]) + noise;
                    Assert.True(Math.Abs(hessian[i, j] - estimate[i]) <= tolerance,
                        $"H[{i},{j}] = {hessian[i, j]:R}, finite difference of the gradient {estimate[i]:R} (tolerance {tolerance:G3})");
                }
            }
        }, iter: 300, print: c => c.ToString());
        Report("Hessian", compared, nearKink);
    }

    [Fact]
    public void ParenthesizedPrintReadsBackAsItself()
    {
        FormulaGenerator.Scalar.Sample(g =>
        {
            var formula = Formula.Parse(g.Expr.Minimal());
            var printed = formula.ToParenthesized();
            Assert.Equal(printed, Formula.Parse(printed).ToParenthesized());
        }, iter: 500, print: g => g.ToString());
    }

    [Fact]
    public void ParserHonoursPrecedenceOfMinimallyParenthesizedFormulas()
    {
        // The generator prints its own tree with as few parentheses as the documented precedence allows;
        // the parser must recover exactly that tree.
        FormulaGenerator.Scalar.Sample(g =>
        {
            Assert.Equal(g.Expr.Full(), Formula.Parse(g.Expr.Minimal()).ToParenthesized());
            Assert.Equal(g.Expr.Full(), Formula.Parse(g.Expr.Full()).ToParenthesized());
        }, iter: 500, print: g => g.ToString());
    }

    [Fact]
    public void MinimalAndParenthesizedFormsEvaluateIdentically()
    {
        Cases.Sample(c =>
        {
            var minimal = Compile<double>(c);
            var full = Compile<double>(c, text: minimal.Formula.ToParenthesized());
            Assert.Equal(minimal.EvaluateWithGradient(), full.EvaluateWithGradient());
            for (var slot = 0; slot < 3; slot++) Assert.Equal(minimal.GradientOf(slot).ToArray(), full.GradientOf(slot).ToArray());
        }, iter: 200, print: c => c.ToString());
    }

    [Fact]
    public void Float32AgreesWithFloat64()
    {
        Cases.Sample(c =>
        {
            // w is a parameter here, so every node that depends on an input has an adjoint to size its rounding.
            var exact = Compile<double>(c, dataIsParameter: true);
            var single = Compile<float>(c, dataIsParameter: true);
            var value = exact.EvaluateWithGradient();
            var singleValue = single.EvaluateWithGradient();

            // float32 rounds each node by up to 6e-8 relative; to first order that moves the output by at most
            // eps·Σ|adjoint·value|. Cancellation inside literal-only subexpressions (no adjoints) and a relu or
            // abs whose argument is 0 in float64 but a rounding error in float32 leave absolute errors of a few
            // ulps of the largest intermediate value, hence the floor.
            var sensitivity = Probe.RoundingScale(exact.Tape);
            var largest = exact.Tape.Nodes.Max(n => n.Value.Max(Math.Abs));
            var tolerance = 1e-4 * Math.Abs(value) + 1e-6 * (sensitivity + largest);
            Assert.True(Math.Abs(singleValue - value) <= tolerance,
                $"float32 {singleValue:R}, float64 {value:R} (tolerance {tolerance:G3}, sensitivity {sensitivity:G3}, largest {largest:G3})");
        }, iter: 300, print: c => c.ToString());
    }
}
