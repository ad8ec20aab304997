using System.Numerics;
using Autograd.Expressions;
using Autograd.Optimization;
using CsCheck;

namespace Autograd.Tests;

/// <summary>
/// Before a tape of scalars is compiled (and for ever when it is too long to compile) the optimisers' replay runs the
/// compact interpreter. It must give the node-by-node sweeps' answers to the bit, whose derivatives the other tests
/// check against finite differences and closed forms.
/// </summary>
public class ScalarInterpreterTests
{
    static CompiledFormula<T> Compile<T>(string text, params (string Name, double[] Values, bool IsParameter)[] inputs)
        where T : IFloatingPointIeee754<T>
    {
        var specs = inputs.Select(i => i.Values.Length == 1 && !i.Name.EndsWith("[]")
            ? InputSpec.Scalar(i.Name, i.IsParameter ? InputKind.Parameter : InputKind.Constant)
            : InputSpec.Vector(i.Name.TrimEnd('[', ']'), i.IsParameter ? InputKind.Parameter : InputKind.Constant, i.Values.Length)).ToArray();
        var compiled = CompiledFormula<T>.Compile(Formula.Parse(text), specs);
        for (var slot = 0; slot < inputs.Length; slot++)
            compiled.SetInput(slot, inputs[slot].Values.Select(T.CreateChecked).ToArray());
        return compiled;
    }

    static T[] Gradient<T>(CompiledFormula<T> formula) where T : IFloatingPointIeee754<T> =>
        Enumerable.Range(0, formula.Inputs.Count).Where(slot => formula.Inputs[slot].Kind == InputKind.Parameter)
            .SelectMany(slot => formula.GradientOf(slot).ToArray()).ToArray();

    /// <summary>The node-by-node sweeps, then the optimisers' replay on a fresh copy (interpreted: never replayed before).</summary>
    static void AssertInterpreterGivesTheSweepsBits<T>(Func<CompiledFormula<T>> build, string text) where T : IFloatingPointIeee754<T>
    {
        var reference = build();
        var expected = reference.EvaluateWithGradient();
        var expectedGradient = Gradient(reference);
        var formula = build();
        // Stale adjoints must not leak into the result: the replay starts from zero as the sweeps do.
        foreach (var node in formula.Tape.Nodes) node.Adjoint.AsSpan().Fill(T.CreateChecked(9));
        var actual = formula.EvaluateWithGradientFused();
        Assert.False(formula.Tape.IsScalarReplayCompiled);
        Assert.True(SameBits(expected, actual), $"{text}: value {actual}, sweeps {expected}");
        Assert.True(SameBits(expected, formula.Value), $"{text}: Value {formula.Value}, sweeps {expected}");
        var gradient = Gradient(formula);
        Assert.Equal(expectedGradient.Length, gradient.Length);
        for (var i = 0; i < gradient.Length; i++)
            Assert.True(SameBits(expectedGradient[i], gradient[i]), $"{text}: d/dp{i} = {gradient[i]}, sweeps {expectedGradient[i]}");
    }

    static bool SameBits<T>(T a, T b) where T : IFloatingPointIeee754<T> =>
        (T.IsNaN(a) && T.IsNaN(b)) || (a.Equals(b) && T.IsNegative(a) == T.IsNegative(b));

    [Theory]
    [MemberData(nameof(CompiledScalarReplayTests.EveryScalarOp), MemberType = typeof(CompiledScalarReplayTests))]
    [InlineData("x * x + y * y * y")]
    [InlineData("erf(x) + asinh(y) + atan2(x, y) * hypot(x, y) + log1p(x)")]
    [InlineData("log(x - 2)")]
    [InlineData("1 / (x - x)")]
    public void TheInterpreterGivesTheSweepsBitsInBothPrecisions(string text)
    {
        AssertInterpreterGivesTheSweepsBits(() => Compile<double>(text, ("x", [1.3], true), ("y", [0.7], true)), text);
        AssertInterpreterGivesTheSweepsBits(() => Compile<float>(text, ("x", [1.3], true), ("y", [0.7], true)), text);
    }

