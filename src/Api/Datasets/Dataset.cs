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

    public DatasetInfo ToInfo() => new()
    {
        Id = Id,
        Rows = Rows,
        Bytes = Bytes,
        CreatedAt = CreatedAt,
        Columns = Names.Select((name, i) => Summarize(name, Columns[i])).ToArray(),
    };

    static ColumnSummary Summarize(string name, double[] values)
    {
        // Welford's update: one pass, no cancellation on large means.
        double mean = 0, m2 = 0, min = double.PositiveInfinity, max = double.NegativeInfinity;
        for (var i = 0; i < values.Length; i++)
        {
            var v = values[i];
            var delta = v - mean;
            mean += delta / (i + 1);
            m2 += delta * (v - mean);
            min = Math.Min(min, v);
            max = Math.Max(max, v);
        }
        return new ColumnSummary
        {
            Name = name,
            Count = values.Length,
            Min = min,
            Max = max,
            Mean = mean,
            StandardDeviation = values.Length > 1 ? Math.Sqrt(m2 / (values.Length - 1)) : 0,
        };
    }
}
