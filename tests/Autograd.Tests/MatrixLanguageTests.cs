using Autograd.Expressions;

namespace Autograd.Tests;

/// <summary>
/// R's matrix notation in formulas (%*%, t, cbind, W[i, j], rowSums ...), PyTorch's broadcasting on hand-computed
/// cases, shape errors naming both shapes and a column, the Tensor API's matrices, and a two-layer network's value,
/// gradient and Hessian against a hand-written forward pass and central differences.
/// </summary>
public class MatrixLanguageTests
{
    // A is 2 x 3, B is 3 x 2, v has 3 elements, u has 2, s is a scalar; all parameters.
    static readonly double[] A = [1, 2, 3, 4, 5, 6];
    static readonly double[] B = [0.5, -1, 2, 0.25, -3, 1.5];

    static CompiledFormula<double> Compile(string text)
    {
        var formula = CompiledFormula<double>.Compile(Formula.Parse(text),
        [
            InputSpec.Matrix("A", InputKind.Parameter, 2, 3),
            InputSpec.Matrix("B", InputKind.Parameter, 3, 2),
            InputSpec.Vector("v", InputKind.Parameter, 3),
            InputSpec.Vector("u", InputKind.Parameter, 2),
            InputSpec.Scalar("s", InputKind.Parameter),
        ]);
        formula.SetInput(0, A);
        formula.SetInput(1, B);
        formula.SetInput(2, [10, 20, 30]);
        formula.SetInput(3, [-1, 2]);
        formula.SetInput(4, [2]);
        return formula;
    }

    static double Value(string text) => Compile(text).Evaluate();

    [Theory]
    // A %*% B = [[1*0.5 + 2*2 + 3*-3, 1*-1 + 2*0.25 + 3*1.5], [4*0.5 + 5*2 + 6*-3, 4*-1 + 5*0.25 + 6*1.5]] = [[-4.5, 4], [-6, 6.25]]
    [InlineData("A[1, 1] + 0 * sum(A)", 1)]
    [InlineData("A[2, 3]", 6)]
    [InlineData("(A %*% B)[1, 1]", -4.5)]
    [InlineData("(A %*% B)[2, 2]", 6.25)]
    [InlineData("sum(A %*% B)", -0.25)]
    // Precedence as R: %*% binds tighter than * and looser than unary minus.
    [InlineData("sum(s * A %*% B)", -0.5)]
    [InlineData("sum(-A %*% B)", 0.25)]
    [InlineData("sum(A %*% B / s)", -0.125)]
    // Matrix x vector is a vector of rows, vector x matrix one of columns: A v = (140, 320), u A = (7, 8, 9).
    [InlineData("(A %*% v)[2]", 320)]
    [InlineData("sum(A %*% v)", 460)]
    [InlineData("(u %*% A)[3]", 9)]
    // vector x vector is their dot product (torch.matmul of two 1-d tensors).
    [InlineData("v %*% v", 1400)]
    [InlineData("t(A)[3, 2]", 6)]
    [InlineData("sum(t(A) %*% A)", 261)]
    [InlineData("t(v)[1, 3]", 30)]
    [InlineData("cbind(u, u * 3)[2, 2]", 6)]
    [InlineData("cbind(A, u)[2, 4]", 2)]
    [InlineData("cbind(u)[2, 1]", 2)]
    [InlineData("rowSums(A)[2]", 15)]
    [InlineData("colSums(A)[3]", 9)]
    [InlineData("rowMeans(A)[1]", 2)]
    [InlineData("colMeans(A)[2]", 3.5)]
    [InlineData("sum(A)", 21)]
    [InlineData("mean(A)", 3.5)]
    [InlineData("max(A) - min(A)", 5)]
    [InlineData("sum(exp(A) - exp(A)) + sum(A^2)", 91)]
    // PyTorch's broadcasting: a length-3 vector over each row of a 2 x 3 matrix, either side; a scalar everywhere.
    [InlineData("(A + v)[2, 1]", 14)]
    [InlineData("(v - A)[2, 3]", 24)]
    [InlineData("(A * v)[2, 2]", 100)]
    [InlineData("(v / A)[1, 2]", 10)]
    [InlineData("(A - s)[1, 3]", 1)]
    [InlineData("(s ^ A)[2, 1]", 16)]
    [InlineData("sum(A + v)", 141)]
    [InlineData("(max(A, v - 17))[2, 3]", 13)]
    // A one-row matrix broadcasts over rows too.
    [InlineData("(A + t(v))[1, 1]", 11)]
    [InlineData("W = A %*% B; W[2, 1] * 2", -12)]
    public void FormulasGiveHandComputedValues(string text, double expected) =>
        Assert.Equal(expected, Value(text), 12);

