using Autograd.Expressions;
namespace Autograd.Tests;
public class ZzScratch
{
    [Fact]
    public void Dump()
    {
        var sb = new System.Text.StringBuilder();
        string[] good = ["a ^ b ^ c", "-x^2", "2^3^2", "-x*y", "2^-x^2", "log(x)^3", "x**2", "a - b - c", "x[1] + x[2]", "1e-3*x", ".5*x", "-2^2", "f()", "(x)[1]", "-x[1]", "+x", "a*-b^c", "1.e3", "max(a, b)"];
        foreach (var g in good) { try { sb.AppendLine($"{g} => {Formula.Parse(g).ToParenthesized()}"); } catch (Exception e) { sb.AppendLine($"{g} => EXC {e.Message}"); } }
        string[] bad = ["x +", "x * * y", "(x + 1", "x + 1)", "f(,)", "x[0]", "x[1.5]", "3x", "x $ y", "", "   ", "max(a, b, )", "(x, y)", "x[1", "x[]"];
        foreach (var g in bad) { try { Formula.Parse(g); sb.AppendLine($"'{g}' => OK"); } catch (FormulaException e) { sb.AppendLine($"'{g}' => {e.Error} | {e.Message} | col {e.Span.Column} len {e.Span.Length} | tok {e.Token} | exp {e.Expected}"); } }
        InputSpec[] inputs = [InputSpec.Scalar("x", InputKind.Parameter), InputSpec.Vector("p", InputKind.Parameter, 2), InputSpec.Vector("d", InputKind.Data, 3), InputSpec.Vector("w", InputKind.Data, 2)];
        string[] bind = ["x + q", "foo(x)", "exp(x, x)", "p[3]", "x[1]", "sum(d + w)", "p * 2", "exp", "min(x, x, x)", "sum(d, w)", "dot(d, w)", "exp()", "2[1]", "x + 1e999"];
        foreach (var g in bind) { try { CompiledFormula<double>.Compile(Formula.Parse(g), inputs); sb.AppendLine($"'{g}' => OK"); } catch (FormulaException e) { sb.AppendLine($"'{g}' => {e.Error} | {e.Message} | col {e.Span.Column} len {e.Span.Length} | tok {e.Token} | exp {e.Expected}"); } }
        try { Formula.Parse(new string('x', 11), new FormulaLimits(MaxLength: 10)); } catch (FormulaException e) { sb.AppendLine($"long => {e.Error} | {e.Message} | col {e.Span.Column} len {e.Span.Length}"); }
        try { Formula.Parse("x+x+x+x", new FormulaLimits(MaxNodes: 5)); } catch (FormulaException e) { sb.AppendLine($"nodes => {e.Error} | {e.Message} | col {e.Span.Column} len {e.Span.Length}"); }
        try { Formula.Parse("x+x+x+x", new FormulaLimits(MaxDepth: 3)); } catch (FormulaException e) { sb.AppendLine($"deep => {e.Error} | {e.Message} | col {e.Span.Column} len {e.Span.Length}"); }
        File.WriteAllText("/tmp/scratch.txt", sb.ToString());
    }
}
