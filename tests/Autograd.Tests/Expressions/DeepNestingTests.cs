using Autograd.Expressions;

namespace Autograd.Tests.Expressions;

/// <summary>
/// Formulas nested a million deep: the parser, the recorder and every sweep are loops over heap stacks,
/// so with the limits raised they evaluate and differentiate, and with the default limits they stop
/// with <see cref="FormulaError.TooDeep"/> at a column, never with a stack overflow.
/// </summary>
public class DeepNestingTests
{
    const int Million = 1_000_000;
    static readonly FormulaLimits Raised = new(MaxLength: 10_000_000, MaxNodes: 10_000_000, MaxDepth: 10_000_000);
    // Long enough for a million-deep formula but as deep as the default allows.
    static readonly FormulaLimits LongButDefaultDepth = new(MaxLength: 10_000_000, MaxNodes: 10_000_000);

    static string Parentheses(int depth) => new string('(', depth) + "x" + new string(')', depth);
    static string Negations(int depth) => new string('-', depth) + "x";
    static string Calls(string function, int depth) =>
        string.Concat(Enumerable.Repeat(function + "(", depth)) + "x" + new string(')', depth);
    static string PowerTower(int count) => string.Join("^", Enumerable.Repeat("x", count));

    static (double Value, double Gradient) ValueAndGradient(string text, double x, FormulaLimits limits)
    {
        var compiled = CompiledFormula<double>.Compile(Formula.Parse(text, limits), [InputSpec.Scalar("x", InputKind.Parameter)]);
        compiled.SetInput(0, [x]);
        var value = compiled.EvaluateWithGradient();
        return (value, compiled.GradientOf(0)[0]);
    }

    static FormulaException TooDeep(string text, FormulaLimits? limits = null)
    {
        var error = Assert.Throws<FormulaException>(() => Formula.Parse(text, limits));
        Assert.Equal(FormulaError.TooDeep, error.Error);
        Assert.EndsWith($"levels ({error.Span})", error.Message);
        return error;
    }

    // ----- A million deep with the limits raised -----

    [Fact]
    public void MillionNestedParenthesesEvaluate()
    {
        var (value, gradient) = ValueAndGradient(Parentheses(Million), -0.75, Raised);
        Assert.Equal(-0.75, value);
        Assert.Equal(1.0, gradient);
    }

    [Fact]
    public void MillionUnaryMinusesEvaluate()
    {
        var (value, gradient) = ValueAndGradient(Negations(Million), 1.5, Raised);
        Assert.Equal(1.5, value);
        Assert.Equal(1.0, gradient);

        var (odd, oddGradient) = ValueAndGradient(Negations(Million - 1), 1.5, Raised);
        Assert.Equal(-1.5, odd);
        Assert.Equal(-1.0, oddGradient);

        var (spaced, _) = ValueAndGradient(string.Concat(Enumerable.Repeat("- ", 1000)) + "x", 1.5, Raised);
        Assert.Equal(1.5, spaced);
    }

    [Fact]
    public void MillionUnaryMinusesOnANumberFoldToALiteral()
    {
        var compiled = CompiledFormula<double>.Compile(Formula.Parse(new string('-', Million) + "2", Raised), []);
        Assert.Equal(2.0, compiled.Evaluate());
    }

    [Fact]
    public void MillionNestedAbsCallsEvaluate()
    {
        var (value, gradient) = ValueAndGradient(Calls("abs", Million), -0.75, Raised);
        Assert.Equal(0.75, value);
        Assert.Equal(-1.0, gradient);
    }

    [Fact]
    public void MillionNestedSinCallsMatchALoop()
    {
        var (value, gradient) = ValueAndGradient(Calls("sin", Million), 1.2, Raised);

        double s = 1.2, slope = 1;
        for (var i = 0; i < Million; i++)
        {
            slope *= Math.Cos(s);
            s = Math.Sin(s);
        }
        Assert.Equal(s, value);
        Assert.True(Math.Abs(gradient - slope) <= 1e-9 * Math.Abs(slope), $"gradient {gradient:R}, loop {slope:R}");
    }

