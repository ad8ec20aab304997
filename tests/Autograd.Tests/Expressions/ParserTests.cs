using Autograd.Expressions;

namespace Autograd.Tests.Expressions;

/// <summary>Precedence and associativity as the parser prints them, and every kind of formula error with its message and column.</summary>
public class ParserTests
{
    [Theory]
    [InlineData("a ^ b ^ c", "(a ^ (b ^ c))")]
    [InlineData("-x^2", "(-(x ^ 2))")]
    [InlineData("2^3^2", "(2 ^ (3 ^ 2))")]
    [InlineData("-x*y", "((-x) * y)")]
    [InlineData("2^-x^2", "(2 ^ (-(x ^ 2)))")]
    [InlineData("a ^ -b", "(a ^ (-b))")]
    [InlineData("a * -b ^ c", "(a * (-(b ^ c)))")]
    [InlineData("-a ^ b * c", "((-(a ^ b)) * c)")]
    [InlineData("log(x)^3", "(log(x) ^ 3)")]
    [InlineData("exp(-x)^2", "(exp((-x)) ^ 2)")]
    [InlineData("x**2", "(x ^ 2)")]
    [InlineData("2 * x ** 3 ** 2", "(2 * (x ^ (3 ^ 2)))")]
    [InlineData("a - b - c", "((a - b) - c)")]
    [InlineData("a / b / c", "((a / b) / c)")]
    [InlineData("a - b + c", "((a - b) + c)")]
    [InlineData("a / b * c", "((a / b) * c)")]
    [InlineData("a + b * c", "(a + (b * c))")]
    [InlineData("a * b + c", "((a * b) + c)")]
    [InlineData("a^b*c", "((a ^ b) * c)")]
    [InlineData("a*b^c", "(a * (b ^ c))")]
    [InlineData("(a + b) * c", "((a + b) * c)")]
    [InlineData("-(x + y)", "(-(x + y))")]
    [InlineData("--x", "(-(-x))")]
    [InlineData("- - - x", "(-(-(-x)))")]
    [InlineData("x - -y", "(x - (-y))")]
    [InlineData("+x", "x")]
    [InlineData("((x))", "x")]
    [InlineData("  x  ", "x")]
    [InlineData("x[1] + x[2]", "(x[1] + x[2])")]
    [InlineData("-x[1]", "(-x[1])")]
    [InlineData("x[1]^2", "(x[1] ^ 2)")]
    [InlineData("(x)[1]", "x[1]")]
    [InlineData("(a + b)[2]", "(a + b)[2]")]
    [InlineData("max(a, b)", "max(a, b)")]
    [InlineData("pow(a+b, 2)", "pow((a + b), 2)")]
    [InlineData("dot(v,w)/2", "(dot(v, w) / 2)")]
    [InlineData("f()", "f()")]
    [InlineData("1e-3*x", "(1e-3 * x)")]
    [InlineData(".5*x", "(.5 * x)")]
    [InlineData("1.5E+2 + x_1", "(1.5E+2 + x_1)")]
    [InlineData("e^x", "(e ^ x)")]
    [InlineData("-2^2", "(-(2 ^ 2))")]
    public void ParserPrintsEveryOperationInParentheses(string text, string parenthesized)
    {
        var formula = Formula.Parse(text);
        Assert.Equal(parenthesized, formula.ToParenthesized());
        Assert.Equal(text, formula.Text);
        Assert.Equal(text, formula.ToString());
        // The printed form reads back as itself.
        Assert.Equal(parenthesized, Formula.Parse(parenthesized).ToParenthesized());
    }

    [Theory]
    [InlineData("2^3^2", 512)]
    [InlineData("(2^3)^2", 64)]
    [InlineData("-2^2", -4)]
    [InlineData("(-2)^2", 4)]
    [InlineData("2^-1", 0.5)]
    [InlineData("2**3**2", 512)]
    [InlineData("-x^2", -9)]
    [InlineData("-x*2", -6)]
    [InlineData("2^-x", 0.125)]
    [InlineData("10 - 4 - 3", 3)]
    [InlineData("64 / 4 / 2", 8)]
    [InlineData("1e-3*x", 0.003)]
    [InlineData(".5*x", 1.5)]
    [InlineData("--x", 3)]
    public void EvaluatedFormulaFollowsThePrecedenceRules(string text, double expected)
    {
        var compiled = CompiledFormula<double>.Compile(Formula.Parse(text), [InputSpec.Scalar("x", InputKind.Constant)]);
        compiled.SetInput(0, [3.0]);
        Assert.Equal(expected, compiled.Evaluate(), 14);
    }

