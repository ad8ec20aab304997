using System.Numerics;
using Autograd.Expressions;
using Autograd.Optimization;

namespace Autograd.Benchmarks;

/// <summary>The data and formulas of the workloads, shared by the engine runs and the hand-written floors.</summary>
public static class Workloads
{
    public const string Paraboloid = "0.2*x1^2 + 0.2*x2^2 - 5";
    public const string Rosenbrock = "(a - x[1])^2 + b*(x[2] - x[1]^2)^2";
    public const string LeastSquares = "mean((y - (b0 + b1*x))^2)";
    public const string ManyParameters = "sum((w - c)^2 * (1 + 0.1*sin(w)))";

    public static CompiledFormula<double> Compile(string formula, params InputSpec[] inputs) =>
        CompiledFormula<double>.Compile(Formula.Parse(formula, new FormulaLimits(1_000_000, 1_000_000, 1_000_000)), inputs);

    public static CompiledFormula<float> CompileFloat(string formula, params InputSpec[] inputs) =>
        CompiledFormula<float>.Compile(Formula.Parse(formula, new FormulaLimits(1_000_000, 1_000_000, 1_000_000)), inputs);

    /// <summary>x ~ U(0, 2), y = 1 + x + N(0, 0.25²), from a fixed seed.</summary>
    public static (double[] X, double[] Y) LabData(int n)
    {
        var random = new Random(42);
        var x = new double[n];
        var y = new double[n];
        for (var i = 0; i < n; i++)
        {
            x[i] = 2 * random.NextDouble();
            y[i] = 1 + x[i] + 0.25 * Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
        }
        return (x, y);
    }

    /// <summary>A sum of terms over five scalars with the given number of syntax nodes, as formula text.</summary>
    public static string Generated(int nodes)
    {
        var terms = new List<string>();
        var count = 0;
        var i = 0;
        string[] shapes = ["x{0}*x{1}", "sin(x{0}) ^ 2", "exp(-x{1}) / (1 + x{0}^2)", "log(1 + x{0}*x{0})", "tanh(x{0} - x{1})"];
        while (count < nodes)
        {
            var shape = shapes[i % shapes.Length];
            var term = string.Format(shape, i % 5 + 1, (i + 2) % 5 + 1);
            terms.Add(term);
            count += Formula.Parse(term).Nodes.Count + 1;
            i++;
        }
        return string.Join(" + ", terms);
    }

    public static void Check(string workload, double expected, double actual, double tolerance = 1e-9)
    {
        if (Math.Abs(expected - actual) > tolerance * Math.Max(1, Math.Abs(expected)))
            throw new InvalidOperationException($"{workload}: the engine gives {actual:R}, the floor {expected:R}; not timing a wrong answer.");
    }
}
