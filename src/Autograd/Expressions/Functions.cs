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

    /// <summary>Named constants; a parameter, constant or data column of the same name shadows them.</summary>
    public static readonly IReadOnlyDictionary<string, double> Constants = new Dictionary<string, double>
    {
        ["pi"] = Math.PI,
        ["e"] = Math.E,
    };

    public static IEnumerable<string> Names => ByName.Keys.Order(StringComparer.Ordinal);

    public static bool IsFunction(string name) => ByName.ContainsKey(name);

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