    // ----- Errors found while parsing -----

    const string OperandExpected = "a number, a name, '(' or '-'";
    const string OperatorExpected = "an operator (+ - * / ^ %*%), '[', ',', ')' or the end of the formula";

    [Theory]
    [InlineData("x +", 4, "Expected a number, a name, '(' or '-' but found the end of the formula (column 4)")]
    [InlineData("x * * y", 5, "Expected a number, a name, '(' or '-' but found '*' (column 5)")]
    [InlineData("(x + 1", 7, "Expected ')' to close the '(' at column 1 (column 7)")]
    [InlineData("exp(x + 1", 10, "Expected ')' to close the '(' at column 4 (column 10)")]
    [InlineData("x + 1)", 6, "Found ')' without a matching '(' (column 6)")]
    [InlineData("f(,)", 3, "Expected a number, a name, '(' or '-' but found ',' (column 3)")]
    [InlineData("max(a, b, )", 11, "Expected a number, a name, '(' or '-' but found ')' (column 11)")]
    [InlineData("(x, y)", 3, "Found ',' inside parentheses that are not a function call's (column 3)")]
    [InlineData("x, y", 2, "Found ',' outside the arguments of a function call (column 2)")]
    [InlineData("x[0]", 3, "Expected a whole number of at least 1 as the index but found '0' (column 3)")]
    [InlineData("x[1.5]", 3, "Expected a whole number of at least 1 as the index but found '1.5' (columns 3-5)")]
    [InlineData("x[]", 3, "Expected a whole number of at least 1 as the index but found ']' (column 3)")]
    [InlineData("x[1", 4, "Expected ']' after the index but found the end of the formula (column 4)")]
    [InlineData("3x", 2, "Expected an operator (+ - * / ^ %*%), '[', ',', ')' or the end of the formula but found 'x' (column 2)")]
    [InlineData("2 (x)", 3, "Expected an operator (+ - * / ^ %*%), '[', ',', ')' or the end of the formula but found '(' (column 3)")]
    [InlineData("x $ y", 3, "Unexpected character '$' (column 3)")]
    [InlineData("x + 1e999", 5, "The number '1e999' is not a finite double (columns 5-9)")]
    [InlineData("", 1, "The formula is empty (column 1)")]
    [InlineData("   ", 1, "The formula is empty (column 1)")]
    public void SyntaxErrorNamesTheColumn(string text, int column, string message)
    {
        var error = Assert.Throws<FormulaException>(() => Formula.Parse(text));
        Assert.Equal(FormulaError.Syntax, error.Error);
        Assert.Equal(message, error.Message);
        Assert.Equal(column, error.Span.Column);
        Assert.EndsWith($" ({error.Span})", error.Message);
        Assert.Equal(error.Message, $"{error.Reason} ({error.Span})");
    }

    [Fact]
    public void SyntaxErrorCarriesTheOffendingTokenAndWhatWasExpected()
    {
        var missingOperand = Assert.Throws<FormulaException>(() => Formula.Parse("x * * y"));
        Assert.Equal("*", missingOperand.Token);
        Assert.Equal(OperandExpected, missingOperand.Expected);
        Assert.Equal(new SourceSpan(5, 1), missingOperand.Span);

        var implicitProduct = Assert.Throws<FormulaException>(() => Formula.Parse("3x"));
        Assert.Equal("x", implicitProduct.Token);
        Assert.Equal(OperatorExpected, implicitProduct.Expected);

        var badIndex = Assert.Throws<FormulaException>(() => Formula.Parse("x[1.5]"));
        Assert.Equal("1.5", badIndex.Token);
        Assert.Equal(new SourceSpan(3, 3), badIndex.Span);

        var character = Assert.Throws<FormulaException>(() => Formula.Parse("x $ y"));
        Assert.Equal("$", character.Token);
    }

    // ----- Errors found while binding names and recording -----

    static readonly InputSpec[] Inputs =
    [
        InputSpec.Scalar("x", InputKind.Parameter),
        InputSpec.Scalar("y", InputKind.Parameter),
        InputSpec.Vector("p", InputKind.Parameter, 2),
        InputSpec.Vector("d", InputKind.Data, 3),
        InputSpec.Vector("w", InputKind.Data, 2),
    ];

