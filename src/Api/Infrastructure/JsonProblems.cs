using System.Collections;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;

namespace Autograd.Api.Infrastructure;

/// <summary>
/// Turns the serializer's errors on a request body into problems a client can act on: the JSON path, what was
/// expected there in the contract's words (never a .NET type name), and for an unknown field the closest known one.
/// </summary>
public static partial class JsonProblems
{
    [GeneratedRegex("^The JSON property '(?<name>.*)' could not be mapped", RegexOptions.Singleline)]
    private static partial Regex UnmappedProperty();

    [GeneratedRegex("duplicate propert", RegexOptions.IgnoreCase)]
    private static partial Regex DuplicateProperty();

    /// <summary>The serializer options every request and response uses: strict numbers, no unknown or repeated fields.</summary>
    public static void MakeStrict(JsonSerializerOptions options)
    {
        options.NumberHandling = JsonNumberHandling.Strict;
        options.UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow;
        options.AllowDuplicateProperties = false;
    }

    public static ProblemException FromJson(JsonException error, Type? contract)
    {
        var path = error.Path ?? "$";
        var location = new Dictionary<string, object?>
        {
            ["path"] = path,
            ["line"] = (error.LineNumber ?? 0) + 1,
            ["position"] = (error.BytePositionInLine ?? 0) + 1,
        };
        if (UnmappedProperty().Match(error.Message) is { Success: true } unmapped)
        {
            var name = unmapped.Groups["name"].Value;
            var owner = contract is null ? null : Resolve(contract, ParentPath(path, name));
            var known = owner is null ? [] : JsonNames(owner);
            var closest = Closest(name, known);
            var fieldPath = path.EndsWith("." + name, StringComparison.Ordinal) ? path : $"{path}.{name}";
            location["path"] = fieldPath;
            location["field"] = name;
            if (closest is not null) location["didYouMean"] = closest;
            location["knownFields"] = known;
            var hint = closest is not null ? $" Did you mean '{closest}'?" : known.Length > 0 ? $" Known fields here: {string.Join(", ", known)}." : "";
            return new ProblemException(400, "unknown-field", "The request has a field this endpoint does not know",
                $"'{Clip(name)}' at {fieldPath} is not a field of this request.{hint}", location);
        }
        if (DuplicateProperty().IsMatch(error.Message))
            return new ProblemException(400, "duplicate-field", "A field is given twice",
                $"A field is given twice at {path}; each field may appear once.", location);

        var resolved = contract is null ? null : Resolve(contract, path);
        var expected = resolved is { } type ? Describe(type) : null;
        // The shapes' own converters say what is wrong inside the value (a ragged matrix, an unknown initialiser).
        var reason = resolved == typeof(Contracts.NumberOrVector) || resolved == typeof(Contracts.FeatureSelection) ? " " + Sanitise(error.Message) : "";
        var detail = expected is not null
            ? $"The value at {path} is not valid: expected {expected}.{reason}"
            : $"{Sanitise(error.Message)} At {path}.";
        return new ProblemException(400, "malformed-json", "The request body is not valid JSON for this endpoint",
            $"{detail} (line {location["line"]}, byte {location["position"]})", location);
    }

