using Autograd.Expressions;

namespace Autograd.Tests.Expressions;

/// <summary>A vector or matrix subexpression written twice is recorded once, and the formula still computes what it says.</summary>
public class SharedSubexpressionTests
{
    [Fact]
    public void TheBceShorthandRecordsItsModelOnceAndGivesTheClosedFormGradient()
    {
        const int n = 3001, k = 4;
        var random = new Random(17);
        var x = Enumerable.Range(0, n * k).Select(_ => 2 * random.NextDouble() - 1).ToArray();
        var y = Enumerable.Range(0, n).Select(_ => random.NextDouble() < 0.4 ? 1.0 : 0.0).ToArray();
        double[] w = [0.3, -0.7, 0.1, 0.45];
        const double b0 = -0.2;
        var (expression, _) = ModelLoss.Expand("b0 + X %*% w", "y", "bce");
        var formula = CompiledFormula<double>.Compile(Formula.Parse(expression),
        [
            InputSpec.Scalar("b0", InputKind.Parameter), InputSpec.Vector("w", InputKind.Parameter, k),
            InputSpec.Matrix("X", InputKind.Data, n, k), InputSpec.Vector("y", InputKind.Data, n),
        ]);
        formula.SetInput(0, [b0]);
        formula.SetInput(1, w);
        formula.BindInput(2, x);
        formula.BindInput(3, y);
        Assert.Single(formula.Tape.Nodes, node => node.Op == Op.MatMul);
        Assert.Single(formula.Tape.Nodes, node => node.Op == Op.Add);

        // Closed form: loss = mean(softplus(z) - y z), d/db0 = mean(sigmoid(z) - y), d/dw = Xᵀ(sigmoid(z) - y) / n.
        double loss = 0, gb0 = 0;
        var gw = new double[k];
        for (var i = 0; i < n; i++)
        {
            var z = b0;
            for (var j = 0; j < k; j++) z += x[i * k + j] * w[j];
            loss += Math.Max(z, 0) + Math.Log(1 + Math.Exp(-Math.Abs(z))) - y[i] * z;
            var residual = 1 / (1 + Math.Exp(-z)) - y[i];
            gb0 += residual;
            for (var j = 0; j < k; j++) gw[j] += x[i * k + j] * residual;
        }
        foreach (var value in new[] { formula.EvaluateWithGradient(), formula.EvaluateWithGradientFused() })
        {
            Assert.Equal(loss / n, value, 1e-13);
            Assert.Equal(gb0 / n, formula.GradientOf(0)[0], 1e-13);
            for (var j = 0; j < k; j++) Assert.Equal(gw[j] / n, formula.GradientOf(1)[j], 1e-13);
        }
    }

    [Fact]
    public void ScalarsKeepANodePerOccurrenceAndEqualLiteralsShareOne()
    {
        var formula = CompiledFormula<double>.Compile(Formula.Parse("sum(2*v) + sum(2*v) + a*b + a*b"),
            [InputSpec.Vector("v", InputKind.Parameter, 3), InputSpec.Scalar("a", InputKind.Parameter), InputSpec.Scalar("b", InputKind.Parameter)]);
        formula.SetInput(0, [1.0, 2, 3]);
        formula.SetInput(1, [0.5]);
        formula.SetInput(2, [-4.0]);
        Assert.Single(formula.Tape.Nodes, node => node.Op == Op.Mul && node.Length == 3);
        Assert.Equal(2, formula.Tape.Nodes.Count(node => node.Op == Op.Sum));
        Assert.Equal(2, formula.Tape.Nodes.Count(node => node.Op == Op.Mul && node.Length == 1));
        Assert.Single(formula.Tape.Nodes, node => node.IsLiteral);
        Assert.Equal(24 - 4, formula.EvaluateWithGradient());
        Assert.Equal([4.0, 4, 4], formula.GradientOf(0).ToArray());
        Assert.Equal(-8.0, formula.GradientOf(1)[0]);
        Assert.Equal(1.0, formula.GradientOf(2)[0]);
    }
}