    [Theory]
    [InlineData("x + q", FormulaError.UnknownName, 5,
        "Unknown name 'q': it is not a parameter, constant or data column (given: x, y, p, d, w) nor pi or e (column 5)")]
    [InlineData("x * exp", FormulaError.UnknownName, 5,
        "Unknown name 'exp': it is not a parameter, constant or data column (given: x, y, p, d, w) nor pi or e; 'exp' is a function: call it as exp(...) (columns 5-7)")]
    [InlineData("1 + foo(x)", FormulaError.UnknownFunction, 5,
        "Unknown function 'foo'; the functions are abs, acos, acosh, asin, asinh, atan, atan2, atanh, cbind, clamp, colMeans, colSums, cos, cosh, cumsum, diff, dot, erf, exp, expm1, hypot, length, log, log10, log1p, log2, logsumexp, max, mean, min, pow, prod, relu, rowMeans, rowSums, seq_along, sigmoid, sin, sinh, softplus, sqrt, square, sum, t, tan, tanh (columns 5-7)")]
    [InlineData("atan3(y, x)", FormulaError.UnknownFunction, 1,
        "Unknown function 'atan3' (did you mean atan2?); the functions are abs, acos, acosh, asin, asinh, atan, atan2, atanh, cbind, clamp, colMeans, colSums, cos, cosh, cumsum, diff, dot, erf, exp, expm1, hypot, length, log, log10, log1p, log2, logsumexp, max, mean, min, pow, prod, relu, rowMeans, rowSums, seq_along, sigmoid, sin, sinh, softplus, sqrt, square, sum, t, tan, tanh (columns 1-5)")]
    [InlineData("x + Sqrt(y)", FormulaError.UnknownFunction, 5,
        "Unknown function 'Sqrt' (did you mean sqrt?); the functions are abs, acos, acosh, asin, asinh, atan, atan2, atanh, cbind, clamp, colMeans, colSums, cos, cosh, cumsum, diff, dot, erf, exp, expm1, hypot, length, log, log10, log1p, log2, logsumexp, max, mean, min, pow, prod, relu, rowMeans, rowSums, seq_along, sigmoid, sin, sinh, softplus, sqrt, square, sum, t, tan, tanh (columns 5-8)")]
    [InlineData("clamp(x, 1)", FormulaError.WrongArity, 1, "'clamp' takes 3 arguments but was given 2 (columns 1-5)")]
    [InlineData("atan2(x)", FormulaError.WrongArity, 1, "'atan2' takes 2 arguments but was given 1 (columns 1-5)")]
    [InlineData("sum(diff(x))", FormulaError.ShapeMismatch, 5, "diff needs a vector of at least 2 elements, not a scalar (columns 5-11)")]
    [InlineData("hypot(d, p)", FormulaError.ShapeMismatch, 1, "hypot of vectors of different lengths (3 and 2); only a scalar broadcasts (columns 1-11)")]
    [InlineData("exp(x, y)", FormulaError.WrongArity, 1, "'exp' takes 1 argument but was given 2 (columns 1-3)")]
    [InlineData("x + exp()", FormulaError.WrongArity, 5, "'exp' takes 1 argument but was given 0 (columns 5-7)")]
    [InlineData("pow(x)", FormulaError.WrongArity, 1, "'pow' takes 2 arguments but was given 1 (columns 1-3)")]
    [InlineData("min(x, y, x)", FormulaError.WrongArity, 1, "'min' takes 1 argument (a vector) or 2 (elementwise) but was given 3 (columns 1-3)")]
    [InlineData("p[3]", FormulaError.IndexOutOfRange, 1, "Index 3 is out of range: 'p' has 2 elements (indices start at 1) (columns 1-4)")]
    [InlineData("y + x[1]", FormulaError.IndexOutOfRange, 5, "Index 1 is out of range: 'x' is a scalar (indices start at 1) (columns 5-8)")]
    [InlineData("sum(d + w)", FormulaError.ShapeMismatch, 5, "add of vectors of different lengths (3 and 2); only a scalar broadcasts (columns 5-9)")]
    [InlineData("dot(d, p)", FormulaError.ShapeMismatch, 1, "dot needs two vectors of the same length, not a vector of 3 and a vector of 2 (columns 1-9)")]
    [InlineData("p * 2", FormulaError.NotScalar, 1, "The formula gives a vector of 2 elements, but a loss must be a single number: wrap it in sum() or mean() (columns 1-5)")]
    public void BindingErrorNamesTheColumn(string text, FormulaError kind, int column, string message)
    {
        var formula = Formula.Parse(text);
        var error = Assert.Throws<FormulaException>(() => CompiledFormula<double>.Compile(formula, Inputs));
        Assert.Equal(kind, error.Error);
        Assert.Equal(message, error.Message);
        Assert.Equal(column, error.Span.Column);
        Assert.Equal(error.Message, $"{error.Reason} ({error.Span})");
    }

