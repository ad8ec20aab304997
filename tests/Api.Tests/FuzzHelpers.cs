using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Autograd.Api.Tests;

/// <summary>
/// A JSON value written by hand, so that a body can hold what no serializer writes: a key twice, 1e309,
/// a 400-digit number, a lone surrogate escape.
/// </summary>
internal abstract class FuzzJson
{
    static readonly JsonSerializerOptions Relaxed = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public abstract void Write(StringBuilder text);

    public override string ToString()
    {
        var text = new StringBuilder();
        Write(text);
        return text.ToString();
    }

    public static FuzzJson Raw(string text) => new Literal(text);
    public static FuzzJson Str(string value) => new Literal(Quote(value));
    public static FuzzJson Num(double value) => new Literal(value.ToString("R", CultureInfo.InvariantCulture));
    public static FuzzJson Bool(bool value) => new Literal(value ? "true" : "false");
    public static readonly FuzzJson Null = new Literal("null");
    public static Arr Array(IEnumerable<FuzzJson> items) => new([.. items]);
    public static Obj Object() => new();

    public static string Quote(string value) => JsonSerializer.Serialize(value, Relaxed);

    sealed class Literal(string text) : FuzzJson
    {
        public override void Write(StringBuilder output) => output.Append(text);
    }

    public sealed class Arr(List<FuzzJson> items) : FuzzJson
    {
        public List<FuzzJson> Items { get; } = items;

        public override void Write(StringBuilder text)
        {
            text.Append('[');
            for (var i = 0; i < Items.Count; i++)
            {
                if (i > 0) text.Append(',');
                Items[i].Write(text);
            }
            text.Append(']');
        }
    }

    /// <summary>An object as a list of fields, so that a key can appear twice.</summary>
    public sealed class Obj : FuzzJson
    {
        public List<(string Key, FuzzJson Value)> Fields { get; } = [];

        public FuzzJson? this[string key]
        {
            get => Fields.FirstOrDefault(f => f.Key == key).Value;
            set
            {
                var i = Fields.FindIndex(f => f.Key == key);
                if (value is null)
                {
                    if (i >= 0) Fields.RemoveAt(i);
                }
                else if (i >= 0) Fields[i] = (key, value);
                else Fields.Add((key, value));
            }
        }

        public override void Write(StringBuilder text)
        {
            text.Append('{');
            for (var i = 0; i < Fields.Count; i++)
            {
                if (i > 0) text.Append(',');
                text.Append(Quote(Fields[i].Key)).Append(':');
                Fields[i].Value.Write(text);
            }
            text.Append('}');
        }
    }
}

/// <summary>Seeded choices: every case is a <see cref="Random"/> made from its own seed, so any one case can be replayed.</summary>
internal static class Chance
{
    public static bool Odds(this Random random, double p) => random.NextDouble() < p;

    public static T Pick<T>(this Random random, IReadOnlyList<T> items) => items[random.Next(items.Count)];

    public static string Clip(string text, int length = 500) =>
        text.Length <= length ? text : text[..length] + $"… ({text.Length:N0} chars)";
}

/// <summary>Numbers and values for JSON fields: mostly ordinary, sometimes at the edges of double, float and int, sometimes the wrong type.</summary>
internal static class FuzzValues
{
    public static readonly string[] OddNumbers =
    [
        "0", "-0", "-0.0", "1", "-1", "0.5", "1e300", "-1e300", "1e308", "-1e308", "1.7976931348623157e308", "-1.7976931348623157e308",
        "1e309", "-1e309", "1e-320", "4.9e-324", "1e-400", "3.4028235e38", "3.5e38", "-3.5e38", "1e39", "1e-46",
        "2147483647", "2147483648", "-2147483649", "9223372036854775808", "1E2", "1e+2", "123456789012345678901234567890.5",
        "1" + new string('0', 400), "0." + new string('0', 400) + "1", "1" + new string('9', 30) + "e-10",
    ];

    /// <summary>Not JSON: each should be a malformed-json 400.</summary>
    public static readonly string[] BrokenNumbers = ["01", "+1", ".5", "1.", "NaN", "Infinity", "-Infinity", "0x10", "1e", "--1", "1_000", "١"];

    public static readonly string[] OddInts =
        ["-1", "0", "1", "2147483647", "2147483648", "-2147483648", "-2147483649", "1.5", "1e3", "1e309", "\"5\"", "true", "null", "[]", "1.0"];

    public static string Ordinary(Random r) => r.Next(4) switch
    {
        0 => r.Next(-5, 6).ToString(CultureInfo.InvariantCulture),
        1 => (r.NextDouble() * 4 - 2).ToString("R", CultureInfo.InvariantCulture),
        2 => (r.NextDouble() * 0.1).ToString("R", CultureInfo.InvariantCulture),
        _ => ((r.NextDouble() - 0.5) * Math.Pow(10, r.Next(-10, 12))).ToString("R", CultureInfo.InvariantCulture),
    };

