using System.Globalization;
using Autograd.Expressions;

namespace Autograd.Api.Export;

/// <summary>A formula in a target language: its let statements in order, then the loss expression.</summary>
public sealed record TranslatedFormula(IReadOnlyList<(string Name, string Expression)> Statements, string Expression, IReadOnlyList<string> Refused);

/// <summary>
/// Translates a parsed formula into a library's operations: a walk over its postfix nodes with a stack of texts,
/// every operation parenthesised, indices made 0-based for Python. Names keep their spelling unless the target
/// language reserves it (see <see cref="Identifiers"/>).
/// </summary>
public static class FormulaTranslator
{
    readonly record struct Item(string Text, bool IsTensor);

    /// <param name="bound">The names the job binds (parameters, constants, data columns), as the script spells them.</param>
    public static TranslatedFormula Translate(Formula formula, ExportLanguage language, IReadOnlyDictionary<string, string> bound)
    {
        var python = language != ExportLanguage.RTorch;
        var table = OpTranslations.For(language);
        var stack = new Stack<Item>();
        var statements = new List<(string, string)>();
        var lets = new Dictionary<string, string>(StringComparer.Ordinal);
        var refused = new List<string>();
        foreach (var node in formula.Nodes)
        {
            switch (node.Kind)
            {
                case SyntaxKind.Number:
                    stack.Push(new Item(Number(node.Number, python), false));
                    break;
                case SyntaxKind.Name:
                    stack.Push(Name(node.Text));
                    break;
                case SyntaxKind.Negate:
                    var operand = stack.Pop();
                    stack.Push(operand with { Text = $"(-{operand.Text})" });
                    break;
                case SyntaxKind.Binary:
                    var right = stack.Pop();
                    var left = stack.Pop();
                    var symbol = node.Text is "^" or "**" ? python ? "**" : "^" : node.Text;
                    stack.Push(new Item($"({left.Text} {symbol} {right.Text})", left.IsTensor || right.IsTensor));
                    break;
                case SyntaxKind.Index:
                    var vector = stack.Pop();
                    stack.Push(new Item(python ? $"{vector.Text}[{node.Index - 1}]" : $"{vector.Text}[{node.Index}]", true));
                    break;
                case SyntaxKind.Slice:
                    stack.Push(new Item(Slice(stack.Pop().Text, node.Slice.From, node.Slice.To, python), true));
                    break;
                case SyntaxKind.Let:
                    var name = Identifiers.Unique(node.Text, language, lets.Values.Concat(bound.Values));
                    statements.Add((name, stack.Pop().Text));
                    lets[node.Text] = name;
                    break;
                case SyntaxKind.Call:
                    var arguments = new Item[node.Operands];
                    for (var i = node.Operands - 1; i >= 0; i--) arguments[i] = stack.Pop();
                    var key = $"{node.Text}/{node.Operands}";
                    if (!table.TryGetValue(key, out var template))
                    {
                        if (!refused.Contains(node.Text)) refused.Add(node.Text);
                        stack.Push(new Item("None", true));
                        break;
                    }
                    var texts = arguments.Select(a => a.IsTensor ? a.Text : Tensor(a.Text, language)).ToArray();
                    stack.Push(new Item(string.Format(CultureInfo.InvariantCulture, template, texts), true));
                    break;
            }
        }
        return new TranslatedFormula(statements, stack.Pop().Text, refused);

        Item Name(string text)
        {
            if (lets.TryGetValue(text, out var let)) return new Item(let, true);
            if (bound.TryGetValue(text, out var name)) return new Item(name, true);
            // The built-in constants, which a bound name of the same spelling shadows.
            return text switch
            {
                "pi" => new Item(python ? "math.pi" : "pi", false),
                "e" => new Item(python ? "math.e" : "exp(1)", false),
                _ => new Item(text, true),
            };
        }
    }

    static string Tensor(string text, ExportLanguage language) => language switch
    {
        ExportLanguage.PyTorch => $"torch.tensor({text})",
        ExportLanguage.RTorch => $"torch_tensor({text})",
        ExportLanguage.Jax => $"jnp.asarray({text})",
        _ => text,
    };

    /// <summary>A number as the language reads it back to the same double: Python gets a float literal, R its default double.</summary>
    public static string Number(double value, bool python)
    {
        var text = value.ToString("R", CultureInfo.InvariantCulture).Replace("E", "e");
        if (python && !text.Contains('.') && !text.Contains('e')) text += ".0";
        return text;
    }

    /// <summary>A 1-based inclusive slice <c>v[a:b]</c> (with <c>end</c>) in Python's 0-based half-open form, or R torch's 1-based one.</summary>
    static string Slice(string vector, Expressions.SliceBound from, Expressions.SliceBound to, bool python)
    {
        if (python)
        {
            // end + k (k <= 0) as a 1-based position is the Python index k - 1 from the end.
            // The same arithmetic for both forms: a - 1 from the start, k - 1 from the end.
            var start = (from.Value - 1).ToString(CultureInfo.InvariantCulture);
            var stop = to.FromEnd ? to.Value == 0 ? "" : to.Value.ToString(CultureInfo.InvariantCulture) : to.Value.ToString(CultureInfo.InvariantCulture);
            if (start == "0") start = "";
            return $"{vector}[{start}:{stop}]";
        }
        string Bound(Expressions.SliceBound b) => b.FromEnd
            ? b.Value == 0 ? $"{vector}$numel()" : $"({vector}$numel() - {-b.Value})"
            : b.Value.ToString(CultureInfo.InvariantCulture);
        return $"{vector}[{Bound(from)}:{Bound(to)}]";
    }
}

/// <summary>Names of the formula as a script may spell them: unchanged unless the language reserves them.</summary>
public static class Identifiers
{
    static readonly HashSet<string> PythonReserved =
    [
        "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class", "continue", "def", "del", "elif",
        "else", "except", "finally", "for", "from", "global", "if", "import", "in", "is", "lambda", "nonlocal", "not", "or",
        "pass", "raise", "return", "try", "while", "with", "yield",
        // The modules and builtins the scripts use.
        "torch", "np", "math", "json", "csv", "scipy", "jax", "jnp", "float", "range", "print", "open", "len", "abs", "min",
        "max", "sum", "complex", "list", "dict", "zip",
    ];

    static readonly HashSet<string> RReserved =
    [
        "if", "else", "repeat", "while", "function", "for", "next", "break", "TRUE", "FALSE", "NULL", "Inf", "NaN", "NA",
        "NA_integer_", "NA_real_", "NA_character_", "in",
    ];

    /// <summary>The script's spelling of a name: Python appends underscores to a reserved one or one starting with an underscore (the scripts' own); R quotes it in backticks.</summary>
    public static string Unique(string name, ExportLanguage language, IEnumerable<string> taken)
    {
        if (language == ExportLanguage.RTorch)
            return RReserved.Contains(name) || name.StartsWith('_') ? $"`{name}`" : name;
        var used = taken.ToHashSet(StringComparer.Ordinal);
        var result = name;
        if (PythonReserved.Contains(result) || result.StartsWith('_')) result = "v" + result + "_";
        while (used.Contains(result)) result += "_";
        return result;
    }
}
