using System.Globalization;
using CsCheck;

namespace Autograd.Tests;

/// <summary>A formula's syntax tree as the tests build it, printed two ways.</summary>
internal abstract record Expr
{
    /// <summary>Binding strength as the parser documents it: atoms 5, ^ 4, unary minus 3, * / 2, + - 1.</summary>
    public abstract int Precedence { get; }

    /// <summary>Every operation in parentheses, exactly as <see cref="Autograd.Expressions.Formula.ToParenthesized"/> prints it.</summary>
    public abstract string Full();

    /// <summary>As few parentheses as the precedence rules allow: what a person would type.</summary>
    public abstract string Minimal();

    public sealed override string ToString() => Minimal();

    protected static string Wrap(Expr e, bool bare) => bare ? e.Minimal() : "(" + e.Minimal() + ")";
}

internal sealed record LeafExpr(string Text) : Expr
{
    public override int Precedence => 5;
    public override string Full() => Text;
    public override string Minimal() => Text;
}

internal sealed record NegateExpr(Expr Operand) : Expr
{
    public override int Precedence => 3;
    public override string Full() => "(-" + Operand.Full() + ")";
    public override string Minimal() => "-" + Wrap(Operand, Operand.Precedence >= 3);
}

/// <param name="Symbol">+ - * / or ^.</param>
/// <param name="StarStar">Spell ^ as **.</param>
internal sealed record BinaryExpr(string Symbol, Expr Left, Expr Right, bool StarStar = false) : Expr
{
    public override int Precedence => Symbol switch { "^" => 4, "*" or "/" => 2, _ => 1 };

    public override string Full() => $"({Left.Full()} {Symbol} {Right.Full()})";

    public override string Minimal()
    {
        var (leftBare, rightBare) = Symbol switch
        {
            // Right-associative, and -a^b is -(a^b): the base must be an atom; a ^ -b needs nothing.
            "^" => (Left.Precedence == 5, Right.Precedence >= 3),
            "*" or "/" => (Left.Precedence >= 2, Right.Precedence >= 3),
            _ => (true, Right.Precedence >= 2),
        };
        var symbol = StarStar ? "**" : Symbol;
        return $"{Wrap(Left, leftBare)} {symbol} {Wrap(Right, rightBare)}";
    }
}

internal sealed record CallExpr(string Name, params Expr[] Arguments) : Expr
{
    public override int Precedence => 5;
    public override string Full() => $"{Name}({string.Join(", ", Arguments.Select(a => a.Full()))})";
    public override string Minimal() => $"{Name}({string.Join(", ", Arguments.Select(a => a.Minimal()))})";
}

internal sealed record IndexExpr(Expr Vector, int Index) : Expr
{
    public override int Precedence => 5;
    public override string Full() => $"{Vector.Full()}[{Index}]";
    public override string Minimal() => $"{Wrap(Vector, Vector.Precedence == 5)}[{Index}]";
}

internal sealed record SliceExpr(Expr Vector, string Bounds) : Expr
{
    public override int Precedence => 5;
    public override string Full() => $"{Vector.Full()}[{Bounds}]";
    public override string Minimal() => $"{Wrap(Vector, Vector.Precedence == 5)}[{Bounds}]";
}

/// <summary>A generated expression and a bound on the magnitude of its value (elementwise for a vector).</summary>
internal sealed record Generated(Expr Expr, double Bound)
{
    public override string ToString() => Expr.Minimal();
}

/// <summary>
/// Random formulas over every function and operator, depth-limited, over scalar parameters x and y, a
/// vector parameter v and a data column w (both of length 3), all valued in [-2, 2]. Every argument is
/// kept in its function's safe domain by construction: log, sqrt, x^y and non-integer or negative
/// constant powers see a positive base (softplus, exp, 1 + square, sigmoid + 0.5), divisors are at
/// least 1 or a positive base, tan sees sin or tanh, and anything whose bound exceeds 3 passes through
/// sin before exp, square, products or powers, so values and slopes stay moderate.
/// </summary>
internal static class FormulaGenerator
{
    public const int VectorLength = 3;

    static LeafExpr Leaf(string text) => new(text);
    static CallExpr Call(string name, params Expr[] arguments) => new(name, arguments);
    static BinaryExpr Bin(string symbol, Expr left, Expr right, bool starStar = false) => new(symbol, left, right, starStar);

    static Generated Guard(Generated a, double limit = 3) =>
        a.Bound <= limit ? a : new Generated(Call("sin", a.Expr), 1);

    /// <summary>A positive expression built from <paramref name="a"/>, with bounds on its value.</summary>
    static (Expr Expr, double Low, double High) Positive(Generated a, int variant)
    {
        var g = Guard(a);
        return (variant % 4) switch
        {
            0 => (Call("softplus", g.Expr), Math.Log(1 + Math.Exp(-g.Bound)), g.Bound + Math.Log(2)),
            1 => (Call("exp", g.Expr), Math.Exp(-g.Bound), Math.Exp(g.Bound)),
            2 => (Bin("+", Leaf("1"), Call("square", g.Expr)), 1, 1 + g.Bound * g.Bound),
            _ => (Bin("+", Call("sigmoid", a.Expr), Leaf("0.5")), 0.5, 1.5),
        };
    }