    public static FuzzJson Number(Random r, double odd = 0.2, double wrong = 0.03)
    {
        var roll = r.NextDouble();
        if (roll < wrong) return r.Odds(0.15) ? FuzzJson.Raw(r.Pick(BrokenNumbers)) : WrongType(r);
        return FuzzJson.Raw(roll < wrong + odd ? r.Pick(OddNumbers) : Ordinary(r));
    }

    public static FuzzJson Int(Random r, IReadOnlyList<int> ordinary, double odd = 0.1) =>
        r.Odds(odd) ? FuzzJson.Raw(r.Pick(OddInts)) : FuzzJson.Raw(r.Pick(ordinary).ToString(CultureInfo.InvariantCulture));

    public static FuzzJson Bool(Random r, double wrong = 0.1) =>
        r.Odds(wrong) ? FuzzJson.Raw(r.Pick(new[] { "0", "1", "\"true\"", "null", "[]", "{}", "\"yes\"" })) : FuzzJson.Bool(r.Odds(0.5));

    /// <summary>Something of the wrong type for nearly any field.</summary>
    public static FuzzJson WrongType(Random r) => FuzzJson.Raw(r.Pick(new[]
    {
        "null", "true", "false", "\"1\"", "\"1e3\"", "\"abc\"", "\"\"", "[]", "[[]]", "[[1,2],[3]]", "{}", "{\"a\":1}", "[1,\"2\"]", "[null]",
        "[true]", "\"\\ud800\"", "\"\\u0000\"", "0", "1", "-1", "1e309", "[1e309]", "\"NaN\"", "\"Infinity\"", "[" + new string('[', 100) + new string(']', 100) + "]",
    }));

    public static FuzzJson Enum(Random r, string[] names, double odd = 0.1) => r.Odds(odd)
        ? FuzzJson.Raw(r.Pick(new[] { "0", "1", "2", "-1", "null", "\"\"", "\"FLOAT32\"", "\"Float64\"", "\"float16\"", "\"float32 \"", "[\"float32\"]", "true", "\"0\"" }))
        : FuzzJson.Str(r.Pick(names));

    public static readonly string[] UnknownFields =
        ["expresion", "Expression", "EXPRESSION", "parameter", "params", "$type", "", "__proto__", "extra", "constant", "resolutions",
         "maxIteration", "learning_rate", "lr", "x ", "é", "\u0000", "a.b", "optimizer.type"];

    /// <summary>
    /// Breaks a valid body a little: a field of the wrong type, an unknown field, a key twice, a field missing,
    /// or the same inside a nested object.
    /// </summary>
    public static void Mutate(Random r, FuzzJson.Obj body, int times)
    {
        for (var t = 0; t < times; t++)
        {
            var target = body;
            var nested = body.Fields.Where(f => f.Value is FuzzJson.Obj).Select(f => (FuzzJson.Obj)f.Value).ToList();
            if (nested.Count > 0 && r.Odds(0.35)) target = r.Pick(nested);
            var key = target.Fields.Count > 0 ? target.Fields[r.Next(target.Fields.Count)].Key : "x";
            switch (r.Next(6))
            {
                case 0: target[key] = WrongType(r); break;
                case 1: target.Fields.Add((r.Pick(UnknownFields), Number(r))); break;
                case 2: target.Fields.Add((key, r.Odds(0.5) ? target[key] ?? FuzzJson.Null : WrongType(r))); break;
                case 3: target[key] = null; break;
                case 4: target[key] = FuzzJson.Null; break;
                default: target.Fields.Add((key.ToUpperInvariant(), target[key] ?? FuzzJson.Null)); break;
            }
        }
    }

    /// <summary>The whole body broken: truncated, padded, not an object, nested past any depth limit.</summary>
    public static string BreakBody(Random r, string json) => r.Next(12) switch
    {
        0 => json[..r.Next(json.Length)],
        1 => json + r.Pick(new[] { "}", ",", " x", "\0", "{}", "\n\n", " // c" }),
        2 => r.Pick(new[] { "", " ", "null", "[]", "\"\"", "0", "true", "{", "}", "[", "{}" }),
        3 => "\uFEFF" + json,
        4 => "/* c */" + json,
        5 => json.Replace("\"", "'"),
        6 => json.Length > 2 ? json[..^1] + ",}" : json,
        7 => new string('[', 2000) + new string(']', 2000),
        8 => "{\"a\":" + new string('[', 70) + "1" + new string(']', 70) + "}",
        9 => json.Replace(":", ": NaN, \"x\":"),
        10 => json.Replace("1", "1e999"),
        _ => "[" + json + "]",
    };
}

/// <summary>The names a case's body binds: parameters, constants and data columns, with their shapes.</summary>
internal sealed class Vocabulary
{
    public List<(string Name, int? Length)> Parameters { get; } = [];
    public List<(string Name, int? Length)> Constants { get; } = [];
    public List<string> Data { get; } = [];
    public int Rows { get; private set; }

