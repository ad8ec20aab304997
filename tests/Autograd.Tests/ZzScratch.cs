using Autograd.Expressions;
namespace Autograd.Tests;
public class ZzScratch
{
    [Fact]
    public void Dump()
    {
        var sb = new System.Text.StringBuilder();
        var limits = new FormulaLimits(10_000_000, 10_000_000, 10_000_000);
        foreach (var n in new[] { 10_000, 30_000, 100_000 })
        {
            var sw = System.Diagnostics.Stopwatch.StartNew();
            var f = Formula.Parse(new string('-', n) + "2", limits);
            var t1 = sw.ElapsedMilliseconds;
            var c = CompiledFormula<double>.Compile(f, []);
            sb.AppendLine($"literal neg {n}: parse {t1} ms, compile {sw.ElapsedMilliseconds - t1} ms, value {c.Evaluate()}");
        }
        foreach (var n in new[] { 1_000_000 })
        {
            var sw = System.Diagnostics.Stopwatch.StartNew();
            var f = Formula.Parse(new string('-', n) + "x", limits);
            var t1 = sw.ElapsedMilliseconds;
            var c = CompiledFormula<double>.Compile(f, [InputSpec.Scalar("x", InputKind.Parameter)]);
            c.SetInput(0, [1.5]);
            var t2 = sw.ElapsedMilliseconds;
            var v = c.EvaluateWithGradient();
            sb.AppendLine($"name neg {n}: parse {t1} ms, compile {t2 - t1} ms, eval {sw.ElapsedMilliseconds - t2} value {v} grad {c.GradientOf(0)[0]}");
        }
        File.WriteAllText("/tmp/scratch.txt", sb.ToString());
    }
}
