using System.Text.Json;
using System.Text.Json.Serialization;

namespace Autograd.Contracts;

/// <summary>
/// The data columns a model shorthand binds as the matrix <c>X = cbind(...)</c>: a list of names, or <c>"*"</c> for
/// every data column but the target.
/// </summary>
[JsonConverter(typeof(FeatureSelectionConverter))]
public sealed class FeatureSelection
{
    FeatureSelection(string[]? names) => Names = names;

    /// <summary>The columns in order; null for every column but the target.</summary>
    public string[]? Names { get; }

    /// <summary>True for <c>"*"</c>.</summary>
    public bool AllButTarget => Names is null;

    /// <summary>Every data column but the target, in the data's order.</summary>
    public static FeatureSelection All { get; } = new(null);

    /// <summary>These columns, in this order.</summary>
    public static FeatureSelection Of(params string[] names) => new(names);
}

/// <summary>Reads <c>"*"</c> or an array of column names.</summary>
public sealed class FeatureSelectionConverter : JsonConverter<FeatureSelection>
{
    /// <inheritdoc />
    public override FeatureSelection Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType == JsonTokenType.String)
            return reader.GetString() == "*" ? FeatureSelection.All : throw new JsonException("Expected \"*\" (every data column but the target) or an array of column names.");
        if (reader.TokenType != JsonTokenType.StartArray)
            throw new JsonException("Expected \"*\" (every data column but the target) or an array of column names.");
        var names = new List<string>();
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.String)
                throw new JsonException($"Expected a column name as element {names.Count + 1} of the array.");
            names.Add(reader.GetString()!);
        }
        return FeatureSelection.Of([.. names]);
    }

    /// <inheritdoc />
    public override void Write(Utf8JsonWriter writer, FeatureSelection value, JsonSerializerOptions options)
    {
        if (value.Names is null)
        {
            writer.WriteStringValue("*");
            return;
        }
        writer.WriteStartArray();
        foreach (var name in value.Names) writer.WriteStringValue(name);
        writer.WriteEndArray();
    }
}