    /// <summary>Whether this case's numbers are often at the edges (1e309, 3.5e38, -0): most cases keep them ordinary so that they get past binding.</summary>
    public bool Edgy { get; private set; }

    static readonly string[] CommonNames = ["x", "a", "b", "w", "x1", "x2", "b0", "b1", "theta", "_", "exp", "pi", "e", "sum", "p"];
    static readonly string[] OddNames = ["", "1x", "x y", "x\n", "ß", "π", "x[1]", "x-1", "\u200bx", new string('n', 300), "𝑥", "null", "X"];

    public IEnumerable<(string Name, int? Length)> All =>
        Parameters.Concat(Constants).Concat(Data.Select(d => (d, (int?)Rows)));

    public static Vocabulary Random(Random r, bool withData, int minParameters = 1)
    {
        var v = new Vocabulary { Rows = r.Odds(0.05) ? r.Pick(new[] { 0, 1, 2, 1000 }) : r.Next(1, 30), Edgy = r.Odds(0.3) };
        var count = r.Odds(0.03) ? 0 : r.Next(minParameters, 4);
        // Names are distinct within a case, mostly: a name twice is a 400 that hides everything behind it.
        var taken = new HashSet<string>();
        string Fresh() => Enumerable.Range(0, 5).Select(_ => Name(r)).FirstOrDefault(n => taken.Add(n) || r.Odds(0.05)) ?? "q" + taken.Count;
        for (var i = 0; i < count; i++) v.Parameters.Add((Fresh(), r.Odds(0.55) ? null : Length(r)));
        for (var i = r.Next(3); i > 0; i--) v.Constants.Add((Fresh(), r.Odds(0.7) ? null : Length(r)));
        if (withData)
            for (var i = r.Next(1, 3); i > 0; i--) v.Data.Add(r.Odds(0.7) && r.Pick(new[] { "d", "y", "t", "z" }) is var column && taken.Add(column) ? column : Fresh());
        return v;
    }

    static string Name(Random r) => r.Odds(0.02) ? r.Pick(OddNames) : r.Pick(CommonNames);

    static int Length(Random r) => r.Odds(0.05) ? r.Pick(new[] { 0, 50, 201 }) : r.Next(1, 5);

    public FuzzJson.Obj ParametersJson(Random r) => Shaped(r, Parameters);

    public FuzzJson.Obj ConstantsJson(Random r) => Shaped(r, Constants);

    public FuzzJson.Obj DataJson(Random r)
    {
        var data = FuzzJson.Object();
        foreach (var name in Data)
        {
            var rows = r.Odds(0.04) ? r.Next(0, Rows + 2) : Rows;
            data.Fields.Add((name, FuzzJson.Array(Enumerable.Range(0, rows).Select(_ => FuzzValues.Number(r, odd: Edgy ? 0.05 : 0.002, wrong: Edgy ? 0.005 : 0)))));
        }
        return data;
    }

    FuzzJson.Obj Shaped(Random r, List<(string Name, int? Length)> names)
    {
        var obj = FuzzJson.Object();
        FuzzJson Number() => FuzzValues.Number(r, odd: Edgy ? 0.25 : 0.01, wrong: Edgy ? 0.03 : 0);
        foreach (var (name, length) in names)
            obj.Fields.Add((name, length is { } n ? FuzzJson.Array(Enumerable.Range(0, n).Select(_ => Number())) : Number()));
        return obj;
    }
}

/// <summary>
/// Formulas from the grammar of the README, valid and subtly broken: numbers at the edges of double, names bound and
/// unbound, every function with right and wrong arity, indexes in and out of range, deep and long formulas.
/// </summary>
internal static class FuzzFormulas
{
    static readonly string[] Unary = ["exp", "log", "sqrt", "abs", "sin", "cos", "tan", "tanh", "sigmoid", "relu", "softplus", "square"];
    static readonly string[] Binary = ["pow", "min", "max", "dot"];
    static readonly string[] Reduce = ["sum", "mean", "min", "max"];
    static readonly string[] Unknown = ["foo", "EXP", "Exp", "ln", "log10", "grad", "x", "e", "pi", "exp_", "élan", "sum "];
    static readonly string[] Operators = ["+", "-", "*", "/", "^", "**"];
    static readonly string[] BadOperators = ["//", "%", "&&", "^^", "***", "=", "==", "+-+", "·", "×", "−", "!"];
    static readonly string[] Hazards = ["1/0", "0/0", "log(0)", "log(-1)", "sqrt(-1)", "0^-1", "(-8)^(1/3)", "exp(1000)", "exp(710)", "tan(pi/2)", "1e308*10", "-exp(1000)", "0^0", "relu(-0)", "abs(0)"];
    static readonly string[] Numbers = ["0", "1", "2", "0.5", ".5", "1e-3", "3.14159", "10", "1E2", "2.5e+1", "100"];
    static readonly string[] OddNumbers =
        ["1e309", "1e308", "1.7976931348623157e308", "1e-400", "4.9e-324", "0.0", "00", "007", "1e", "1e+", "1..2", "1.2.3", "1e3e3", "0x1F", "1_000",
         "١٢", "Infinity", "NaN", "inf", "1e-", ".", "5.", "1e99999999999", "9".PadRight(400, '9'), "0." + new string('0', 350) + "1", "１"];
    static readonly string[] Spaces = [" ", "", "", "", "  ", "\t", "\n", "\u00A0", "\u3000", "\r\n"];