    [Fact]
    public void ParenthesizedFormShowsRsPrecedence()
    {
        Assert.Equal("(s * (A %*% B))", Formula.Parse("s * A %*% B").ToParenthesized());
        Assert.Equal("((-A) %*% B)", Formula.Parse("-A %*% B").ToParenthesized());
        Assert.Equal("((A %*% B) %*% A)", Formula.Parse("A %*% B %*% A").ToParenthesized());
        Assert.Equal("(A[2, 3] + (A ^ 2)[1, 1])", Formula.Parse("A[2, 3] + (A^2)[1, 1]").ToParenthesized());
    }

    [Fact]
    public void BroadcastGradientsFollowPyTorch()
    {
        // d/dv sum(A * v) = colSums(A) = (5, 7, 9); d/dA = v in every row.
        var formula = Compile("sum(A * v)");
        formula.EvaluateWithGradient();
        Assert.Equal([5.0, 7, 9], formula.GradientOf(2).ToArray());
        Assert.Equal([10.0, 20, 30, 10, 20, 30], formula.GradientOf(0).ToArray());
        // d/ds sum(A * s) = sum(A).
        formula = Compile("sum(A * s)");
        formula.EvaluateWithGradient();
        Assert.Equal(21.0, formula.GradientOf(4)[0]);
    }

    [Theory]
    [InlineData("sum(A %*% A)", 7, "%*% of a 2x3 matrix and a 2x3 matrix: the first has 3 columns but the second has 2 rows (columns 7-9)")]
    [InlineData("sum(A + u)", 7, "add of a 2x3 matrix and a vector of 2: a vector broadcasts over the rows of a matrix only when its length is the number of columns (3) (column 7)")]
    [InlineData("sum(A * B)", 7, "mul of a 2x3 matrix and a 3x2 matrix: matrices combine elementwise only at the same shape, or a one-row matrix over every row (column 7)")]
    [InlineData("sum(u %*% B)", 7, "%*% of a vector of 2 and a 3x2 matrix: the first has 2 columns but the second has 3 rows (columns 7-9)")]
    [InlineData("sum(s %*% A)", 7, "%*% needs matrices or vectors, not a scalar and a 2x3 matrix; scale by a number with * (columns 7-9)")]
    [InlineData("sum(cbind(u, v))", 5, "cbind of a vector of 2 and a vector of 3: the columns must have the same number of rows (2 and 3) (columns 5-15)")]
    [InlineData("sum(rowSums(v))", 5, "rowSums needs a matrix, not a vector of 3 (columns 5-14)")]
    [InlineData("sum(cumsum(A))", 5, "cumsum needs a vector, not a 2x3 matrix (columns 5-13)")]
    [InlineData("dot(A, B)", 1, "dot needs two operands of the same shape, not a 2x3 matrix and a 3x2 matrix (columns 1-9)")]
    public void ShapeErrorsNameBothShapesAndAColumn(string text, int column, string message)
    {
        var e = Assert.Throws<FormulaException>(() => Compile(text));
        Assert.Equal(FormulaError.ShapeMismatch, e.Error);
        Assert.Equal(column, e.Span.Column);
        Assert.Equal(message, e.Message);
    }

    [Theory]
    [InlineData("A[3, 1]", "Index [3, 1] is out of range: 'A' is a 2x3 matrix (indices start at 1)")]
    [InlineData("A[1, 4]", "Index [1, 4] is out of range: 'A' is a 2x3 matrix (indices start at 1)")]
    [InlineData("A[2]", "'A' is a 2x3 matrix: index it by row and column, as in [2, 1]")]
    [InlineData("v[1, 2]", "Index [1, 2] needs a matrix, but 'v' is a vector of 3")]
    public void MatrixIndexErrorsSayWhatIsWrong(string text, string reason)
    {
        var e = Assert.Throws<FormulaException>(() => Compile(text));
        Assert.Equal(FormulaError.IndexOutOfRange, e.Error);
        Assert.Equal(reason, e.Reason);
        Assert.Equal(2, e.Span.Column);
    }

    [Fact]
    public void TensorsGainMatrices()
    {
        var a = Tensor<double>.Matrix([[1.0, 2, 3], [4, 5, 6]], requiresGrad: true);
        var w = Tensor<double>.Vector([1.0, -1, 2], requiresGrad: true);
        Assert.Equal((2, 3), (a.Rows, a.Columns));
        var product = a.MatMul(w);  // (5, 11)
        Assert.False(product.IsMatrix);
        Assert.Equal([5.0, 11], product.ToArray());
        var loss = (product * product).Sum() + (a + w).Sum();
        loss.Backward();
        // d/dw = Aᵀ 2(Aw) + 2 (the row broadcast) = (2*(5 + 44) + 2, 2*(10 + 55) + 2, 2*(15 + 66) + 2).
        Assert.Equal([100.0, 132, 164], w.Grad!.ToArray());
        // d/dA[i, j] = 2 (Aw)_i w_j + 1.
        Assert.Equal([11.0, -9, 21, 23, -21, 45], a.Grad!.ToArray());
        Assert.Equal(3, a.Grad.Columns);
        var t = Tensor<double>.Matrix([1.0, 2, 3, 4, 5, 6], 2, 3).Transpose();
        Assert.Equal((3, 2), (t.Rows, t.Columns));
        Assert.Equal([1.0, 4, 2, 5, 3, 6], t.ToArray());
        Assert.Equal(6.0, t[2, 1].Item());
        var bound = Tensor<double>.Cbind(Tensor<double>.Vector([1.0, 2]), Tensor<double>.Vector([3.0, 4]));
        Assert.Equal([1.0, 3, 2, 4], bound.ToArray());
        Assert.Equal([3.0, 7], bound.ColSums().ToArray());
        Assert.ThrowsAny<ShapeException>(() => a.MatMul(a));
    }

