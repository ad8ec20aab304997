using System.Text.Json;
using System.Text.Json.Serialization;

namespace Autograd.Contracts;

/// <summary>
/// A scalar (a JSON number), a vector (a JSON array of numbers) or a matrix (an array of equal-length rows,
/// row-major); written back in the same shape. As a parameter's value it may also be an initialiser:
/// <c>{"shape": [4, 20], "init": "normal", "scale": 0.1, "seed": 1}</c> (see <see cref="Initializer"/>).
/// </summary>
[JsonConverter(typeof(NumberOrVectorConverter))]
public sealed class NumberOrVector
{
    NumberOrVector(double[] values, bool isScalar, int columns = 0)
    {
        Values = values;
        IsScalar = isScalar;
        Columns = columns;
    }

    /// <summary>For a matrix, its column count (<see cref="Values"/> holds the rows one after another); 0 otherwise.</summary>
    public int Columns { get; }

    /// <summary>True for a nested array of rows.</summary>
    public bool IsMatrix => Columns > 0;

    /// <summary>A matrix from its elements in row-major order.</summary>
    public static NumberOrVector Matrix(double[] values, int columns) =>
        columns > 0 && values.Length % columns == 0 ? new(values, false, columns) : throw new ArgumentException("The values do not fill whole rows.", nameof(values));

    /// <summary>A scalar, vector or matrix (columns > 0) by shape.</summary>
    public static NumberOrVector Of(double[] values, bool isScalar, int columns) =>
        isScalar ? Scalar(values[0]) : columns > 0 ? Matrix(values, columns) : Vector(values);

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
        if (reader.TokenType == JsonTokenType.StartObject) return Initializer.Read(ref reader);
        if (reader.TokenType != JsonTokenType.StartArray)
            throw new JsonException($"Expected a number, an array of numbers, an array of rows or an initialiser object, not {Describe(reader.TokenType)}.");
        var values = new List<double>();
        var columns = 0;
        var rows = 0;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType == JsonTokenType.StartArray && values.Count == rows * columns)
            {
                // A row of a matrix: [[1, 2, 3], [4, 5, 6]] is 2 x 3.
                var length = 0;
                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                {
                    if (reader.TokenType != JsonTokenType.Number)
                        throw new JsonException($"Expected a number as element {length + 1} of row {rows + 1}, not {Describe(reader.TokenType)}.");
                    values.Add(ReadNumber(ref reader));
                    length++;
                }
                if (length == 0) throw new JsonException($"Row {rows + 1} of the matrix is empty.");
                if (rows > 0 && length != columns)
                    throw new JsonException($"Row {rows + 1} of the matrix has {length} elements but row 1 has {columns}; every row needs the same number.");
                columns = length;
                rows++;
                continue;
            }
            if (reader.TokenType != JsonTokenType.Number || rows > 0)
                throw new JsonException(rows > 0
                    ? $"Expected row {rows + 1} of the matrix as an array of numbers, not {Describe(reader.TokenType)}."
                    : $"Expected a number as element {values.Count + 1} of the array, not {Describe(reader.TokenType)}.");
            values.Add(ReadNumber(ref reader));
        }
        return rows > 0 ? NumberOrVector.Matrix([.. values], columns) : NumberOrVector.Vector([.. values]);
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
        if (value.IsMatrix)
        {
            for (var start = 0; start < value.Values.Length; start += value.Columns)
            {
                writer.WriteStartArray();
                for (var j = start; j < start + value.Columns; j++) writer.WriteNumberValue(value.Values[j]);
                writer.WriteEndArray();
            }
        }
        else
        {
            foreach (var v in value.Values) writer.WriteNumberValue(v);
        }
        writer.WriteEndArray();
    }

    internal static double ReadNumber(ref Utf8JsonReader reader)
    {
        if (!reader.TryGetDouble(out var value) || !double.IsFinite(value))
            throw new JsonException("Numbers must be finite doubles; this one is out of range.");
        return value;
    }

    internal static string Describe(JsonTokenType token) => token switch
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