    public static string Formula(Random r, Vocabulary v)
    {
        var roll = r.NextDouble();
        string text;
        if (roll < 0.03) text = Deep(r, v);
        else if (roll < 0.05) text = Long(r, v);
        else if (roll < 0.35) text = Scalar(r, v);
        else
        {
            text = Expression(r, v, r.Next(1, 6));
            if (r.Odds(0.4)) text = $"{r.Pick(Reduce)}({text})";
        }
        if (r.Odds(0.25)) text = Break(r, text);
        return text;
    }

    /// <summary>A scalar loss over every parameter (and data column), through random functions, so that most requests get past the parser.</summary>
    public static string Scalar(Random r, Vocabulary v)
    {
        string Number() => r.Odds(0.1) ? r.Pick(OddNumbers) : FuzzValues.Ordinary(r).Replace("E", "e");
        var terms = new List<string>();
        foreach (var (name, length) in v.Parameters)
            terms.Add(length is not { } n
                ? r.Pick(new Func<string>[]
                {
                    () => $"({name} - {Number()})^2", () => $"softplus({name})", () => $"exp({name})", () => $"{name}^4", () => $"abs({name})",
                    () => $"sigmoid({name})*{name}^2", () => $"log(1 + {name}^2)", () => $"-{name}", () => $"{name}/({name} - {name})",
                    () => $"max({name}, {Number()})", () => $"pow({name}, {Number()})", () => $"{name} ^ {name}", () => $"sqrt({name})",
                })()
                : r.Pick(new Func<string>[]
                {
                    () => $"sum(({name} - {Number()})^2)", () => $"dot({name}, {name})", () => $"mean(exp({name}))", () => $"max({name})",
                    () => $"{name}[1]^2 + {name}[{n}]^2", () => $"{name}[1]*{name}[{Index(r, n)}]", () => $"sum(relu({name}))", () => $"min({name})^2",
                })());
        var scalar = v.Parameters.FirstOrDefault(p => p.Length is null).Name ?? (v.Parameters.Count > 0 ? $"sum({v.Parameters[0].Name})" : Number());
        foreach (var column in v.Data) terms.Add(r.Odds(0.7) ? $"mean(({column} - {scalar})^2)" : $"sum({column}*{scalar})");
        foreach (var (name, length) in v.Constants) terms.Add(length is null ? $"{name}*{scalar}" : $"sum({name})*{scalar}");
        return terms.Count > 0 ? string.Join(r.Pick(new[] { " + ", " - ", "+" }), terms) : Number();
    }

    static string Expression(Random r, Vocabulary v, int depth)
    {
        if (depth <= 0 || r.Odds(0.25)) return Leaf(r, v);
        string Sub() => Expression(r, v, depth - 1);
        string Space() => r.Pick(Spaces);
        return r.Next(10) switch
        {
            <= 2 => $"{Sub()}{Space()}{(r.Odds(0.02) ? r.Pick(BadOperators) : r.Pick(Operators))}{Space()}{Sub()}",
            3 => $"{r.Pick(new[] { "-", "+", "--", "-+-", "- " })}{Sub()}",
            4 => $"{r.Pick(Unary)}({Arguments(r, 1, Sub)})",
            5 => $"{r.Pick(Binary)}({Arguments(r, 2, Sub)})",
            6 => $"{(r.Odds(0.1) ? r.Pick(Unknown) : r.Pick(Reduce))}({Arguments(r, 1, Sub)})",
            7 => $"({Sub()})",
            8 => $"({Sub()})[{Index(r, 3)}]",
            _ => r.Odds(0.5) ? r.Pick(Hazards) : $"{Sub()}/({Sub()} - {Sub()})",
        };
    }

    /// <summary>Usually the right number of arguments; sometimes none, one too many, or an empty one.</summary>
    static string Arguments(Random r, int arity, Func<string> argument)
    {
        var count = r.Odds(0.9) ? arity : r.Pick(new[] { 0, 1, 2, 3, 5 });
        var args = Enumerable.Range(0, count).Select(_ => argument()).ToList();
        if (r.Odds(0.03)) args.Add("");
        return string.Join(r.Odds(0.97) ? ", " : " ", args);
    }