    /// <summary>
    /// Two steps among +, -, * and ^2, the second reading the first's result on either side, run as one instruction:
    /// every such pair with operands that take a gradient or not (parameters, literals, constants, vector elements,
    /// data), and the same node on both sides, at a point and at signed zeros.
    /// </summary>
    [Fact]
    public void PairedStepsInterpretAsTheSweepsInBothPrecisions()
    {
        string[] firsts = ["{0} + {1}", "{0} - {1}", "{0} * {1}", "{0}^2"];
        string[] seconds = ["({0}) + {1}", "{1} + ({0})", "({0}) - {1}", "{1} - ({0})", "({0}) * {1}", "{1} * ({0})", "({0})^2"];
        string[] pairs =
        [
            .. from first in firsts
               from a in new[] { "x", "v[1]" }
               from b in first.Contains("{1}") ? new[] { "y", "0.2", "x", "w[2]" } : [""]
               from second in seconds
               from z in second.Contains("{1}") ? new[] { "y", "0.3", "x", "c", "v[1]", "w[1]" } : [""]
               select string.Format(second, string.Format(first, a, b), z),
        ];
        (double[] X, double[] Y, double[] C, double[] V, double[] W)[] points =
        [
            ([1.3], [-0.7], [2.5], [0.4, -1.1], [1.5, -0.25]),
            ([0.0], [-0.0], [-0.0], [-0.0, 0.0], [0.0, -0.0]),
        ];
        foreach (var text in pairs)
        {
            foreach (var (x, y, c, v, w) in points)
            {
                var inputs = new (string, double[], bool)[] { ("x", x, true), ("y", y, true), ("c", c, false), ("v[]", v, true), ("w[]", w, false) };
                AssertInterpreterGivesTheSweepsBits(() => Compile<double>(text, inputs), text);
                AssertInterpreterGivesTheSweepsBits(() => Compile<float>(text, inputs), text);
            }
        }
    }

    [Theory]
    [InlineData("0.2*x^2 + 0.2*y^2 - 5", 3)]
    [InlineData("(x + y) * 0.3", 1)]
    [InlineData("(x - 1)^2 + (y - 2)^2", 3)]
    [InlineData("sin(x) * y", 2)]
    [InlineData("(x * x) * x", 1)]
    public void PairedStepsAreOneInstruction(string text, int instructions)
    {
        var formula = Compile<double>(text, ("x", [1.3], true), ("y", [0.7], true));
        formula.EvaluateWithGradientFused();
        Assert.Equal(instructions, formula.Tape.Interpreter!.ForwardInstructions);
    }

    [Fact]
    public void AnElementReadOnceNeedsNoInstruction()
    {
        // x[2] and d[1] are the slots of their elements; x[1], read twice, is copied for each read.
        var formula = Compile<double>("x[1] * x[2] + sin(x[1]) + d[1]", ("x[]", [0.5, -2], true), ("d[]", [3, 4], false));
        Assert.Equal(Math.Sin(0.5) - 1 + 3, formula.EvaluateWithGradientFused(), 15);
        // Two copies, then x[1] * x[2] + sin(x[1]) as Mul, Other, Add paired with + d[1].
        Assert.Equal(5, formula.Tape.Interpreter!.ForwardInstructions);
        Assert.Equal([-2 + Math.Cos(0.5), 0.5], formula.GradientOf(0).ToArray());
    }

    [Fact]
    public void ATapeThatGrowsAfterAnInterpretedReplayIsInterpretedAnew()
    {
        var tape = new Tape<double>();
        var x = tape.AddInput([1.5], isScalar: true, requiresGrad: true);
        var y = tape.AddInput([-0.5], isScalar: true, requiresGrad: true);
        var product = tape.Record(Op.Mul, x, y);
        tape.ForwardBackwardFused(product);
        Assert.Equal(-0.5, tape[x].Adjoint[0]);
        var sine = tape.Record(Op.Sin, product);
        tape.ForwardBackwardFused(sine);
        // d sin(xy)/dx = cos(xy) y, d/dy = cos(xy) x.
        Assert.Equal(Math.Sin(-0.75), tape[sine].Value[0], 15);
        Assert.Equal(Math.Cos(-0.75) * -0.5, tape[x].Adjoint[0], 15);
        Assert.Equal(Math.Cos(-0.75) * 1.5, tape[y].Adjoint[0], 15);
    }

