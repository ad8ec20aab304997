namespace Autograd.Expressions;

/// <summary>The built-in functions and constants of the formula language.</summary>
public static class Functions
{
    static readonly Dictionary<string, Op> Elementwise = new()
    {
        ["exp"] = Op.Exp, ["log"] = Op.Log, ["sqrt"] = Op.Sqrt, ["abs"] = Op.Abs,
        ["sin"] = Op.Sin, ["cos"] = Op.Cos, ["tan"] = Op.Tan, ["tanh"] = Op.Tanh,
        ["sigmoid"] = Op.Sigmoid, ["relu"] = Op.Relu, ["softplus"] = Op.Softplus, ["square"] = Op.Square,
    };

    /// <summary>Named constants; a parameter, constant or data column of the same name shadows them.</summary>
    public static readonly IReadOnlyDictionary<string, double> Constants = new Dictionary<string, double>
    {
        ["pi"] = Math.PI,
        ["e"] = Math.E,
    };

    public static IEnumerable<string> Names =>
        Elementwise.Keys.Concat(["pow", "min", "max", "sum", "mean", "dot"]).Order();

    public static bool IsFunction(string name) =>
        Elementwise.ContainsKey(name) || name is "pow" or "min" or "max" or "sum" or "mean" or "dot";

    /// <summary>The op a call records, given its argument count; null if the name is not a function.</summary>
    /// <exception cref="FormulaException">The function exists but takes another number of arguments.</exception>
    public static Op? Resolve(string name, int arguments, SourceSpan span)
    {
        if (Elementwise.TryGetValue(name, out var op)) return Expect(name, arguments, 1, "1 argument", span, op);
        return name switch
        {
            "pow" => Expect(name, arguments, 2, "2 arguments", span, Op.Pow),
            "dot" => Expect(name, arguments, 2, "2 arguments", span, Op.Dot),
            "sum" => Expect(name, arguments, 1, "1 argument", span, Op.Sum),
            "mean" => Expect(name, arguments, 1, "1 argument", span, Op.Mean),
            "min" when arguments is 1 or 2 => arguments == 1 ? Op.Min : Op.Minimum,
            "max" when arguments is 1 or 2 => arguments == 1 ? Op.Max : Op.Maximum,
            "min" or "max" => throw Arity(name, arguments, "1 argument (a vector) or 2 (elementwise)", span),
            _ => null,
        };
    }

    static Op Expect(string name, int arguments, int expected, string description, SourceSpan span, Op op) =>
        arguments == expected ? op : throw Arity(name, arguments, description, span);

    static FormulaException Arity(string name, int arguments, string description, SourceSpan span) =>
        new(FormulaError.WrongArity, $"'{name}' takes {description} but was given {arguments}", span, name, description);
}
