using System.Text.Json;
using System.Text.Json.Serialization;

namespace Autograd.Contracts;

/// <summary>A scalar (a JSON number) or a vector (a JSON array of numbers); written back in the same shape.</summary>
[JsonConverter(typeof(NumberOrVectorConverter))]
public sealed class NumberOrVector
{
    NumberOrVector(double[] values, bool isScalar)
    {
        Values = values;
        IsScalar = isScalar;
    }

    /// <summary>The elements: one for a scalar.</summary>
    public double[] Values { get; }

    /// <summary>True for a JSON number, false for a JSON array.</summary>
    public bool IsScalar { get; }

    /// <summary>A scalar.</summary>
    public static NumberOrVector Scalar(double value) => new([value], true);

    /// <summary>A vector.</summary>
    public static NumberOrVector Vector(double[] values) => new(values, false);

    /// <inheritdoc />
    public static implicit operator NumberOrVector(double value) => Scalar(value);

    /// <inheritdoc />
    public static implicit operator NumberOrVector(double[] values) => Vector(values);
}

/// <summary>Reads a number or an array of numbers; anything else is a JSON error naming the path.</summary>
public sealed class NumberOrVectorConverter : JsonConverter<NumberOrVector>
{
    /// <summary>Called for JSON null too, so that a null value is an error naming its path rather than a null entry.</summary>
    public override bool HandleNull => true;

    /// <inheritdoc />
    public override NumberOrVector Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType == JsonTokenType.Number) return NumberOrVector.Scalar(ReadNumber(ref reader));
        if (reader.TokenType != JsonTokenType.StartArray)
            throw new JsonException($"Expected a number or an array of numbers, not {Describe(reader.TokenType)}.");
        var values = new List<double>();
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.Number)
                throw new JsonException($"Expected a number as element {values.Count + 1} of the array, not {Describe(reader.TokenType)}.");
            values.Add(ReadNumber(ref reader));
        }
        return NumberOrVector.Vector([.. values]);
    }

    /// <inheritdoc />
    public override void Write(Utf8JsonWriter writer, NumberOrVector? value, JsonSerializerOptions options)
    {
        if (value is null)
        {
            writer.WriteNullValue();
            return;
        }
        if (value.IsScalar)
        {
            writer.WriteNumberValue(value.Values[0]);
            return;
        }
        writer.WriteStartArray();
        foreach (var v in value.Values) writer.WriteNumberValue(v);
        writer.WriteEndArray();
    }

    static double ReadNumber(ref Utf8JsonReader reader)
    {
        if (!reader.TryGetDouble(out var value) || !double.IsFinite(value))
            throw new JsonException("Numbers must be finite doubles; this one is out of range.");
        return value;
    }

    static string Describe(JsonTokenType token) => token switch
    {
        JsonTokenType.String => "a string",
        JsonTokenType.True or JsonTokenType.False => "a boolean",
        JsonTokenType.Null => "null",
        JsonTokenType.StartObject => "an object",
        JsonTokenType.StartArray => "an array",
        _ => token.ToString(),
    };
}

/// <summary>An enum written and read by its documented name only; a number in its place is an error, as any other unknown value.</summary>
public sealed class NamedEnumConverter<TEnum>() : JsonStringEnumConverter<TEnum>(namingPolicy: null, allowIntegerValues: false)
    where TEnum : struct, Enum;