    [Fact]
    public void RandomScalarFormulasInterpretAsTheSweeps()
    {
        var interpreted = 0;
        Gen.Select(FormulaGenerator.Scalar, Gen.Double[-2, 2].Array[2]).Sample((generated, point) =>
        {
            var text = generated.Expr.Minimal();
            CompiledFormula<double> Build()
            {
                var formula = CompiledFormula<double>.Compile(Formula.Parse(text),
                [
                    InputSpec.Scalar("x", InputKind.Parameter), InputSpec.Scalar("y", InputKind.Parameter),
                    InputSpec.Vector("v", InputKind.Parameter, FormulaGenerator.VectorLength),
                    InputSpec.Vector("w", InputKind.Data, FormulaGenerator.VectorLength),
                ]);
                formula.SetInput(0, [point[0]]);
                formula.SetInput(1, [point[1]]);
                formula.SetInput(2, [0.3, -0.4, 1.1]);
                formula.SetInput(3, [1.5, 0.25, -0.75]);
                return formula;
            }
            if (!Build().CompileScalarReplay()) return;
            Interlocked.Increment(ref interpreted);
            AssertInterpreterGivesTheSweepsBits(Build, text);
        }, iter: 400, print: t => $"{t.Item1.Expr.Minimal()} at {Probe.Show(t.Item2)}");
        Assert.True(interpreted >= 20, $"only {interpreted} of 400 generated formulas were tapes of scalars");
    }

    [Fact]
    public void VectorsReadByElementGetTheirWholeGradient()
    {
        // x[1] is read three times; x[3] never (its stale adjoint is cleared); d is data read by element.
        const string text = "(a - x[1])^2 + b*(x[2] - x[1]^2)^2 + d[2]*x[1]";
        var build = () => Compile<double>(text, ("x[]", [-1, 1, 7], true), ("a", [1], false), ("b", [5], false), ("d[]", [3, 0.5], false));
        AssertInterpreterGivesTheSweepsBits(build, text);
        var formula = build();
        formula.Tape[formula.InputNode(0)].Adjoint.AsSpan().Fill(9);
        // Closed form at (-1, 1): d/dx1 = -2(a - x1) - 4b x1 (x2 - x1²) + d2 = -4 + 0.5, d/dx2 = 2b (x2 - x1²) = 0.
        Assert.Equal(4.0 - 0.5, formula.EvaluateWithGradientFused());
        Assert.Equal([-3.5, 0.0, 0.0], formula.GradientOf(0).ToArray());
    }

    [Fact]
    public void AVectorOfOneElementReadByIndexAndWhole()
    {
        // x has one element: read as x[1] and as a whole (a scalar operand); both adjoints meet in one element.
        const string text = "c*x[1]^2/2 + 3*x";
        var build = () => Compile<double>(text, ("x[]", [0.5], true), ("c", [1.5], false));
        AssertInterpreterGivesTheSweepsBits(build, text);
        var formula = build();
        Assert.Equal(1.5 * 0.25 / 2 + 1.5, formula.EvaluateWithGradientFused());
        Assert.Equal([1.5 * 0.5 + 3], formula.GradientOf(0).ToArray());
    }

    [Fact]
    public void TapesTooLongToCompileAreInterpreted()
    {
        var text = string.Join(" + ", Enumerable.Range(0, CompiledScalarReplay<double>.MaxSteps + 50).Select(i => $"sin({i % 7 + 1} * x) * y"));
        var build = () => Compile<double>(text, ("x", [0.3], true), ("y", [-1.7], true));
        Assert.False(build().CompileScalarReplay());
        AssertInterpreterGivesTheSweepsBits(build, "a long sum");
    }

    [Fact]
    public void AnSgdRunOnTheInterpreterIsTheSweepsRun()
    {
        // 1,000 iterations, below the compile threshold: every one interpreted.
        const string rosenbrock = "(a - x[1])^2 + b*(x[2] - x[1]^2)^2";
        CompiledFormula<double> Rosenbrock() =>
            Compile<double>(rosenbrock, ("x[]", [-1, 1], true), ("a", [1], false), ("b", [5], false));
        var sweeps = Rosenbrock();
        var expected = new List<double>();
        double[] x = [-1, 1];
        var sgd = new Sgd<double>(2, 0.01);
        for (var k = 0; k < 1000; k++)
        {
            sweeps.SetInput(0, x);
            expected.Add(sweeps.EvaluateWithGradient());
            sgd.Step(x, expected[^1], sweeps.GradientOf(0).ToArray(), null!);
        }
        var formula = Rosenbrock();
        var actual = new List<double>();
        var outcome = Minimizer.Run(new FormulaObjective<double>(formula), [-1.0, 1.0], new Sgd<double>(2, 0.01), new StoppingRules(1000),
            (in IterationState<double> state) => actual.Add(state.Value));
        Assert.False(formula.Tape.IsScalarReplayCompiled);
        Assert.Equal(expected, actual);
        Assert.Equal(x, outcome.Parameters);
    }
}