    static string Leaf(Random r, Vocabulary v)
    {
        var names = v.All.ToList();
        var roll = r.NextDouble();
        if (roll < 0.3) return r.Odds(0.15) ? r.Pick(OddNumbers) : r.Pick(Numbers);
        if (roll < 0.75 && names.Count > 0) return r.Pick(names).Name;
        if (roll < 0.8) return r.Pick(new[] { "pi", "e", "unknown", "x9", "π", "ｘ", "x\u0301", "_", "exp", "😀", "a\u200b", "名前" });
        var vectors = names.Where(n => n.Length is not null).ToList();
        var (name, length) = vectors.Count > 0 ? r.Pick(vectors) : ("x", (int?)2);
        return $"{name}[{Index(r, length ?? 1)}]";
    }

    /// <summary>An index: in range mostly; zero, negative, past the end, past int, fractional or not an index at all sometimes.</summary>
    public static string Index(Random r, int length) => r.Odds(0.6)
        ? r.Next(1, length + 1).ToString(CultureInfo.InvariantCulture)
        : r.Pick(new[]
        {
            "0", "-1", (length + 1).ToString(CultureInfo.InvariantCulture), "2147483647", "2147483648", "-2147483649", "99999999999",
            "9".PadRight(40, '9'), "1e3", "1.5", "1e309", "00001", "1:2", ":", "1,2", "", "a", "x[1]", "+1", " 1 ", "1-1", "2^31",
            "1e-400", "NaN", "[1]", "１",
        });

    /// <summary>Nesting near and past the depth limit (10000): parentheses, unary minus, powers, calls, indexing.</summary>
    static string Deep(Random r, Vocabulary v)
    {
        var depth = r.Pick(new[] { 50, 500, 2000, 9990, 10001, 20000 });
        var leaf = v.Parameters.Count > 0 ? v.Parameters[0].Name : "x";
        return r.Next(6) switch
        {
            0 => new string('(', depth) + leaf + new string(')', depth),
            1 => new string('-', depth) + leaf,
            2 => string.Concat(Enumerable.Repeat(leaf + "^", depth)) + "1",
            3 => string.Concat(Enumerable.Repeat("exp(", depth / 4)) + leaf + new string(')', depth / 4),
            4 => new string('(', depth) + leaf + new string(')', depth - 1),
            _ => string.Concat(Enumerable.Repeat("sum(", depth / 4)) + leaf + new string(')', depth / 4),
        };
    }

    /// <summary>Long flat formulas near and past the node limit (50000) and the length limit (100000).</summary>
    static string Long(Random r, Vocabulary v)
    {
        var leaf = v.Parameters.Count > 0 ? v.Parameters[0].Name : "x";
        var count = r.Pick(new[] { 1000, 10000, 24999, 25001, 40000 });
        return r.Next(4) switch
        {
            0 => string.Join("+", Enumerable.Repeat(leaf, count)),
            1 => string.Join("*", Enumerable.Repeat("1.0000001", count / 4)) + "*" + leaf,
            2 => leaf + "+" + new string('1', 100001),
            _ => leaf + new string(' ', r.Pick(new[] { 99990, 100001 })),
        };
    }

    /// <summary>One to three small edits: a character removed, inserted, doubled or swapped, or the text cut short.</summary>
    public static string Break(Random r, string text)
    {
        string[] inserts = ["(", ")", "[", "]", ",", "^", "*", ".", "e", "\u00A0", "\0", "\n", "\t", "é", "𝑥", "\uD800", "\"", "\\", "#", "$", "@", "'", "{", "}", ";", "=", "[]", "()", "x[", "..."];
        for (var edits = r.Next(1, 4); edits > 0 && text.Length > 0; edits--)
        {
            var at = r.Next(text.Length + 1);
            text = r.Next(5) switch
            {
                0 when at < text.Length => text.Remove(at, 1),
                1 => text.Insert(at, r.Pick(inserts)),
                2 when at < text.Length => text.Insert(at, text[at..Math.Min(text.Length, at + r.Next(1, 6))]),
                3 when at + 1 < text.Length => text[..at] + text[at + 1] + text[at] + text[(at + 2)..],
                4 => text[..at],
                _ => text + r.Pick(inserts),
            };
        }
        return text;
    }
}