    static Generated Unary(int k, Generated a)
    {
        int kind = k % 24, variant = k / 16 % 4, spelling = k / 64 % 3;
        switch (kind)
        {
            case 0: return new(new NegateExpr(a.Expr), a.Bound);
            case 1: { var g = Guard(a); return new(Call("exp", g.Expr), Math.Exp(g.Bound)); }
            case 2:
            {
                var (p, low, high) = Positive(a, variant);
                return new(Call("log", p), Math.Max(Math.Abs(Math.Log(low)), Math.Abs(Math.Log(high))));
            }
            case 3: { var (p, _, high) = Positive(a, variant); return new(Call("sqrt", p), Math.Sqrt(high)); }
            case 4: return new(Call("abs", a.Expr), a.Bound);
            case 5: return new(Call("sin", a.Expr), 1);
            case 6: return new(Call("cos", a.Expr), 1);
            case 7: return new(Call("tan", Call(variant % 2 == 0 ? "sin" : "tanh", a.Expr)), Math.Tan(1));
            case 8: return new(Call("tanh", a.Expr), 1);
            case 9: return new(Call("sigmoid", a.Expr), 1);
            case 10: return new(Call("relu", a.Expr), a.Bound);
            case 11: return new(Call("softplus", a.Expr), a.Bound + Math.Log(2));
            case 12: { var g = Guard(a); return new(Call("square", g.Expr), g.Bound * g.Bound); }
            case 13:
            {
                // An integer literal exponent on any base: x^2, x**3, pow(x, 2).
                var g = Guard(a);
                var c = variant % 2 == 0 ? 2 : 3;
                Expr power = spelling switch
                {
                    0 => Bin("^", g.Expr, Leaf(c.ToString(CultureInfo.InvariantCulture))),
                    1 => Bin("^", g.Expr, Leaf(c.ToString(CultureInfo.InvariantCulture)), starStar: true),
                    _ => Call("pow", g.Expr, Leaf(c.ToString(CultureInfo.InvariantCulture))),
                };
                return new(power, Math.Pow(g.Bound, c));
            }
            case 14:
            {
                // A fractional or negative literal exponent on a positive base.
                var (p, low, high) = Positive(a, variant);
                return spelling switch
                {
                    0 => new(Bin("^", p, Leaf("0.5")), Math.Sqrt(high)),
                    1 => new(Bin("^", p, new NegateExpr(Leaf("1"))), 1 / low),
                    _ => new(Bin("^", p, Leaf("1.5")), Math.Pow(high, 1.5)),
                };
            }
            // The functions of issue 13, each inside its domain and away from the ends of it.
            case 16: return new(Call("atan", a.Expr), Math.PI / 2);
            case 17: return new(Call("erf", a.Expr), 1);
            case 18: return new(Call("asinh", a.Expr), Math.Asinh(a.Bound));
            case 19:
            {
                var (p, low, high) = Positive(a, variant);
                return new(Call("log1p", p), Math.Max(Math.Abs(Math.Log(1 + low)), Math.Log(1 + high)));
            }
            case 20: { var g = Guard(a); return new(Call("expm1", g.Expr), Math.Exp(g.Bound)); }
            case 21:
            {
                var half = Bin("*", Leaf("0.5"), Call("sin", a.Expr));
                return spelling switch
                {
                    0 => new(Call("asin", half), Math.PI / 2),
                    1 => new(Call("acos", half), Math.PI),
                    _ => new(Call("atanh", half), Math.Atanh(0.5)),
                };
            }
            case 22: { var g = Guard(a); return new(Call(variant % 2 == 0 ? "sinh" : "cosh", g.Expr), Math.Cosh(g.Bound)); }
            case 23:
            {
                var (p, low, high) = Positive(a, variant);
                return spelling switch
                {
                    0 => new(Call("log2", p), Math.Max(Math.Abs(Math.Log2(low)), Math.Abs(Math.Log2(high)))),
                    1 => new(Call("log10", p), Math.Max(Math.Abs(Math.Log10(low)), Math.Abs(Math.Log10(high)))),
                    _ => new(Call("acosh", Bin("+", Leaf("1.5"), p)), Math.Acosh(1.5 + high)),
                };
            }
            default:
            {
                // A constant base to a variable power.
                var g = Guard(a);
                var (text, c) = spelling switch { 0 => ("2", 2.0), 1 => ("0.5", 0.5), _ => ("3", 3.0) };
                return new(Bin("^", Leaf(text), g.Expr), Math.Max(Math.Pow(c, g.Bound), Math.Pow(c, -g.Bound)));
            }
        }
    }

