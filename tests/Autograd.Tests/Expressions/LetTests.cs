using Autograd.Expressions;

namespace Autograd.Tests.Expressions;

/// <summary>Let statements: `name = expr` (or R's `name &lt;- expr`) separated by ';' or newlines, then the loss.</summary>
public class LetTests
{
    static readonly InputSpec[] Inputs =
    [
        InputSpec.Scalar("x", InputKind.Parameter),
        InputSpec.Scalar("y", InputKind.Parameter),
        InputSpec.Vector("d", InputKind.Data, 3),
        InputSpec.Scalar("k", InputKind.Constant),
    ];

    static CompiledFormula<double> Compile(string text, double x = 0.7, double y = -1.3)
    {
        var compiled = CompiledFormula<double>.Compile(Formula.Parse(text), Inputs);
        compiled.SetInput(0, [x]);
        compiled.SetInput(1, [y]);
        compiled.SetInput(2, [0.5, -1.25, 2.0]);
        compiled.SetInput(3, [3.0]);
        return compiled;
    }

    [Theory]
    [InlineData("r = y - (b0 + b1*x); mean(r^2)", "r = (y - (b0 + (b1 * x))); mean((r ^ 2))")]
    [InlineData("r <- y - b0\nmean(r^2)", "r = (y - b0); mean((r ^ 2))")]
    [InlineData("a = 1;; b = a * 2\n\n a + b;", "a = 1; b = (a * 2); (a + b)")]
    [InlineData("r = y -\n  b0\nsum(\n r\n)", "r = (y - b0); sum(r)")]
    [InlineData("x<-2;x", "x = 2; x")]
    public void LetStatementsPrintBeforeTheLoss(string text, string expected) =>
        Assert.Equal(expected, Formula.Parse(text).ToParenthesized());

    [Theory]
    [InlineData("a = 1", FormulaError.Syntax, 6, "Expected the loss expression after the let statements (column 6)")]
    [InlineData("a = 1;\n", FormulaError.Syntax, 8, "Expected the loss expression after the let statements (column 8)")]
    [InlineData("x^2; y", FormulaError.Syntax, 6,
        "Found 'y' after the loss expression: only let statements (name = expression) may come before it (column 6)")]
    [InlineData("a = (x; a", FormulaError.Syntax, 7, "Expected ')' to close the '(' at column 5 (column 7)")]
    [InlineData("x + y = 2", FormulaError.Syntax, 7,
        "Expected an operator (+ - * / ^ %*%), '[', ',', ')' or the end of the formula but found '=' (column 7)")]
    public void MalformedStatementsAreSyntaxErrorsWithColumns(string text, FormulaError kind, int column, string message)
    {
        var error = Assert.Throws<FormulaException>(() => Formula.Parse(text));
        Assert.Equal(kind, error.Error);
        Assert.Equal(column, error.Span.Column);
        Assert.Equal(message, error.Message);
    }

    [Theory]
    [InlineData("x = 2; x", 1, "'x' is already bound by a parameter: a let statement may not rebind it; choose another name (column 1)")]
    [InlineData("a = y; d <- a; d", 8, "'d' is already bound by a data column: a let statement may not rebind it; choose another name (column 8)")]
    [InlineData("k = 1; k", 1, "'k' is already bound by a constant: a let statement may not rebind it; choose another name (column 1)")]
    [InlineData("a = 1; a = 2; a", 8, "'a' is already bound by an earlier let statement: a let statement may not rebind it; choose another name (column 8)")]
    public void ALetMayNotShadowAnInputOrAnotherLet(string text, int column, string message)
    {
        var error = Assert.Throws<FormulaException>(() => Compile(text));
        Assert.Equal(FormulaError.DuplicateName, error.Error);
        Assert.Equal(column, error.Span.Column);
        Assert.Equal(message, error.Message);
    }

    [Fact]
    public void ALetNeverUsedIsFineAndALetMayShadowPi()
    {
        Assert.Equal(0.7 * 0.7, Compile("unused = exp(x); x^2").Evaluate());
        Assert.Equal(3 * 0.7, Compile("pi = 3; pi * x").Evaluate());
    }

    [Theory]
    [InlineData("r = d - (x + y*d); mean(r^2)", "mean((d - (x + y*d))^2)")]
    [InlineData("c = 2; x^c + y", "x^2 + y")]
    [InlineData("s = x + y; t <- s * k\nt^3 - s", "((x + y) * k)^3 - (x + y)")]
    public void LetsGiveTheWrittenOutFormulasValueGradientAndHessianBitForBit(string withLets, string writtenOut)
    {
        var (a, b) = (Compile(withLets), Compile(writtenOut));
        Assert.Equal(b.EvaluateWithGradient(), a.EvaluateWithGradient());
        for (var slot = 0; slot < 2; slot++) Assert.Equal(b.GradientOf(slot).ToArray(), a.GradientOf(slot).ToArray());
        double[] ha = new double[4], hb = new double[4];
        a.Hessian(ha);
        b.Hessian(hb);
        Assert.Equal(hb, ha);
    }

    [Fact]
    public void ASharedLetMatchesTheWrittenOutFormulaWithFewerNodes()
    {
        // Sharing u changes the order of the adjoint sums ((a + b)·y rather than a·y + b·y), so agreement is to rounding.
        var a = Compile("u = x*y\nv <- sin(u) + u\nv * v + log(1 + u^2)");
        var b = Compile("(sin(x*y) + x*y) * (sin(x*y) + x*y) + log(1 + (x*y)^2)");
        Assert.Equal(b.EvaluateWithGradient(), a.EvaluateWithGradient(), 1e-15);
        for (var slot = 0; slot < 2; slot++) Assert.Equal(b.GradientOf(slot)[0], a.GradientOf(slot)[0], 1e-14);
        double[] ha = new double[4], hb = new double[4];
        a.Hessian(ha);
        b.Hessian(hb);
        for (var i = 0; i < 4; i++) Assert.Equal(hb[i], ha[i], 1e-13);
        Assert.True(a.Tape.Count < b.Tape.Count, $"{a.Tape.Count} nodes with lets, {b.Tape.Count} written out");
    }

    [Fact]
    public void ABoundValueIsRecordedOnceAndNamed()
    {
        var compiled = Compile("r = x*y; r + r^2 + exp(r)");
        var named = compiled.Tape.Nodes.Where(n => n.Name == "r").ToList();
        Assert.Single(named);
        Assert.Equal(Op.Mul, named[0].Op);
        Assert.Single(compiled.Tape.Nodes, n => n.Op == Op.Mul);
        // d/dx of r + r² + e^r at r = xy is (1 + 2r + e^r) y.
        var r = 0.7 * -1.3;
        compiled.EvaluateWithGradient();
        Assert.Equal((1 + 2 * r + Math.Exp(r)) * -1.3, compiled.GradientOf(0)[0], 14);
    }
}