/// <summary>
/// CSV uploads: header names valid, empty, duplicate or odd; numbers at the edges of double, non-numbers, empty and huge
/// cells; quotes with commas and line breaks; ragged rows; BOM, blank lines and every line ending.
/// </summary>
internal static class FuzzCsv
{
    static readonly string[] Names = ["x", "y", "d", "t", "b0", "_", "exp", "pi", "Value_2"];
    static readonly string[] OddNames =
        ["", " ", "x", "1x", "x y", "\"x\"", "\"a,b\"", "\"a\"\"b\"", "ñ", "名前", "x-y", "\"\"", "\"x", "x\"", "\"x\ny\"", new string('h', 300), "\"" + new string('q', 300) + "\"", "\uFEFFx", "x\t"];
    static readonly string[] OddCells =
        ["", " ", "NaN", "Infinity", "-Infinity", "1e309", "-1e309", "1e308", "-1e308", "1.7976931348623157e308", "-1.7976931348623157e308", "1e-400", "abc", "\"1,5\"", "\"1\"",
         "\"1\n2\"", "\"1\r\n\"", "\"\"", "\"", "\"2\"x", "a\"b", " 1 ", "+1", "0x10", "1_000", "١", "1e", "−1", "\t2", "1,", "\"\"\"\"", "1 2", "∞",
         "\"" + new string('7', 200) + "\"", "\"" + new string(' ', 140) + "1\"", "1" + new string('0', 308), "0." + new string('0', 400) + "1"];
    static readonly string[] LineEnds = ["\n", "\n", "\n", "\r\n", "\r", "\n\n", "\r\n\r\n", "\n \n"];

    public static (byte[] Body, string ContentType, string Text) Upload(Random r)
    {
        var columns = r.Odds(0.03) ? r.Pick(new[] { 0, 100, 101, 150 }) : r.Next(1, 6);
        var rows = r.Odds(0.03) ? r.Pick(new[] { 0, 500, 3000 }) : r.Next(0, 25);
        var end = r.Pick(LineEnds);
        var mixedEnds = r.Odds(0.1);
        var text = new StringBuilder();
        if (r.Odds(0.1)) text.Append('\uFEFF');
        if (r.Odds(0.05)) text.Append(r.Pick(LineEnds));

        var header = Enumerable.Range(0, columns).Select(i => r.Odds(0.06) ? r.Pick(OddNames) : columns <= Names.Length ? Names[i] : $"c{i}").ToList();
        if (columns > 1 && r.Odds(0.04)) header[1] = header[0];
        text.Append(string.Join(",", header)).Append(End());

        // One huge cell now and then: 1,000 or 100,000 digits.
        var huge = r.Odds(0.03) && rows > 0 ? (Row: r.Next(rows), Column: r.Next(Math.Max(1, columns))) : (Row: -1, Column: -1);
        for (var row = 0; row < rows; row++)
        {
            var count = r.Odds(0.03) ? Math.Max(0, columns + r.Pick(new[] { -1, 1, 2 })) : columns;
            var cells = Enumerable.Range(0, count).Select(column => (row, column) == huge
                ? new string('1', r.Pick(new[] { 1000, 100_000 })) + (r.Odds(0.5) ? "" : ".5")
                : Cell(r));
            text.Append(string.Join(",", cells));
            if (row < rows - 1 || r.Odds(0.7)) text.Append(End());
            if (r.Odds(0.02)) text.Append(End());
        }

        var body = Encoding.UTF8.GetBytes(text.ToString());
        if (r.Odds(0.03))
        {
            // Bytes that are not UTF-8 at all.
            var at = r.Next(body.Length + 1);
            body = [.. body[..at], 0xFF, 0xFE, 0xC3, .. body[at..]];
        }
        var type = r.Odds(0.85)
            ? "text/csv"
            : r.Pick(new[] { "text/csv; charset=utf-8", "TEXT/CSV", "text/csv; charset=iso-8859-1", "text/csv; charset=nonsense", "text/csv; header=absent", "text/plain", "application/octet-stream", "text/csvx" });
        return (body, type, text.ToString());

        string End() => mixedEnds ? r.Pick(LineEnds) : end;
    }

    static string Cell(Random r)
    {
        if (r.Odds(0.03)) return r.Pick(OddCells);
        return FuzzValues.Ordinary(r);
    }

    /// <summary>A JSON dataset body: {"columns": {...}} with odd names, lengths and values.</summary>
    public static string ColumnsJson(Random r)
    {
        var columns = FuzzJson.Object();
        var rows = r.Odds(0.05) ? 0 : r.Next(1, 20);
        for (var i = r.Odds(0.05) ? 0 : r.Next(1, 4); i > 0; i--)
        {
            var name = r.Odds(0.1) ? r.Pick(new[] { "", "1x", "x y", "ñ", "x" }) : r.Pick(Names);
            var n = r.Odds(0.05) ? r.Next(0, rows + 2) : rows;
            columns.Fields.Add((name, r.Odds(0.03) ? FuzzValues.WrongType(r) : FuzzJson.Array(Enumerable.Range(0, n).Select(_ => FuzzValues.Number(r, odd: 0.05, wrong: 0.01)))));
        }
        var body = FuzzJson.Object();
        body["columns"] = columns;
        if (r.Odds(0.15)) FuzzValues.Mutate(r, body, 1);
        var json = body.ToString();
        return r.Odds(0.05) ? FuzzValues.BreakBody(r, json) : json;
    }
}

