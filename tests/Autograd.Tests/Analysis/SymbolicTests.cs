using System.Globalization;
using Autograd.Analysis;
using Autograd.Expressions;
using static Autograd.Tests.Analysis.AnalysisHelpers;

namespace Autograd.Tests.Analysis;

/// <summary>
/// The derivative as a formula: every op has a symbolic rule that agrees at its samples, the printed text is
/// simplified and shares subexpressions through let statements, and for random formulas over the registry's ops
/// the returned text, parsed and evaluated here, equals the tape's gradient and central differences.
/// </summary>
public class SymbolicTests
{
    public static TheoryData<string> EveryOp() => GradientCheckTests.EveryOp();

    /// <summary>Evaluates a returned text at the formula's point, independently of the differentiator's own check.</summary>
    static double Evaluate(string text, CompiledFormula<double> at)
    {
        var compiled = CompiledFormula<double>.Compile(Formula.Parse(text), at.Inputs);
        for (var slot = 0; slot < at.Inputs.Count; slot++) compiled.SetInput(slot, at.InputValues(slot));
        return compiled.Evaluate();
    }

    static void AssertTextsGiveTheGradient(CompiledFormula<double> compiled, string what)
    {
        var results = SymbolicDifferentiator.Derive(compiled, FormulaLimits.Default);
        compiled.EvaluateWithGradient();
        foreach (var result in results)
        {
            Assert.True(result.Verified, $"{what}: {result.Parameter}: {result.Note}");
            var slot = compiled.SlotOf(result.Parameter);
            var gradient = compiled.GradientOf(slot).ToArray();
            Assert.Equal(gradient.Length, result.Texts!.Length);
            for (var k = 0; k < gradient.Length; k++)
            {
                var value = Evaluate(result.Texts[k], compiled);
                Assert.True(Math.Abs(value - gradient[k]) <= 1e-9 * Math.Max(1, Math.Abs(gradient[k])),
                    $"{what}: d/d{result.Parameter}[{k + 1}] text {result.Texts[k]} gives {value}, the tape {gradient[k]}");
            }
        }
    }

    [Fact]
    public void EveryOpHasASymbolicRule()
    {
        // Matrix ops (issue 14) have no symbolic rule yet: the text reports "has no symbolic derivative rule" for them.
        foreach (var entry in OpRegistry.Entries.Where(e => e.Shape != OpShape.Matrix)) Assert.NotNull(OpRegistry.SymbolicRuleOf(entry.Op));
    }

    [Theory]
    [MemberData(nameof(EveryOp))]
    public void EveryOpsRuleAgreesWithTheTapeAtItsSamples(string op)
    {
        var entry = OpRegistry.Of(Enum.Parse<Op>(op));
        if (entry.Shape == OpShape.Matrix) return;  // no symbolic rule yet (issue 14)
        foreach (var sample in entry.Samples)
        {
            var compiled = GradientCheckTests.Formula(entry, sample);
            // Ties of min and max, and pow at 0, are kinks: there the step in the text is undefined by design.
            if (GradientChecker.Check(compiled).Any(c => c.Kink is not null)) continue;
            // prod's rule r/x is undefined at a zero element, where the tape multiplies the others.
            if (entry.Op == Op.Prod && sample.Contains(0.0)) continue;
            AssertTextsGiveTheGradient(compiled, $"{op} at ({string.Join(", ", sample)})");
        }
    }

    [Fact]
    public void TheTextIsSimplifiedAndSharesSubexpressions()
    {
        var compiled = Compile<double>("sin(x*y) * exp(x*y) + 0*x + 1*y + log(x)", Parameter("x", 0.5), Parameter("y", 2.0));
        var results = SymbolicDifferentiator.Derive(compiled, FormulaLimits.Default);
        Assert.Equal("t1 = x * y; t2 = exp(t1); 1 / x + sin(t1) * t2 * y + t2 * cos(t1) * y", results[0].Texts![0]);
        Assert.Equal("t1 = x * y; t2 = exp(t1); 1 + sin(t1) * t2 * x + t2 * cos(t1) * x", results[1].Texts![0]);
        Assert.True(results[0].Verified && results[1].Verified);
    }

    [Fact]
    public void AVectorParameterGetsOneFormulaPerElement()
    {
        var compiled = Compile<double>("(a - x[1])^2 + b*(x[2] - x[1]^2)^2", Parameter("x", [-1.0, 1.0]),
            ("a", InputKind.Constant, [1.0], true), ("b", InputKind.Constant, [5.0], true));
        var result = Assert.Single(SymbolicDifferentiator.Derive(compiled, FormulaLimits.Default));
        Assert.Equal(["-(b * (2 * (x[2] - x[1]^2)) * (2 * x[1])) - 2 * (a - x[1])", "b * (2 * (x[2] - x[1]^2))"], result.Texts!);
    }