    /// <summary>The JSON field names of a contract type, as a client writes them.</summary>
    public static string[] JsonNames(Type type) =>
        type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.CanWrite && p.GetCustomAttribute<JsonIgnoreAttribute>()?.Condition != JsonIgnoreCondition.Always)
            .Select(p => JsonNamingPolicy.CamelCase.ConvertName(p.Name)).ToArray();

    /// <summary>The type a JSON path such as <c>$.optimizer.betas[0]</c> leads to inside a contract, or null when it leaves it.</summary>
    public static Type? Resolve(Type root, string path)
    {
        var type = root;
        foreach (Match segment in PathSegments().Matches(path))
        {
            type = Unwrap(type);
            if (segment.Groups["index"].Success)
            {
                type = ElementType(type);
            }
            else
            {
                var name = segment.Groups["name"].Success ? segment.Groups["name"].Value : segment.Groups["quoted"].Value;
                if (DictionaryValueType(type) is { } valueType) type = valueType;
                else type = type.GetProperties().FirstOrDefault(p => string.Equals(p.Name, name, StringComparison.OrdinalIgnoreCase))?.PropertyType;
            }
            if (type is null) return null;
        }
        return Unwrap(type);
    }

    [GeneratedRegex(@"\.(?<name>[^.\[\]]+)|\['(?<quoted>[^']*)'\]|\[(?<index>\d+)\]")]
    private static partial Regex PathSegments();

    static string ParentPath(string path, string name)
    {
        if (path.EndsWith("." + name, StringComparison.Ordinal)) return path[..^(name.Length + 1)];
        if (path.EndsWith($"['{name}']", StringComparison.Ordinal)) return path[..^(name.Length + 4)];
        return path;
    }

    static Type Unwrap(Type type) => Nullable.GetUnderlyingType(type) ?? type;

    static Type? ElementType(Type type) =>
        type.IsArray ? type.GetElementType()
        : type.IsGenericType && typeof(IEnumerable).IsAssignableFrom(type) ? type.GetGenericArguments()[^1]
        : type == typeof(Contracts.NumberOrVector) ? typeof(double) : null;

    static Type? DictionaryValueType(Type type) =>
        type.IsGenericType && type.GetGenericTypeDefinition() == typeof(Dictionary<,>) ? type.GetGenericArguments()[1] : null;

    static string Describe(Type type)
    {
        if (type == typeof(double) || type == typeof(float)) return "a number";
        if (type == typeof(int) || type == typeof(long)) return "an integer";
        if (type == typeof(bool)) return "true or false";
        if (type == typeof(string)) return "a string";
        if (type == typeof(Contracts.NumberOrVector)) return "a number, an array of numbers, an array of equal-length rows, or (for a parameter) an initialiser such as {\"shape\": [4, 20], \"init\": \"normal\", \"scale\": 0.1, \"seed\": 1}";
        if (type == typeof(Contracts.FeatureSelection)) return "\"*\" or an array of column names";
        if (type.IsEnum)
            return "one of " + string.Join(", ", type.GetFields(BindingFlags.Public | BindingFlags.Static)
                .Select(f => $"\"{f.GetCustomAttribute<JsonStringEnumMemberNameAttribute>()?.Name ?? f.Name}\""));
        if (DictionaryValueType(type) is { } value) return $"an object whose values are each {Describe(value)}";
        if (ElementType(type) is { } element) return $"an array whose elements are each {Describe(element)}";
        return "an object with the fields " + string.Join(", ", JsonNames(type));
    }

    /// <summary>The known name within edit distance 3 of <paramref name="name"/> (case ignored), or an expansion of an abbreviation.</summary>
    public static string? Closest(string name, IEnumerable<string> known)
    {
        var lower = name.ToLowerInvariant();
        string? best = null;
        var bestDistance = int.MaxValue;
        foreach (var candidate in known)
        {
            var c = candidate.ToLowerInvariant();
            var distance = IsAbbreviation(lower, c) ? 1 : Distance(lower, c);
            if (distance < bestDistance) (best, bestDistance) = (candidate, distance);
        }
        return bestDistance <= Math.Max(1, Math.Min(3, lower.Length / 2)) ? best : null;
    }

    /// <summary><c>lr</c> for <c>learningRate</c>: the letters in order, starting with the same one.</summary>
    static bool IsAbbreviation(string shorter, string longer)
    {
        if (shorter.Length < 2 || shorter.Length >= longer.Length || shorter[0] != longer[0]) return false;
        var j = 0;
        foreach (var ch in longer)
            if (j < shorter.Length && ch == shorter[j]) j++;
        return j == shorter.Length;
    }

    static int Distance(string a, string b)
    {
        if (a.Length > 64 || b.Length > 64) return int.MaxValue;
        var previous = new int[b.Length + 1];
        var current = new int[b.Length + 1];
        for (var j = 0; j <= b.Length; j++) previous[j] = j;
        for (var i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (var j = 1; j <= b.Length; j++)
                current[j] = Math.Min(Math.Min(current[j - 1] + 1, previous[j] + 1), previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
            (previous, current) = (current, previous);
        }
        return previous[b.Length];
    }

    static string Clip(string text) => text.Length <= 60 ? text : text[..60] + "…";

    /// <summary>The serializer's own words without its path suffix or any .NET type name.</summary>
    static string Sanitise(string message)
    {
        var text = message.Split(" Path:", 2)[0];
        return TypeName().Replace(text, "this field's type");
    }

    [GeneratedRegex(@"(System|Autograd)\.[A-Za-z0-9_.`\[\], ]+")]
    private static partial Regex TypeName();
}