/// <summary>Request bodies for /gradient, /surface and /minimize: valid shapes with random values, then broken a little.</summary>
internal static class FuzzBodies
{
    static readonly string[] DTypes = ["float64", "float32"];
    static readonly string[] OptimizerTypes = ["sgd", "adam", "adamw", "rmsprop", "adagrad", "lbfgs", "newton"];
    static readonly int[] Iterations = [1, 2, 3, 5, 10, 20, 50];

    /// <summary>Fields every formula endpoint takes: expression, parameters, constants, data, dataset, dtype.</summary>
    /// <param name="noisy">Whether fields may have the wrong type; without, the formula is what is tested.</param>
    static FuzzJson.Obj Common(Random r, Vocabulary v, string? formula, bool noisy = true)
    {
        var wrong = noisy ? 0.02 : 0;
        var body = FuzzJson.Object();
        if (formula is not null) body["expression"] = r.Odds(wrong) ? FuzzValues.WrongType(r) : FuzzJson.Str(formula);
        if (!r.Odds(wrong)) body["parameters"] = r.Odds(wrong) ? FuzzValues.WrongType(r) : v.ParametersJson(r);
        if (v.Constants.Count > 0) body["constants"] = v.ConstantsJson(r);
        if (v.Data.Count > 0) body["data"] = v.DataJson(r);
        if (r.Odds(wrong * 1.5)) body["dataset"] = r.Odds(0.7) ? FuzzJson.Str(r.Pick(new[] { "0123456789abcdef0123456789abcdef", "", "nope", "../x", new string('a', 5000) })) : FuzzValues.WrongType(r);
        if (r.Odds(0.3)) body["dtype"] = FuzzValues.Enum(r, DTypes, odd: noisy ? 0.1 : 0);
        return body;
    }

    public static FuzzJson.Obj Formula(Random r, bool noisy = false)
    {
        var v = Vocabulary.Random(r, withData: r.Odds(0.3));
        var body = Common(r, v, FuzzFormulas.Formula(r, v), noisy);
        if (r.Odds(0.15)) body["hessian"] = FuzzJson.Bool(true);
        if (r.Odds(0.1)) body["explain"] = FuzzJson.Bool(true);
        return body;
    }

    public static FuzzJson.Obj Gradient(Random r)
    {
        var body = Formula(r, noisy: true);
        if (r.Odds(0.2)) body["hessian"] = FuzzValues.Bool(r);
        if (r.Odds(0.2)) body["explain"] = FuzzValues.Bool(r);
        return body;
    }

    public static FuzzJson.Obj Surface(Random r)
    {
        var v = Vocabulary.Random(r, withData: r.Odds(0.25), minParameters: r.Odds(0.9) ? 2 : 1);
        var body = Common(r, v, FuzzFormulas.Formula(r, v));
        var elements = v.Parameters.SelectMany(p => p.Length is { } n
            ? Enumerable.Range(1, n).Select(i => $"{p.Name}[{i}]")
            : [p.Name]).ToList();
        body["x"] = Axis(r, v, elements, 0);
        body["y"] = Axis(r, v, elements, 1);
        if (r.Odds(0.8))
            body["resolution"] = r.Odds(0.02) ? FuzzJson.Raw("200") : FuzzValues.Int(r, [2, 3, 4, 5, 10, 20]);
        return body;
    }

    static FuzzJson Axis(Random r, Vocabulary v, List<string> elements, int which)
    {
        if (r.Odds(0.02)) return FuzzValues.WrongType(r);
        var axis = FuzzJson.Object();
        string name;
        if (elements.Count > 0 && r.Odds(0.88)) name = elements[which % elements.Count];
        else if (v.Parameters.Count > 0 && r.Odds(0.5))
        {
            var (parameter, length) = r.Pick(v.Parameters);
            name = $"{parameter}[{FuzzFormulas.Index(r, length ?? 1)}]";
        }
        else
            name = r.Pick(new[]
            {
                "", "x", "x[]", "x[1.5]", "x[99999999999]", "x[999999999]", "x[2147483648]", "x[0]", "x[-1]", "x[01]", "x[1] ",
                " x", "X", "x[1][1]", "unknown", "x[٣]", "x\n", "x[1]\n", "x[1", "[1]", "1", "x[+1]", "x[1e3]", "π", "b0[1]",
            });
        if (!r.Odds(0.02)) axis["parameter"] = r.Odds(0.02) ? FuzzValues.WrongType(r) : FuzzJson.Str(name);
        var (min, max) = r.Odds(0.8)
            ? (FuzzJson.Num(-r.Next(0, 4) - r.NextDouble()), FuzzJson.Num(r.Next(0, 4) + r.NextDouble()))
            : (FuzzValues.Number(r, odd: 0.7), FuzzValues.Number(r, odd: 0.7));
        if (!r.Odds(0.03)) axis["min"] = min;
        if (!r.Odds(0.03)) axis["max"] = max;
        return axis;
    }