    [Fact]
    public void AtAKinkTheTextIsWithheldAndTheNoteSaysWhy()
    {
        var result = Assert.Single(SymbolicDifferentiator.Derive(Compile<double>("max(x, 1) + x", Parameter("x", 1.0)), FormulaLimits.Default));
        Assert.False(result.Verified);
        Assert.Null(result.Texts);
        Assert.Contains("undefined at a kink", result.Note);
    }

    /// <summary>
    /// A random formula over scalars x, y and a vector w of 4 with data d: built bottom-up from a pool of
    /// subformulas (a loop, not recursion), each step one registry op with its arguments mapped into its domain.
    /// </summary>
    static string RandomFormula(Random random)
    {
        var scalars = new List<string> { "x", "y", "w[2]", "0.7", "sum(w*d)" };
        var vectors = new List<string> { "w", "w*d", "d + w" };
        string S() => scalars[random.Next(scalars.Count)];
        string V() => vectors[random.Next(vectors.Count)];
        var entries = OpRegistry.Entries;
        for (var step = 0; step < 6; step++)
        {
            var entry = entries[random.Next(entries.Count)];
            var onVector = entry.IsElementwise && random.Next(3) == 0;
            var a = onVector ? V() : S();
            var b = onVector && random.Next(2) == 0 ? V() : S();
            var name = entry.Names.FirstOrDefault();
            string? made = entry.Op switch
            {
                Op.Neg => $"-({a})",
                Op.Log or Op.Sqrt or Op.Log2 or Op.Log10 => $"{name}(1.5 + ({a})^2)",
                Op.Acosh => $"acosh(1.5 + ({a})^2)",
                Op.Asin or Op.Acos or Op.Atanh => $"{name}(0.9*tanh({a}))",
                Op.Log1p => $"log1p(({a})^2)",
                Op.Tan => $"tan(0.5*tanh({a}))",
                Op.Exp or Op.Sinh or Op.Cosh or Op.Expm1 => $"{name}(tanh({a}))",
                Op.PowConstant => $"({a})^{(random.Next(2) == 0 ? "3" : "-1.5")}".Replace("^-1.5", "^(-1.5)") is var p && p.EndsWith("(-1.5)") ? $"(1 + ({a})^2)^(-1.5)" : $"({a})^3",
                Op.Add => $"({a}) + ({b})",
                Op.Sub => $"({a}) - ({b})",
                Op.Mul => $"({a}) * ({b})",
                Op.Div => $"({a}) / (2 + ({b})^2)",
                Op.Pow => $"(1 + ({a})^2)^(0.3*tanh({b}))",
                Op.ClampLow or Op.ClampHigh => $"clamp({a}, -0.8, 0.9)",
                Op.Atan2 or Op.Hypot => $"{name}({a}, 0.5 + ({b})^2)",
                Op.Sum or Op.Mean or Op.Min or Op.Max or Op.Prod or Op.LogSumExp => $"{name}({V()})",
                Op.Dot => $"dot({V()}, {V()})",
                Op.Index => $"({V()})[{random.Next(1, 5)}]",
                Op.CumSum => null,
                Op.Diff => null,
                Op.Slice => $"sum(({V()})[2:3])",
                _ when entry.Shape == OpShape.Elementwise || entry.Shape == OpShape.Broadcast =>
                    entry.Arity == 1 ? $"{name}({a})" : $"{name}({a}, {b})",
                _ => null,
            };
            if (entry.Op == Op.CumSum) vectors.Add($"cumsum({V()})");
            else if (entry.Op == Op.Diff) scalars.Add($"sum(diff({V()}) * d[1:3])");
            else if (made is not null && onVector && entry.IsElementwise) vectors.Add(made);
            else if (made is not null) scalars.Add(made);
        }
        return $"{scalars[^1]} + {scalars[^2]} * sum({vectors[^1]})";
    }

    [Fact]
    public void ForRandomFormulasTheTextEvaluatesToTheTapesGradient()
    {
        var random = new Random(16);
        var checkedFormulas = 0;
        for (var i = 0; i < 150; i++)
        {
            var text = RandomFormula(random);
            var w = Enumerable.Range(0, 4).Select(_ => Math.Round(random.NextDouble() * 2 - 1, 3)).ToArray();
            var compiled = Compile<double>(text, Parameter("x", Math.Round(random.NextDouble() * 2 - 1, 3)),
                Parameter("y", Math.Round(random.NextDouble() * 2 - 1, 3)), Parameter("w", w), Data("d", [0.3, -1.2, 2.0, 0.8]));
            compiled.EvaluateWithGradient();
            if (!double.IsFinite(compiled.Value)) continue;
            // Skip a point that sits on a kink (a tie of min or max, clamp at a bound): there the text is undefined by design.
            var checks = GradientChecker.Check(compiled);
            if (checks.Any(c => c.Kink is not null)) continue;
            Assert.All(checks, c => Assert.True(c.Passed, $"{text}: {c.Parameter}[{c.Index}] fails the gradient check"));
            AssertTextsGiveTheGradient(compiled, text);
            checkedFormulas++;
        }
        Assert.True(checkedFormulas >= 120, $"only {checkedFormulas} formulas were checked");
    }
}