    [Theory]
    [InlineData("x * pow", 5,
        "Unknown name 'pow': it is not a parameter, constant or data column (given: x, y, p, d, w) nor pi or e; 'pow' is a function: call it as pow(...) (columns 5-7)")]
    [InlineData("dot + x", 1,
        "Unknown name 'dot': it is not a parameter, constant or data column (given: x, y, p, d, w) nor pi or e; 'dot' is a function: call it as dot(...) (columns 1-3)")]
    public void BareNameOfATwoArgumentFunctionIsAnUnknownNameWithAHint(string text, int column, string message)
    {
        var error = Assert.Throws<FormulaException>(() => CompiledFormula<double>.Compile(Formula.Parse(text), Inputs));
        Assert.Equal(FormulaError.UnknownName, error.Error);
        Assert.Equal(message, error.Message);
        Assert.Equal(column, error.Span.Column);
    }

    [Fact]
    public void UnknownNameCarriesTheNameAsItsToken()
    {
        var error = Assert.Throws<FormulaException>(() => CompiledFormula<double>.Compile(Formula.Parse("x + q"), Inputs));
        Assert.Equal("q", error.Token);
        Assert.Equal(new SourceSpan(5, 1), error.Span);
    }

    [Fact]
    public void InputNamedLikeAConstantShadowsIt()
    {
        var compiled = CompiledFormula<double>.Compile(Formula.Parse("e * pi"), [InputSpec.Scalar("e", InputKind.Constant)]);
        compiled.SetInput(0, [2.0]);
        Assert.Equal(2 * Math.PI, compiled.Evaluate(), 14);
    }

    // ----- Limits -----

    [Fact]
    public void FormulaLongerThanTheLimitIsTooLong()
    {
        var error = Assert.Throws<FormulaException>(() => Formula.Parse(new string('x', 11), new FormulaLimits(MaxLength: 10)));
        Assert.Equal(FormulaError.TooLong, error.Error);
        Assert.Equal("The formula has 11 characters; the limit is 10 (column 11)", error.Message);
        Assert.Equal(11, error.Span.Column);

        var text = "x" + string.Concat(Enumerable.Repeat("+x", 50_000));
        var byDefault = Assert.Throws<FormulaException>(() => Formula.Parse(text));
        Assert.Equal(FormulaError.TooLong, byDefault.Error);
        Assert.Equal("The formula has 100,001 characters; the limit is 100,000 (column 100001)", byDefault.Message);
        Assert.Equal(100_001, byDefault.Span.Column);
    }

    [Fact]
    public void FormulaWithMoreNodesThanTheLimitIsTooLarge()
    {
        var error = Assert.Throws<FormulaException>(() => Formula.Parse("x+x+x+x", new FormulaLimits(MaxNodes: 5)));
        Assert.Equal(FormulaError.TooLarge, error.Error);
        Assert.Equal("The formula has more than 5 nodes (numbers, names, operators, calls) (column 7)", error.Message);
        Assert.Equal(7, error.Span.Column);

        // 25,001 names and 25,000 operators exceed the default 50,000 nodes; nest shallowly so depth is not the problem.
        var text = string.Join("+", Enumerable.Repeat("(x+x+x+x+x)", 5_000)) + "+x";
        var byDefault = Assert.Throws<FormulaException>(() => Formula.Parse(text));
        Assert.Equal(FormulaError.TooLarge, byDefault.Error);
        Assert.StartsWith("The formula has more than 50,000 nodes", byDefault.Message);
    }

    [Fact]
    public void FormulaNestedDeeperThanTheLimitIsTooDeep()
    {
        var error = Assert.Throws<FormulaException>(() => Formula.Parse("x+x+x+x", new FormulaLimits(MaxDepth: 3)));
        Assert.Equal(FormulaError.TooDeep, error.Error);
        Assert.Equal("The formula nests deeper than 3 levels (column 6)", error.Message);
        Assert.Equal(6, error.Span.Column);

        Assert.Equal("(x + (x + x))", Formula.Parse("x+(x+x)", new FormulaLimits(MaxDepth: 3)).ToParenthesized());
        Assert.Equal("(-(-x))", Formula.Parse("--x", new FormulaLimits(MaxDepth: 3)).ToParenthesized());
        Assert.Equal(FormulaError.TooDeep,
            Assert.Throws<FormulaException>(() => Formula.Parse("---x", new FormulaLimits(MaxDepth: 3))).Error);
    }
}
