using System.Text.Json;

namespace Autograd.Contracts;

/// <summary>
/// A parameter given by shape and initialiser instead of its numbers:
/// <c>{"shape": [4, 20], "init": "normal", "scale": 0.1, "seed": 1}</c>. <c>shape</c> is [] (a scalar), [n] (a
/// vector) or [rows, columns] (a matrix); <c>init</c> is <c>normal</c> (mean 0, standard deviation scale),
/// <c>uniform</c> (between -scale and scale) or <c>zeros</c>; scale defaults to 1 and seed to 0. The numbers depend
/// only on these fields, so a request gives the same start point every time.
/// </summary>
public static class Initializer
{
    /// <summary>The most elements one initialiser may create; the service's own parameter limit is usually lower.</summary>
    public const int MaxElements = 1_000_000;

    /// <summary>The initialisers by name.</summary>
    public static readonly IReadOnlyList<string> Kinds = ["normal", "uniform", "zeros"];

    internal static NumberOrVector Read(ref Utf8JsonReader reader)
    {
        int[]? shape = null;
        string? init = null;
        double scale = 1;
        var seed = 0;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
        {
            var name = reader.GetString();
            reader.Read();
            switch (name)
            {
                case "shape":
                    if (reader.TokenType != JsonTokenType.StartArray)
                        throw new JsonException($"'shape' is [], [length] or [rows, columns], not {NumberOrVectorConverter.Describe(reader.TokenType)}.");
                    var dimensions = new List<int>();
                    while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                    {
                        if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt32(out var d) || d < 1)
                            throw new JsonException("Each dimension of 'shape' is a whole number of at least 1.");
                        dimensions.Add(d);
                    }
                    if (dimensions.Count > 2) throw new JsonException($"'shape' has {dimensions.Count} dimensions; a parameter is a scalar, a vector or a matrix (at most 2).");
                    shape = [.. dimensions];
                    break;
                case "init":
                    init = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
                    if (init is null || !Kinds.Contains(init))
                        throw new JsonException($"'init' is one of {string.Join(", ", Kinds)}.");
                    break;
                case "scale":
                    if (reader.TokenType != JsonTokenType.Number) throw new JsonException("'scale' is a number.");
                    scale = NumberOrVectorConverter.ReadNumber(ref reader);
                    if (!(scale >= 0)) throw new JsonException("'scale' is a number of at least 0.");
                    break;
                case "seed":
                    if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt32(out seed))
                        throw new JsonException("'seed' is a whole number.");
                    break;
                default:
                    throw new JsonException($"An initialiser takes shape, init, scale and seed, not '{name}'.");
            }
        }
        if (shape is null) throw new JsonException("An initialiser needs 'shape', e.g. {\"shape\": [4, 20], \"init\": \"normal\", \"scale\": 0.1}.");
        if (init is null) throw new JsonException($"An initialiser needs 'init': one of {string.Join(", ", Kinds)}.");
        var count = shape.Aggregate(1L, (product, d) => product * d);
        if (count > MaxElements) throw new JsonException($"The shape has {count:N0} elements; an initialiser makes at most {MaxElements:N0}.");
        var values = Generate(init, (int)count, scale, seed);
        return shape.Length switch
        {
            0 => NumberOrVector.Scalar(values[0]),
            1 => NumberOrVector.Vector(values),
            _ => NumberOrVector.Matrix(values, shape[1]),
        };
    }

    /// <summary>The numbers of an initialiser: a seeded generator, normal deviates by Box-Muller.</summary>
    public static double[] Generate(string init, int count, double scale, int seed)
    {
        var values = new double[count];
        if (init == "zeros") return values;
        var random = new Random(seed);
        for (var i = 0; i < count; i++)
        {
            if (init == "uniform")
            {
                values[i] = scale * (2 * random.NextDouble() - 1);
                continue;
            }
            var u = 1 - random.NextDouble();  // in (0, 1], so the log is finite
            values[i] = scale * Math.Sqrt(-2 * Math.Log(u)) * Math.Cos(2 * Math.PI * random.NextDouble());
        }
        return values;
    }
}
