using System.Numerics;
using Autograd.Expressions;
using Autograd.Optimization;
using CsCheck;

namespace Autograd.Tests;

/// <summary>
/// A tape of scalars replayed often runs as a compiled method. It must give the interpreter's answers to the
/// bit, and derivatives that agree with finite differences of the plain forward sweep.
/// </summary>
public class CompiledScalarReplayTests
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

    static (T Value, T[] Gradient) Interpreted<T>(CompiledFormula<T> formula) where T : IFloatingPointIeee754<T>
    {
        var value = formula.EvaluateWithGradient();
        return (value, Gradient(formula));
    }

    static (T Value, T[] Gradient) Compiled<T>(CompiledFormula<T> formula) where T : IFloatingPointIeee754<T>
    {
        Assert.True(formula.CompileScalarReplay(), $"'{formula.Formula.Text}' should compile");
        var value = formula.EvaluateWithGradientFused();
        return (value, Gradient(formula));
    }

    static T[] Gradient<T>(CompiledFormula<T> formula) where T : IFloatingPointIeee754<T> =>
        Enumerable.Range(0, formula.Inputs.Count).Where(slot => formula.Inputs[slot].Kind == InputKind.Parameter)
            .SelectMany(slot => formula.GradientOf(slot).ToArray()).ToArray();

    /// <summary>The same bits (so +0 and -0 differ); two NaNs count as equal whatever their payloads.</summary>
    static void AssertSameBits<T>((T Value, T[] Gradient) expected, (T Value, T[] Gradient) actual, string text)
        where T : IFloatingPointIeee754<T>
    {
        Assert.True(SameBits(expected.Value, actual.Value), $"{text}: value {actual.Value}, interpreted {expected.Value}");
        Assert.Equal(expected.Gradient.Length, actual.Gradient.Length);
        for (var i = 0; i < expected.Gradient.Length; i++)
            Assert.True(SameBits(expected.Gradient[i], actual.Gradient[i]), $"{text}: d/dp{i} = {actual.Gradient[i]}, interpreted {expected.Gradient[i]}");
    }

    static bool SameBits<T>(T a, T b) where T : IFloatingPointIeee754<T> =>
        (T.IsNaN(a) && T.IsNaN(b)) || (a.Equals(b) && T.IsNegative(a) == T.IsNegative(b));

    public static TheoryData<string> EveryScalarOp =>
    [
        "-x + y", "exp(x) * y", "log(x) - y", "sqrt(x) / y", "abs(x - 2*y)", "sin(x) * cos(y)", "tan(x / 3) + y",
        "tanh(x * y)", "sigmoid(x - y)", "relu(x) + relu(-y)", "softplus(x * y)", "x^2 * y^3", "x^y", "x^0.5 + y^-1",
        "min(x, y) + 2*max(x, y)", "x * x + x / y", "sum(x) + mean(y) + dot(x, y)",
    ];

    [Theory]
    [MemberData(nameof(EveryScalarOp))]
    public void CompiledGradientMatchesFiniteDifferencesOfThePlainForwardSweep(string text)
    {
        var formula = Compile<double>(text, ("x", [1.3], true), ("y", [0.7], true));
        var (value, gradient) = Compiled(formula);
        Assert.Equal(value, formula.Evaluate());
        double[] point = [1.3, 0.7];
        for (var j = 0; j < 2; j++)
        {
            var h = 1e-6;
            var plus = (double[])point.Clone();
            var minus = (double[])point.Clone();
            plus[j] += h;
            minus[j] -= h;
            formula.SetInput(0, [plus[0]]);
            formula.SetInput(1, [plus[1]]);
            var up = formula.Evaluate();
            formula.SetInput(0, [minus[0]]);
            formula.SetInput(1, [minus[1]]);
            var down = formula.Evaluate();
            var estimate = (up - down) / (2 * h);
            Assert.True(Math.Abs(gradient[j] - estimate) <= 1e-6 * (1 + Math.Abs(estimate)),
                $"{text}: d/d{(j == 0 ? "x" : "y")} = {gradient[j]:R}, central difference {estimate:R}");
        }
    }

    [Theory]
    [MemberData(nameof(EveryScalarOp))]
    public void CompiledReplayGivesTheInterpretersBitsInBothPrecisions(string text)
    {
        AssertSameBits(Interpreted(Compile<double>(text, ("x", [1.3], true), ("y", [0.7], true))),
            Compiled(Compile<double>(text, ("x", [1.3], true), ("y", [0.7], true))), text);
        AssertSameBits(Interpreted(Compile<float>(text, ("x", [1.3], true), ("y", [0.7], true))),
            Compiled(Compile<float>(text, ("x", [1.3], true), ("y", [0.7], true))), text);
    }

    [Fact]
    public void RandomScalarFormulasReplayCompiledAsInterpreted()
    {
        var compiledCount = 0;
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
            var reference = Build();
            var compiled = Build();
            if (!compiled.CompileScalarReplay()) return;
            Interlocked.Increment(ref compiledCount);
            var expected = Interpreted(reference);
            compiled.EvaluateWithGradientFused();
            var actual = (compiled.Value, Gradient(compiled));
            AssertSameBits(expected, actual, text);
        }, iter: 400, print: t => $"{t.Item1.Expr.Minimal()} at {Probe.Show(t.Item2)}");
        Assert.True(compiledCount >= 20, $"only {compiledCount} of 400 generated formulas were tapes of scalars");
    }

    [Fact]
    public void VectorParametersReadByIndexCompileAndGetTheirWholeGradient()
    {
        const string rosenbrock = "(a - x[1])^2 + b*(x[2] - x[1]^2)^2";
        var formula = Compile<double>(rosenbrock, ("x[]", [-1, 1, 7], true), ("a", [1], false), ("b", [5], false));
        var (value, gradient) = Compiled(formula);
        // Closed form: d/dx1 = -2(a - x1) - 4b x1 (x2 - x1²), d/dx2 = 2b (x2 - x1²); x[3] is not used.
        Assert.Equal(4.0, value);
        Assert.Equal([-4.0, 0.0, 0.0], gradient);
        formula.SetInput(0, [0.5, 2, 7]);
        formula.EvaluateWithGradientFused();
        Assert.Equal(0.25 + 5 * 1.75 * 1.75, formula.Value, 12);
        Assert.Equal([-2 * 0.5 - 4 * 5 * 0.5 * 1.75, 2 * 5 * 1.75, 0.0], Gradient(formula));
    }

    [Fact]
    public void CopiesOfOneFormulaShareOneCompiledMethodButNotTheirNumbers()
    {
        const string text = "(a - x[1])^2 + 7.25*(x[2] - x[1]^2)^2";
        var first = Compile<double>(text, ("x[]", [-1, 1], true), ("a", [1], false));
        var second = Compile<double>(text, ("x[]", [0.5, 2], true), ("a", [3], false));
        var otherLiteral = Compile<double>(text.Replace("7.25", "7.5"), ("x[]", [-1, 1], true), ("a", [1], false));
        var (v1, g1) = Compiled(first);
        var (v2, g2) = Compiled(second);
        Compiled(otherLiteral);
        Assert.NotNull(first.Tape.ScalarReplayMethod);
        Assert.Same(first.Tape.ScalarReplayMethod, second.Tape.ScalarReplayMethod);
        Assert.NotSame(first.Tape.ScalarReplayMethod, otherLiteral.Tape.ScalarReplayMethod);
        // Closed forms at (-1, 1), a = 1 and at (0.5, 2), a = 3, with b = 7.25.
        Assert.Equal(4.0, v1);
        Assert.Equal([-4.0, 0.0], g1);
        Assert.Equal(2.5 * 2.5 + 7.25 * 1.75 * 1.75, v2, 12);
        Assert.Equal(-2 * 2.5 - 4 * 7.25 * 0.5 * 1.75, g2[0], 12);
        Assert.Equal(2 * 7.25 * 1.75, g2[1], 12);
    }

    [Fact]
    public void ComputedVectorsStayInterpreted()
    {
        var formula = Compile<double>("sum(v * v)", ("v[]", [1, 2, 3], true));
        Assert.False(formula.CompileScalarReplay());
        Assert.Equal(14.0, formula.EvaluateWithGradientFused());
        Assert.Equal([2.0, 4.0, 6.0], formula.GradientOf(0).ToArray());
    }

    [Theory]
    [InlineData(CompiledScalarReplay<double>.MaxSteps, true)]
    [InlineData(CompiledScalarReplay<double>.MaxSteps + 1, false)]
    public void TapesPastTheStepLimitStayInterpreted(int steps, bool compiles)
    {
        // x + x + ... with steps + 1 terms records one add per step.
        var formula = Compile<double>(string.Join(" + ", Enumerable.Repeat("x", steps + 1)), ("x", [2], true));
        Assert.Equal(steps, formula.Tape.Count - 1);
        Assert.Equal(compiles, formula.CompileScalarReplay());
        Assert.Equal(2.0 * (steps + 1), formula.EvaluateWithGradientFused());
        Assert.Equal(steps + 1.0, formula.GradientOf(0)[0]);
    }

    [Fact]
    public void OnlyTheElementsAFormulaReadsCostLocals()
    {
        // A long vector read at two elements and a long parameter never read compile into a handful of locals,
        // and their gradients are whole: zero where nothing reads them.
        var w = Enumerable.Range(0, 50_000).Select(i => i * 0.001).ToArray();
        var formula = Compile<double>("x[7]^2 * x[49999] + 3*p", ("x[]", w, true), ("unused[]", new double[60_000], true), ("p", [1], true));
        var (value, gradient) = Compiled(formula);
        // x[7] and x[49999] are the 1-based elements 0.006 and 49.998.
        Assert.Equal(0.006 * 0.006 * 49.998 + 3, value, 12);
        Assert.Equal(110_001, gradient.Length);
        Assert.Equal(2 * 0.006 * 49.998, gradient[6], 12);
        Assert.Equal(0.006 * 0.006, gradient[49_998], 12);
        Assert.Equal(3.0, gradient[^1]);
        Assert.Equal(2, gradient[..110_000].Count(g => g != 0));
    }

    [Fact]
    public void AFormulaThatIsJustAnInputReadsTheBoundArray()
    {
        var formula = CompiledFormula<double>.Compile(Formula.Parse("d"), [InputSpec.Vector("d", InputKind.Data, 1)]);
        formula.BindInput(0, [5.0]);
        Assert.Equal(5.0, formula.EvaluateWithGradientFused());
        Assert.Equal(5.0, formula.Value);
    }

    [Fact]
    public void FormulaWithoutParametersGivesItsValue()
    {
        var formula = Compile<double>("2*a + 1", ("a", [3], false));
        Assert.True(formula.CompileScalarReplay());
        Assert.Equal(7.0, formula.EvaluateWithGradientFused());
    }

    [Fact]
    public void RebindingAnInputRecompilesInsteadOfReadingTheOldArray()
    {
        var formula = Compile<double>("p * c", ("p", [2], true), ("c", [3], false));
        Assert.True(formula.CompileScalarReplay());
        Assert.Equal(6.0, formula.EvaluateWithGradientFused());
        formula.BindInput(1, [10.0]);
        Assert.Equal(20.0, formula.EvaluateWithGradientFused());
        Assert.Equal(10.0, formula.GradientOf(0)[0]);
    }

    [Fact]
    public void ATapeReplayedOftenCompilesItselfInTheBackground()
    {
        var formula = Compile<double>("0.2*x1^2 + 0.2*x2^2 - 5", ("x1", [2], true), ("x2", [2], true));
        var deadline = DateTime.UtcNow.AddSeconds(30);
        var replays = 0;
        while (!formula.Tape.IsScalarReplayCompiled && DateTime.UtcNow < deadline)
        {
            Assert.Equal(-3.4, formula.EvaluateWithGradientFused(), 12);
            Assert.Equal(0.8, formula.GradientOf(0)[0], 12);
            replays++;
            if (replays > CompiledScalarReplay<double>.CompileAfterReplays) Thread.Sleep(1);
        }
        Assert.True(formula.Tape.IsScalarReplayCompiled, "not compiled 30 s after the threshold");
        Assert.True(replays >= CompiledScalarReplay<double>.CompileAfterReplays, $"compiled after only {replays} replays");
        Assert.Equal(-3.4, formula.EvaluateWithGradientFused(), 12);
        Assert.Equal(0.8, formula.GradientOf(1)[0], 12);
    }

    [Fact]
    public void SgdTraceIsTheSameCompiledAndInterpretedInBothPrecisions()
    {
        SgdTrace<double>();
        SgdTrace<float>();
    }

    static void SgdTrace<T>() where T : IFloatingPointIeee754<T>
    {
        const string rosenbrock = "(a - x[1])^2 + b*(x[2] - x[1]^2)^2";
        CompiledFormula<T> Rosenbrock() =>
            Compile<T>(rosenbrock, ("x[]", [-1, 1], true), ("a", [1], false), ("b", [5], false));
        // The interpreter: node-by-node sweeps, which never compile.
        var interpreted = Rosenbrock();
        var expected = new List<T>();
        T[] x = [-T.One, T.One];
        var sgd = new Sgd<T>(2, 0.01);
        for (var k = 0; k < 1000; k++)
        {
            interpreted.SetInput(0, x);
            expected.Add(interpreted.EvaluateWithGradient());
            sgd.Step(x, expected[^1], interpreted.GradientOf(0).ToArray(), null!);
        }
        // The optimisers' replay, compiled from the first iteration.
        var compiled = Rosenbrock();
        Assert.True(compiled.CompileScalarReplay());
        Assert.NotNull(compiled.Tape.CompiledReplayAtPoint(compiled.Output, 2));
        var actual = new List<T>();
        var outcome = Minimizer.Run(new FormulaObjective<T>(compiled), [-T.One, T.One], new Sgd<T>(2, 0.01), new StoppingRules(1000),
            (in IterationState<T> state) => actual.Add(state.Value));
        Assert.Equal(expected, actual);
        Assert.Equal(x, outcome.Parameters);
    }

    [Fact]
    public void RandomScalarFormulasThroughTheObjectiveGiveTheSweepsBitsInBothPrecisions()
    {
        var fromPoint = 0;
        Gen.Select(FormulaGenerator.Scalar, Gen.Double[-2, 2].Array[5]).Sample((generated, point) =>
        {
            var text = generated.Expr.Minimal();
            if (ObjectiveMatchesTheSweeps<double>(text, point)) Interlocked.Increment(ref fromPoint);
            ObjectiveMatchesTheSweeps<float>(text, point);
        }, iter: 300, print: t => $"{t.Item1.Expr.Minimal()} at {Probe.Show(t.Item2)}");
        Assert.True(fromPoint >= 20, $"only {fromPoint} of 300 generated formulas ran compiled from the point");
    }

    /// <summary>
    /// The objective on a compiled formula (x, y, v[3] parameters, w data) against the node-by-node sweeps at the same
    /// point: value, gradient, nothing written past it, and the tape left as the sweeps leave it. True when the
    /// compiled method took the point itself.
    /// </summary>
    static bool ObjectiveMatchesTheSweeps<T>(string text, double[] point) where T : IFloatingPointIeee754<T>
    {
        CompiledFormula<T> Build()
        {
            var formula = CompiledFormula<T>.Compile(Formula.Parse(text),
            [
                InputSpec.Scalar("x", InputKind.Parameter), InputSpec.Scalar("y", InputKind.Parameter),
                InputSpec.Vector("v", InputKind.Parameter, FormulaGenerator.VectorLength),
                InputSpec.Vector("w", InputKind.Data, FormulaGenerator.VectorLength),
            ]);
            formula.SetInput(0, [T.One]);
            formula.SetInput(1, [T.One]);
            formula.SetInput(2, [T.One, T.One, T.One]);
            formula.SetInput(3, new[] { 1.5, 0.25, -0.75 }.Select(T.CreateChecked).ToArray());
            return formula;
        }
        var formula = Build();
        if (!formula.CompileScalarReplay()) return false;
        var objective = new FormulaObjective<T>(formula);
        var at = point.Select(T.CreateChecked).ToArray();
        var gradient = Enumerable.Repeat(T.NaN, at.Length + 1).ToArray();
        var value = objective.ValueAndGradient(at, gradient);

        var reference = Build();
        reference.SetInput(0, at.AsSpan(0, 1));
        reference.SetInput(1, at.AsSpan(1, 1));
        reference.SetInput(2, at.AsSpan(2));
        var expected = Interpreted(reference);
        AssertSameBits(expected, (value, gradient[..^1]), text);
        Assert.True(T.IsNaN(gradient[^1]), $"{text}: wrote past the gradient");
        AssertSameBits(expected, (formula.Value, Gradient(formula)), text);
        Assert.Equal(at, objective.CurrentParameters());
        return formula.Tape.CompiledReplayAtPoint(formula.Output, at.Length) is not null;
    }

    [Fact]
    public void RebindingAnInputSendsTheObjectiveBackToTheTapeInsteadOfTheOldArray()
    {
        var formula = Compile<double>("p * c", ("p", [2], true), ("c", [3], false));
        Assert.True(formula.CompileScalarReplay());
        var objective = new FormulaObjective<double>(formula);
        var gradient = new double[1];
        Assert.Equal(6.0, objective.ValueAndGradient([2.0], gradient));
        Assert.Equal(3.0, gradient[0]);
        formula.BindInput(1, [10.0]);
        Assert.Equal(20.0, objective.ValueAndGradient([2.0], gradient));
        Assert.Equal(10.0, gradient[0]);
    }

    [Theory]
    [InlineData("0.2*x^2 + 0.2*y^2 - 5")]
    [InlineData("exp(x) * sin(y) + x / y - 3")]
    public void NumbersOfOtherTypesThanDoubleAndFloatComeFromAnArrayWithTheSameBits(string text)
    {
        // Half has no IL constant: its literals and exponents are read from an array of their own.
        (string, double[], bool)[] inputs = [("x", [1.5], true), ("y", [0.75], true)];
        var expected = Interpreted(Compile<Half>(text, inputs));
        var formula = Compile<Half>(text, inputs);
        AssertSameBits(expected, Compiled(formula), text);
        var gradient = new Half[2];
        var value = new FormulaObjective<Half>(formula).ValueAndGradient([(Half)1.5, (Half)0.75], gradient);
        AssertSameBits(expected, (value, gradient), text);
    }

    [Fact]
    public void TheCompiledMethodsSkipNullChecksOnSixtyFourBit()
    {
        // Where the runtime lays arrays out otherwise the methods fall back to MemoryMarshal (slower, as correct).
        Assert.Equal(Environment.Is64BitProcess, CompiledScalarReplay<double>.ArraysAreRaw);
        Assert.Equal(Environment.Is64BitProcess, CompiledScalarReplay<float>.ArraysAreRaw);
    }

    [Theory]
    [InlineData(3)]
    [InlineData(CompiledScalarReplay<double>.MaxPointElements - 2)]
    [InlineData(CompiledScalarReplay<double>.MaxPointElements - 1)]
    public void TheObjectiveThroughTheCompiledMethodGivesTheInterpretersBitsAndLeavesTheTapeAsTheCopiesDid(int length)
    {
        // Parameters between constants, a vector read at two of its elements (the rest of its gradient is zero),
        // and past MaxPointElements (length + 2 parameter elements) the objective copies the point itself.
        const string text = "(a - v[1])^2 * p + b*(v[2] - v[1]^2)^2 + exp(q / a)";
        var v = Enumerable.Range(0, length).Select(i => 0.1 * (i + 1)).ToArray();
        CompiledFormula<double> Build() =>
            Compile<double>(text, ("p", [1.5], true), ("a", [1.25], false), ("v[]", v, true), ("b", [5], false), ("q", [-0.5], true));
        var reference = new FormulaObjective<double>(Build());
        var formula = Build();
        Assert.True(formula.CompileScalarReplay());
        var objective = new FormulaObjective<double>(formula);
        var random = new Random(7);
        for (var trial = 0; trial < 20; trial++)
        {
            var point = Enumerable.Range(0, length + 2).Select(_ => random.NextDouble() * 4 - 2).ToArray();
            var expectedGradient = Enumerable.Repeat(double.NaN, length + 2).ToArray();
            var actualGradient = Enumerable.Repeat(double.NaN, length + 3).ToArray();
            var expected = reference.ValueAndGradient(point, expectedGradient);
            var actual = objective.ValueAndGradient(point, actualGradient);
            AssertSameBits((expected, expectedGradient), (actual, actualGradient[..^1]), text);
            Assert.True(double.IsNaN(actualGradient[^1]), "wrote past the parameters");
            Assert.Equal(length - 2, actualGradient.Skip(3).Take(length - 2).Count(g => g == 0));
            Assert.Equal(expected, formula.Value);
            Assert.Equal(point, objective.CurrentParameters());
            Assert.Equal(expectedGradient[1..^1], formula.GradientOf(2).ToArray());
        }
        // Closed form at one point: d/dp = (a - v1)^2, d/dq = exp(q / a) / a.
        double[] at = [2, .. v, 0.75];
        var gradient = new double[length + 2];
        objective.ValueAndGradient(at, gradient);
        Assert.Equal((1.25 - 0.1) * (1.25 - 0.1), gradient[0], 12);
        Assert.Equal(Math.Exp(0.75 / 1.25) / 1.25, gradient[^1], 12);
    }
}
