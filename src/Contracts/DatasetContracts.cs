namespace Autograd.Contracts;

/// <summary>A dataset sent as JSON: named numeric columns of equal length.</summary>
public sealed record DatasetUpload
{
    /// <summary>Column name → values. Names must be usable in formulas (letters, digits, '_').</summary>
    public Dictionary<string, double[]>? Columns { get; init; }
}

/// <summary>A stored dataset, as created.</summary>
public sealed record DatasetCreated
{
    /// <summary>Use it as <c>"dataset": id</c> in /gradient and /minimize.</summary>
    public required string Id { get; init; }
    /// <summary>Rows in every column.</summary>
    public required int Rows { get; init; }
    /// <summary>The column names, in order.</summary>
    public required string[] Columns { get; init; }
}

/// <summary>A stored dataset with per-column statistics.</summary>
public sealed record DatasetInfo
{
    /// <summary>The dataset's id.</summary>
    public required string Id { get; init; }
    /// <summary>Rows in every column.</summary>
    public required int Rows { get; init; }
    /// <summary>Per-column count, min, max, mean and standard deviation.</summary>
    public required ColumnSummary[] Columns { get; init; }
    /// <summary>Memory the columns take, in bytes.</summary>
    public required long Bytes { get; init; }
    /// <summary>When it was stored.</summary>
    public required DateTimeOffset CreatedAt { get; init; }
}

/// <summary>Summary statistics of one column.</summary>
public sealed record ColumnSummary
{
    /// <summary>The column's name.</summary>
    public required string Name { get; init; }
    /// <summary>Number of values.</summary>
    public required int Count { get; init; }
    /// <summary>Smallest value.</summary>
    public required double Min { get; init; }
    /// <summary>Largest value.</summary>
    public required double Max { get; init; }
    /// <summary>Arithmetic mean.</summary>
    public required double Mean { get; init; }
    /// <summary>Sample standard deviation (n - 1 in the denominator); 0 for a single row; null where it exceeds the range of a double.</summary>
    public required double? StandardDeviation { get; init; }
}

/// <summary>The loss functions of the model shorthand.</summary>
public static class LossNames
{
    /// <summary>The names accepted in <c>loss</c>.</summary>
    public static readonly string[] All = ["mse", "mae", "huber", "logcosh", "bce"];
}

/// <summary>How well a finished fit matches its whole dataset.</summary>
public sealed record FitReport
{
    /// <summary>The loss over all rows at the final parameters.</summary>
    public required double Loss { get; init; }
    /// <summary>Rows in the dataset.</summary>
    public required int Rows { get; init; }
    /// <summary>For mse: sqrt(RSS / (rows - parameters)), the residual standard error.</summary>
    public double? ResidualStandardError { get; init; }
    /// <summary>For mse: 1 - RSS / TSS.</summary>
    public double? RSquared { get; init; }
}