    // ----- A two-layer network: mean((y - (relu(cbind(x1, x2) %*% W1 + b1) %*% w2 + b2))^2), W1 2 x 4 -----

    const string Network = "mean((y - (relu(cbind(x1, x2) %*% W1 + b1) %*% w2 + b2))^2)";
    const int Rows = 12, Hidden = 4;

    static (double[] X1, double[] X2, double[] Y) NetworkData()
    {
        var x1 = Enumerable.Range(0, Rows).Select(i => Math.Sin(0.7 * i) * 2).ToArray();
        var x2 = Enumerable.Range(0, Rows).Select(i => Math.Cos(1.3 * i + 0.2)).ToArray();
        var y = x1.Zip(x2, (a, b) => Math.Tanh(a - b) + 0.3 * a * b).ToArray();
        return (x1, x2, y);
    }

    static CompiledFormula<double> CompileNetwork()
    {
        var (x1, x2, y) = NetworkData();
        var formula = CompiledFormula<double>.Compile(Formula.Parse(Network),
        [
            InputSpec.Matrix("W1", InputKind.Parameter, 2, Hidden),
            InputSpec.Vector("b1", InputKind.Parameter, Hidden),
            InputSpec.Vector("w2", InputKind.Parameter, Hidden),
            InputSpec.Scalar("b2", InputKind.Parameter),
            InputSpec.Vector("x1", InputKind.Data, Rows),
            InputSpec.Vector("x2", InputKind.Data, Rows),
            InputSpec.Vector("y", InputKind.Data, Rows),
        ]);
        formula.SetInput(4, x1);
        formula.SetInput(5, x2);
        formula.SetInput(6, y);
        return formula;
    }

    // W1 (row-major 2 x 4), b1, w2, b2: no hidden unit's pre-activation is near the kink at 0 on this data.
    static readonly double[] NetworkPoint =
        [0.8, -0.6, 0.35, 1.1, -0.4, 0.9, 0.75, -0.5, 0.1, 0.2, -0.3, 0.05, 0.7, -1.2, 0.5, 0.9, 0.15];

    /// <summary>The network's loss written out with loops, independently of the tape.</summary>
    static double NetworkByHand(double[] p)
    {
        var (x1, x2, y) = NetworkData();
        var loss = 0.0;
        for (var i = 0; i < Rows; i++)
        {
            var output = p[16];
            for (var j = 0; j < Hidden; j++)
            {
                var hidden = x1[i] * p[j] + x2[i] * p[Hidden + j] + p[8 + j];
                Assert.True(Math.Abs(hidden) > 1e-3, "a pre-activation sits at the kink");
                output += Math.Max(hidden, 0) * p[12 + j];
            }
            loss += (y[i] - output) * (y[i] - output);
        }
        return loss / Rows;
    }

    [Fact]
    public void TwoLayerNetworkValueGradientAndHessianMatchAHandWrittenPassAndCentralDifferences()
    {
        var formula = CompileNetwork();
        Assert.Equal(17, formula.ParameterCount);
        var point = NetworkPoint;
        Assert.Equal(NetworkByHand(point), Probe.ValueAt(formula, point), 13);

        var gradient = Probe.GradientAt(formula, point);
        for (var j = 0; j < point.Length; j++)
        {
            const double h = 1e-6;
            var up = (double[])point.Clone();
            var down = (double[])point.Clone();
            up[j] += h;
            down[j] -= h;
            var fd = (NetworkByHand(up) - NetworkByHand(down)) / (2 * h);
            Assert.True(Math.Abs(fd - gradient[j]) <= 1e-7 * (1 + Math.Abs(fd)), $"d/dp{j}: {gradient[j]:R}, central difference {fd:R}");
        }

        Probe.SetParameters(formula, point);
        var hessian = Probe.Hessian(formula);
        for (var j = 0; j < point.Length; j++)
        {
            var column = Probe.Central(formula, point, j, 1e-5, Probe.Gradient);
            for (var i = 0; i < point.Length; i++)
                Assert.True(Math.Abs(column[i] - hessian[i, j]) <= 1e-6 * (1 + Math.Abs(column[i])),
                    $"H[{i},{j}] = {hessian[i, j]:R}, central difference {column[i]:R}");
            for (var i = 0; i < j; i++) Assert.Equal(hessian[i, j], hessian[j, i], 12);
        }
    }
}