    /// <summary>A job of at most 50 iterations (maxIterations past the service's limit is refused, never run).</summary>
    public static FuzzJson.Obj Minimize(Random r)
    {
        var withData = r.Odds(0.4);
        var v = Vocabulary.Random(r, withData);
        FuzzJson.Obj body;
        if (withData && r.Odds(0.5))
        {
            body = Common(r, v, formula: null);
            body["model"] = FuzzJson.Str(r.Odds(0.5) ? Linear(r, v) : FuzzFormulas.Formula(r, v));
            if (!r.Odds(0.05)) body["target"] = FuzzJson.Str(r.Odds(0.9) ? r.Pick(v.Data) : r.Pick(new[] { "", "nope", "x", "y[1]" }));
            if (r.Odds(0.7)) body["loss"] = FuzzValues.Enum(r, [.. Autograd.Contracts.LossNames.All, "mse"], odd: 0.1);
            if (r.Odds(0.1))
            {
                var options = FuzzJson.Object();
                options[r.Odds(0.8) ? "delta" : r.Pick(FuzzValues.UnknownFields)] = FuzzValues.Number(r, odd: 0.4);
                body["lossOptions"] = options;
            }
            if (r.Odds(0.3)) body["batchSize"] = FuzzValues.Int(r, [1, 2, 5, v.Rows, v.Rows + 1]);
            if (r.Odds(0.2)) body["shuffle"] = FuzzValues.Bool(r);
            if (r.Odds(0.2)) body["seed"] = FuzzValues.Int(r, [0, 1, 42, -7, int.MaxValue]);
            if (r.Odds(0.05)) body["expression"] = FuzzJson.Str("mean(p)");
        }
        else body = Common(r, v, FuzzFormulas.Formula(r, v));

        body["optimizer"] = Optimizer(r);
        if (!r.Odds(0.03)) body["maxIterations"] = FuzzValues.Int(r, Iterations, odd: 0.1);
        foreach (var rule in new[] { "gradientNormTolerance", "valueChangeTolerance", "parameterChangeTolerance" })
            if (r.Odds(0.2)) body[rule] = FuzzValues.Number(r, odd: 0.3);
        if (r.Odds(0.1)) body["timeLimitSeconds"] = FuzzValues.Number(r, odd: 0.5);
        if (r.Odds(0.2)) body["recordEvery"] = FuzzValues.Int(r, [1, 2, 3, 10, 100]);
        if (r.Odds(0.3)) body["includeGradient"] = FuzzValues.Bool(r);
        return body;
    }

    /// <summary>A model that is a row vector: parameters times data columns, summed.</summary>
    static string Linear(Random r, Vocabulary v)
    {
        var terms = v.Parameters.Select((p, i) => v.Data.Count > 0 && i > 0 ? $"{p.Name}*{r.Pick(v.Data)}" : p.Name).ToList();
        return terms.Count > 0 ? string.Join(" + ", terms) : "1";
    }

    static FuzzJson Optimizer(Random r)
    {
        if (r.Odds(0.02)) return FuzzValues.WrongType(r);
        var o = FuzzJson.Object();
        if (!r.Odds(0.03))
            o["type"] = r.Odds(0.08)
                ? FuzzJson.Raw(r.Pick(new[] { "\"SGD\"", "\"\"", "\"gd\"", "1", "null", "\"lbfgs \"", "\"newton\\u0000\"" }))
                : FuzzJson.Str(r.Pick(OptimizerTypes));
        foreach (var setting in new[] { "learningRate", "momentum", "dampening", "weightDecay", "eps", "alpha", "learningRateDecay", "initialAccumulatorValue" })
            if (r.Odds(0.15)) o[setting] = r.Odds(0.7) ? FuzzJson.Num(Math.Round(r.NextDouble() * 0.5, 3)) : FuzzValues.Number(r, odd: 0.5);
        foreach (var flag in new[] { "nesterov", "amsgrad", "centered" })
            if (r.Odds(0.1)) o[flag] = FuzzValues.Bool(r);
        if (r.Odds(0.1))
            o["betas"] = r.Odds(0.6)
                ? FuzzJson.Array([FuzzValues.Number(r, odd: 0.3), FuzzValues.Number(r, odd: 0.3)])
                : FuzzJson.Raw(r.Pick(new[] { "[]", "[0.9]", "[0.9,0.999,0.5]", "0.9", "[1,1]", "[-0.1,0.5]", "[[0.9],[0.99]]", "null", "[0.9,\"0.99\"]" }));
        if (r.Odds(0.1)) o["historySize"] = FuzzValues.Int(r, [1, 3, 10, 100]);
        if (r.Odds(0.1)) o["lineSearch"] = FuzzValues.Enum(r, ["strong_wolfe", "none", "wolfe", "", "STRONG_WOLFE"], odd: 0.2);
        return o;
    }
}
