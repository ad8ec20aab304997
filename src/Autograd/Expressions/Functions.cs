namespace Autograd.Expressions;

/// <summary>The built-in functions and constants of the formula language; the functions are the named entries of <see cref="OpRegistry"/>.</summary>
public static class Functions
{
    // name -> arity -> op, read from the registry: a function is callable as soon as its op is registered with a name.
    static readonly Dictionary<string, SortedDictionary<int, OpEntry>> ByName = OpRegistry.Entries
        .SelectMany(entry => entry.Names.Select(name => (name, entry)))
        .GroupBy(pair => pair.name, StringComparer.Ordinal)
        .ToDictionary(group => group.Key, group => new SortedDictionary<int, OpEntry>(group.ToDictionary(pair => pair.entry.Arity, pair => pair.entry)),
            StringComparer.Ordinal);

    /// <summary>
    /// Functions that record no op of their own: clamp(x, lo, hi) is the registry's ClampLow then ClampHigh,
    /// length(v) is a number and seq_along(v) the constant vector 1..length(v). The recorder spells them out.
    /// </summary>
    static readonly Dictionary<string, int> Forms = new(StringComparer.Ordinal) { ["clamp"] = 3, ["length"] = 1, ["seq_along"] = 1 };

    /// <summary>cbind(u, v, ...): any number of vectors or matrices side by side, recorded as one Cbind node per further argument.</summary>
    public const string Cbind = "cbind";

    /// <summary>Named constants; a parameter, constant or data column of the same name shadows them.</summary>
    public static readonly IReadOnlyDictionary<string, double> Constants = new Dictionary<string, double>
    {
        ["pi"] = Math.PI,
        ["e"] = Math.E,
    };

    public static IEnumerable<string> Names => ByName.Keys.Concat(Forms.Keys).Append(Cbind).Order(StringComparer.Ordinal);

    public static bool IsFunction(string name) => ByName.ContainsKey(name) || Forms.ContainsKey(name) || name == Cbind;

    /// <summary>True if the name is one of the spelled-out forms (clamp, length, seq_along) with the right argument count.</summary>
    /// <exception cref="FormulaException">The form takes another number of arguments.</exception>
    public static bool IsForm(string name, int arguments, SourceSpan span)
    {
        if (!Forms.TryGetValue(name, out var expected)) return false;
        if (arguments == expected) return true;
        var description = expected == 1 ? "1 argument" : $"{expected} arguments";
        throw new FormulaException(FormulaError.WrongArity, $"'{name}' takes {description} but was given {arguments}", span, name, description);
    }

    /// <summary>
    /// The function whose name is nearest to a misspelt one (at most 2 edits, fewer for short names, or the same
    /// letters in another case), preferring among equally near ones a function that takes this many arguments.
    /// </summary>
    public static string? Nearest(string name, int arguments)
    {
        string? best = null;
        var bestScore = int.MaxValue;
        foreach (var candidate in Names)
        {
            var distance = string.Equals(candidate, name, StringComparison.OrdinalIgnoreCase) ? 0 : EditDistance(candidate, name);
            if (distance > Math.Min(2, Math.Max(1, name.Length / 3))) continue;
            var fits = ByName.TryGetValue(candidate, out var byArity) ? byArity.ContainsKey(arguments)
                : candidate == Cbind ? arguments >= 1 : Forms[candidate] == arguments;
            var score = 2 * distance + (fits ? 0 : 1);
            if (score < bestScore) (best, bestScore) = (candidate, score);
        }
        return best;
    }

    /// <summary>Levenshtein distance with adjacent transpositions counted as one edit; two rows, no recursion.</summary>
    static int EditDistance(string a, string b)
    {
        if (Math.Abs(a.Length - b.Length) > 2) return int.MaxValue;
        var previous2 = new int[b.Length + 1];
        var previous = new int[b.Length + 1];
        var current = new int[b.Length + 1];
        for (var j = 0; j <= b.Length; j++) previous[j] = j;
        for (var i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                var cost = a[i - 1] == b[j - 1] ? 0 : 1;
                current[j] = Math.Min(Math.Min(previous[j] + 1, current[j - 1] + 1), previous[j - 1] + cost);
                if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                    current[j] = Math.Min(current[j], previous2[j - 2] + 1);
            }
            (previous2, previous, current) = (previous, current, previous2);
        }
        return previous[b.Length];
    }

    /// <summary>The op a call records, given its argument count; null if the name is not a function.</summary>
    /// <exception cref="FormulaException">The function exists but takes another number of arguments.</exception>
    public static Op? Resolve(string name, int arguments, SourceSpan span)
    {
        if (!ByName.TryGetValue(name, out var byArity)) return null;
        if (byArity.TryGetValue(arguments, out var entry)) return entry.Op;
        var description = Describe(byArity);
        throw new FormulaException(FormulaError.WrongArity, $"'{name}' takes {description} but was given {arguments}", span, name, description);
    }

    /// <summary>"1 argument", "2 arguments", or "1 argument (a vector) or 2 (elementwise)" for a name with several forms.</summary>
    static string Describe(SortedDictionary<int, OpEntry> byArity)
    {
        static string Count(int n) => n == 1 ? "1 argument" : $"{n} arguments";
        if (byArity.Count == 1) return Count(byArity.Keys.First());
        var forms = byArity.Select((pair, i) => $"{(i == 0 ? Count(pair.Key) : pair.Key.ToString())} ({(pair.Value.IsElementwise ? "elementwise" : "a vector")})");
        return string.Join(" or ", forms);
    }
}
