using Autograd.Expressions;

namespace Autograd.Tests.Expressions;

/// <summary>Slices v[a:b]: 1-based, inclusive, bounds whole numbers or end ± a whole number.</summary>
public class SliceTests
{
    static readonly InputSpec[] Inputs =
    [
        InputSpec.Scalar("x", InputKind.Parameter),
        InputSpec.Vector("v", InputKind.Parameter, 4),
        InputSpec.Vector("d", InputKind.Data, 4),
    ];

    static CompiledFormula<double> Compile(string text)
    {
        var compiled = CompiledFormula<double>.Compile(Formula.Parse(text), Inputs);
        compiled.SetInput(0, [0.5]);
        compiled.SetInput(1, [1.0, 3.0, 2.0, -1.5]);
        compiled.SetInput(2, [0.5, -1.25, 2.0, 4.0]);
        return compiled;
    }

    [Theory]
    [InlineData("sum(v[2:end] - v[1:end-1])", "sum((v[2:end] - v[1:end-1]))")]
    [InlineData("v[3:4]", "v[3:4]")]
    [InlineData("cumsum(v)[2:end]", "cumsum(v)[2:end]")]
    [InlineData("-v[1:2]^2", "(-(v[1:2] ^ 2))")]
    public void SlicesPrintAsWritten(string text, string expected) => Assert.Equal(expected, Formula.Parse(text).ToParenthesized());

    [Theory]
    [InlineData("sum(v[0:2])", FormulaError.Syntax, 7, "Slice bounds start at 1, not 0 (column 7)")]
    [InlineData("sum(v[1 2])", FormulaError.Syntax, 9, "Expected ']' after the index but found '2' (column 9)")]
    [InlineData("sum(v[1:x])", FormulaError.Syntax, 9,
        "Expected a whole number of at least 1, end, or end - a whole number as a slice bound but found 'x' (column 9)")]
    public void MalformedSlicesAreSyntaxErrors(string text, FormulaError kind, int column, string message)
    {
        var error = Assert.Throws<FormulaException>(() => Formula.Parse(text));
        Assert.Equal(kind, error.Error);
        Assert.Equal(column, error.Span.Column);
        Assert.Equal(message, error.Message);
    }

    [Theory]
    [InlineData("sum(v[3:2])", 6, "Slice 3:2 is 3:2, which is empty: 'v' has 4 elements, so end is 4 (columns 6-10)")]
    [InlineData("sum(v[2:end+1])", 6, "Slice 2:end+1 is 2:5, out of range: 'v' has 4 elements, so end is 4 (indices start at 1) (columns 6-14)")]
    [InlineData("sum(v[2:7])", 6, "Slice 2:7 is 2:7, out of range: 'v' has 4 elements, so end is 4 (indices start at 1) (columns 6-10)")]
    [InlineData("x[1:1]", 2, "Slice 1:1 needs a vector, but 'x' is a scalar (columns 2-6)")]
    public void SlicesOutOfRangeOrEmptyAreFormulaErrorsWithColumns(string text, int column, string message)
    {
        var error = Assert.Throws<FormulaException>(() => Compile(text));
        Assert.Equal(FormulaError.IndexOutOfRange, error.Error);
        Assert.Equal(column, error.Span.Column);
        Assert.Equal(message, error.Message);
    }

    [Fact]
    public void SlicesAndLetsGiveTheWrittenOutFormulaBitForBit()
    {
        // A banded sum over neighbours, with a slice and a let, against the same terms written out.
        var a = Compile("w = v[2:end] - v[1:end-1]; sum(w^2 * d[1:3]) + x * v[4:4][1]");
        var b = Compile("(v[2]-v[1])^2*d[1] + (v[3]-v[2])^2*d[2] + (v[4]-v[3])^2*d[3] + x * v[4]");
        // The values agree to rounding (the sums associate differently); the gradients are the closed form.
        Assert.Equal(b.EvaluateWithGradient(), a.EvaluateWithGradient(), 1e-14);
        Assert.Equal(b.GradientOf(1).ToArray(), a.GradientOf(1).ToArray());
        // d/dv of Σ d_i (v_(i+1) - v_i)² + x v_4 with v = (1, 3, 2, -1.5), d = (0.5, -1.25, 2): w = (2, -1, -3.5).
        Assert.Equal([-2 * 0.5 * 2, 2 * 0.5 * 2 - 2 * -1.25 * -1, 2 * -1.25 * -1 - 2 * 2 * -3.5, 2 * 2 * -3.5 + 0.5], a.GradientOf(1).ToArray());
        double[] ha = new double[25], hb = new double[25];
        a.Hessian(ha);
        b.Hessian(hb);
        Assert.Equal(hb, ha);
    }
}