    static Generated Binary(int k, Generated l, Generated r)
    {
        int kind = k % 10, variant = k / 10 % 4;
        switch (kind)
        {
            case 0: return new(Bin("+", l.Expr, r.Expr), l.Bound + r.Bound);
            case 1: return new(Bin("-", l.Expr, r.Expr), l.Bound + r.Bound);
            case 2: { var (a, b) = (Guard(l), Guard(r)); return new(Bin("*", a.Expr, b.Expr), a.Bound * b.Bound); }
            case 3:
            {
                var a = Guard(l);
                if (variant < 2) return new(Bin("/", a.Expr, Bin("+", Leaf("1"), Call("square", r.Expr))), a.Bound);
                var (p, low, _) = Positive(r, variant);
                return new(Bin("/", a.Expr, p), a.Bound / low);
            }
            case 4: return new(Call("min", l.Expr, r.Expr), Math.Max(l.Bound, r.Bound));
            case 5: return new(Call("max", l.Expr, r.Expr), Math.Max(l.Bound, r.Bound));
            case 7: { var (p, _, _) = Positive(r, variant); return new(Call("atan2", l.Expr, p), Math.PI); }
            case 8: { var (p, _, high) = Positive(r, variant); return new(Call("hypot", l.Expr, p), l.Bound + high); }
            case 9: return new(Call("clamp", Bin("-", l.Expr, r.Expr), new NegateExpr(Leaf("1")), Leaf("1")), 1);
            default:
            {
                // Both base and exponent vary: a positive base to a power in [-1, 1].
                var (p, low, high) = Positive(l, variant);
                var e = Guard(r, 1);
                Expr power = variant % 2 == 0 ? Bin("^", p, e.Expr) : Call("pow", p, e.Expr);
                return new(power, Math.Max(Math.Pow(high, e.Bound), Math.Pow(low, -e.Bound)));
            }
        }
    }

    static Generated Reduce(int k, Generated a, Generated b)
    {
        int kind = k % 11, index = k / 11 % VectorLength + 1;
        switch (kind)
        {
            case 0: return new(Call("sum", a.Expr), VectorLength * a.Bound);
            case 1: return new(Call("mean", a.Expr), a.Bound);
            case 2: { var (g, h) = (Guard(a), Guard(b)); return new(Call("dot", g.Expr, h.Expr), VectorLength * g.Bound * h.Bound); }
            case 3: return new(Call("min", a.Expr), a.Bound);
            case 4: return new(Call("max", a.Expr), a.Bound);
            case 5: return new(new IndexExpr(a.Expr, index), a.Bound);
            case 6: { var g = Guard(a); return new(Call("prod", g.Expr), Math.Pow(g.Bound, VectorLength)); }
            case 7: return new(Call("logsumexp", a.Expr), a.Bound + Math.Log(VectorLength));
            case 8: return new(new IndexExpr(Call("cumsum", a.Expr), index), VectorLength * a.Bound);
            case 9: return new(Call("sum", Call("diff", a.Expr)), 2 * a.Bound * (VectorLength - 1));
            default:
            {
                var bounds = (index % 3) switch { 0 => "2:end", 1 => "1:end-1", _ => "2:3" };
                return new(Call("sum", new SliceExpr(a.Expr, bounds)), VectorLength * a.Bound);
            }
        }
    }

    static Gen<Generated> Constant(params Generated[] choices) => Gen.OneOf<Generated>(choices);

    static readonly Gen<int> Choice = Gen.Int[0, 1023];

    static (Gen<Generated> Scalar, Gen<Generated> Vector) Build(int depth)
    {
        var scalar = Gen.Frequency<Generated>(
            (6, Constant(new(Leaf("x"), 2), new(Leaf("y"), 2))),
            (3, Constant(new(new IndexExpr(Leaf("v"), 1), 2), new(new IndexExpr(Leaf("v"), 2), 2),
                new(new IndexExpr(Leaf("v"), 3), 2), new(new IndexExpr(Leaf("w"), 2), 2))),
            (2, Constant(new(Leaf("0.5"), 0.5), new(Leaf("1.5"), 1.5), new(Leaf("2"), 2), new(Leaf("3"), 3), new(Leaf("0.25"), 0.25))));
        var vector = Constant(new(Leaf("v"), 2), new(Leaf("v"), 2), new(Leaf("w"), 2));

        for (var d = 1; d <= depth; d++)
        {
            var (s, v) = (scalar, vector);
            scalar = Gen.Frequency<Generated>(
                (2, s),
                (4, Gen.Select(Choice, s, Unary)),
                (4, Gen.Select(Choice, s, s, Binary)),
                (3, Gen.Select(Choice, v, v, Reduce)));
            vector = Gen.Frequency<Generated>(
                (2, v),
                (3, Gen.Select(Choice, v, Unary)),
                (3, Gen.Select(Choice, v, v, s, (k, a, b, c) => (k / 512) switch
                {
                    0 => Binary(k, a, b),
                    _ => k % 2 == 0 ? Binary(k, a, c) : Binary(k, c, a),
                })));
        }
        return (scalar, vector);
    }

    /// <summary>Scalar formulas up to four operations deep.</summary>
    public static readonly Gen<Generated> Scalar = Build(4).Scalar;
}
