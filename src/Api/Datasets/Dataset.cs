using Autograd.Contracts;

namespace Autograd.Api.Datasets;

/// <summary>Named numeric columns of equal length, checked and immutable once stored.</summary>
public sealed class Dataset(string id, string[] names, double[][] columns, DateTimeOffset createdAt)
{
    public string Id { get; } = id;
    public IReadOnlyList<string> Names { get; } = names;
    public IReadOnlyList<double[]> Columns { get; } = columns;
    public int Rows => Columns.Count == 0 ? 0 : Columns[0].Length;
    public long Bytes => Columns.Sum(c => (long)c.Length * sizeof(double));
    public DateTimeOffset CreatedAt { get; } = createdAt;

    public double[]? Column(string name)
    {
        for (var i = 0; i < Names.Count; i++) if (Names[i] == name) return Columns[i];
        return null;
    }

    public DatasetCreated ToCreated() => new() { Id = Id, Rows = Rows, Columns = [.. Names] };

    DatasetInfo? _info;

    /// <summary>Its summary, computed once: listing datasets must not pass over every column again.</summary>
    public DatasetInfo ToInfo() => _info ??= new()
    {
        Id = Id,
        Rows = Rows,
        Bytes = Bytes,
        CreatedAt = CreatedAt,
        Columns = Names.Select((name, i) => Summarize(name, Columns[i])).ToArray(),
    };

    static ColumnSummary Summarize(string name, double[] values)
    {
        double min = double.PositiveInfinity, max = double.NegativeInfinity;
        foreach (var v in values)
        {
            min = Math.Min(min, v);
            max = Math.Max(max, v);
        }
        // Welford's update on values scaled into [-1, 1]: one pass, no cancellation on large means, and no
        // overflow for values near the double range (1e308 and -1e308 are finite; their difference is not).
        var scale = Math.Max(Math.Abs(min), Math.Abs(max));
        if (scale == 0 || !double.IsFinite(scale)) scale = 1;
        double mean = 0, m2 = 0;
        for (var i = 0; i < values.Length; i++)
        {
            var v = values[i] / scale;
            var delta = v - mean;
            mean += delta / (i + 1);
            m2 += delta * (v - mean);
        }
        var deviation = values.Length > 1 ? Math.Sqrt(m2 / (values.Length - 1)) * scale : 0;
        return new ColumnSummary
        {
            Name = name,
            Count = values.Length,
            Min = min,
            Max = max,
            Mean = Math.Clamp(mean * scale, min, max),
            StandardDeviation = double.IsFinite(deviation) ? deviation : null,
        };
    }
}