    [Fact]
    public void MillionHighPowerTowerEvaluates()
    {
        // x^x^...^x is right-associative: y(k+1) = x^y(k), converging for x = 1.2 to y = 1.2^y.
        const double x = 1.2;
        var (value, gradient) = ValueAndGradient(PowerTower(Million), x, Raised);

        double y = x, slope = 1;
        for (var i = 1; i < Million; i++)
        {
            var next = Math.Pow(x, y);
            slope = next * (y / x + Math.Log(x) * slope);
            y = next;
        }
        Assert.True(Math.Abs(value - y) <= 1e-12 * y, $"value {value:R}, loop {y:R}");
        Assert.True(Math.Abs(gradient - slope) <= 1e-9 * slope, $"gradient {gradient:R}, loop {slope:R}");
        // The fixed point: y = x^y and dy/dx = (y²/x) / (1 - y ln x).
        Assert.True(Math.Abs(value - Math.Pow(x, value)) <= 1e-12);
        Assert.True(Math.Abs(gradient - value * value / x / (1 - value * Math.Log(x))) <= 1e-9 * gradient);
    }

    [Fact]
    public void LeftAssociativeSumOfTwentyThousandTermsEvaluatesAndDifferentiates()
    {
        const int terms = 20_000;
        var text = string.Join("+", Enumerable.Repeat("x^2", terms));
        var compiled = CompiledFormula<double>.Compile(Formula.Parse(text, Raised), [InputSpec.Scalar("x", InputKind.Parameter)]);
        compiled.SetInput(0, [0.5]);
        Assert.Equal(terms * 0.25, compiled.EvaluateWithGradient());
        Assert.Equal(terms * 1.0, compiled.GradientOf(0)[0]);
        var hessian = new double[1];
        compiled.Hessian(hessian);
        Assert.Equal(terms * 2.0, hessian[0]);

        // Twenty thousand terms nest twenty thousand deep, twice the default.
        var error = TooDeep(text);
        Assert.Equal(FormulaError.TooDeep, error.Error);
    }

    // ----- The same shapes under the default depth -----

    [Fact]
    public void DeepUnaryMinusIsTooDeepByDefault()
    {
        // The minus at column k wraps 20,001 - k + 1 levels; the first over 10,000 is at column 10,001.
        var error = TooDeep(Negations(20_000));
        Assert.Equal("The formula nests deeper than 10,000 levels (column 10001)", error.Message);
        Assert.Equal(10_001, error.Span.Column);

        Assert.Equal(FormulaError.TooDeep, TooDeep(Negations(Million), LongButDefaultDepth).Error);
    }

    [Fact]
    public void DeepCallsAreTooDeepByDefault()
    {
        // Call k (from the outside, at column 4k-3) is 15,000 - k + 2 deep: call 5,001 at column 20,001 is the first too deep.
        var error = TooDeep(Calls("abs", 15_000));
        Assert.Equal("The formula nests deeper than 10,000 levels (columns 20001-20003)", error.Message);
        Assert.Equal(20_001, error.Span.Column);

        Assert.Equal(FormulaError.TooDeep, TooDeep(Calls("abs", Million), LongButDefaultDepth).Error);
    }

    [Fact]
    public void DeepPowerTowerIsTooDeepByDefault()
    {
        // The caret at column 2k joins x number k to the rest and is 20,000 - k + 1 deep: k = 10,000 is the first too deep.
        var error = TooDeep(PowerTower(20_000));
        Assert.Equal("The formula nests deeper than 10,000 levels (column 20000)", error.Message);
        Assert.Equal(20_000, error.Span.Column);

        Assert.Equal(FormulaError.TooDeep, TooDeep(PowerTower(Million), LongButDefaultDepth).Error);
    }

    [Fact]
    public void ParenthesesAddNoDepthSoDeepGroupingIsLimitedOnlyByLength()
    {
        // Grouping is not a node of the syntax tree: (((x))) is one level deep.
        var (value, gradient) = ValueAndGradient(Parentheses(40_000), 2.5, FormulaLimits.Default);
        Assert.Equal(2.5, value);
        Assert.Equal(1.0, gradient);

        Assert.Equal(FormulaError.TooLong, Assert.Throws<FormulaException>(() => Formula.Parse(Parentheses(Million))).Error);
        var parsed = Formula.Parse(Parentheses(Million), LongButDefaultDepth);
        Assert.Single(parsed.Nodes);
    }

    [Fact]
    public void MillionDeepFormulaWithDefaultLimitsIsTooLong()
    {
        foreach (var text in new[] { Negations(Million), Calls("abs", Million), PowerTower(Million) })
            Assert.Equal(FormulaError.TooLong, Assert.Throws<FormulaException>(() => Formula.Parse(text)).Error);
    }
}
