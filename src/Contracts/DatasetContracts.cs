using System.Text.Json.Serialization;

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
    /// <summary>Least squares: the residual sum of squares over all rows.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double? ResidualSumOfSquares { get; init; }
    /// <summary>Least squares: rows minus estimated parameters, the degrees of freedom of the residual standard error and the t tests.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public int? DegreesOfFreedom { get; init; }
    /// <summary>Least squares with a known target: 1 - (1 - R²)(rows - 1)/(rows - parameters).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double? AdjustedRSquared { get; init; }
    /// <summary>
    /// Least squares: the coefficient table of R's summary(lm)/summary(nls), one row per parameter element, from
    /// Cov = σ²(JᵀJ)⁻¹ at the result.
    /// </summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<FitCoefficient>? Coefficients { get; init; }
    /// <summary>Least squares: the estimates' correlation matrix, rows and columns in the order of <see cref="Coefficients"/> (null for a fixed parameter).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double?[][]? Correlation { get; init; }
    /// <summary>Why there is no coefficient table, or what limits it.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Note { get; init; }

    /// <summary>Equal when every number is, the table's rows and the correlation matrix compared element by element.</summary>
    public bool Equals(FitReport? other) =>
        other is not null && Loss.Equals(other.Loss) && Rows == other.Rows && Nullable.Equals(ResidualStandardError, other.ResidualStandardError)
        && Nullable.Equals(RSquared, other.RSquared) && Nullable.Equals(ResidualSumOfSquares, other.ResidualSumOfSquares)
        && DegreesOfFreedom == other.DegreesOfFreedom && Nullable.Equals(AdjustedRSquared, other.AdjustedRSquared) && Note == other.Note
        && (Coefficients ?? []).SequenceEqual(other.Coefficients ?? []) && (Coefficients is null) == (other.Coefficients is null)
        && (Correlation is null) == (other.Correlation is null)
        && (Correlation ?? []).Length == (other.Correlation ?? []).Length
        && (Correlation ?? []).Zip(other.Correlation ?? []).All(rows => rows.First.SequenceEqual(rows.Second));

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(Loss, Rows, ResidualStandardError, RSquared, DegreesOfFreedom, Coefficients?.Count);
}

/// <summary>One row of the coefficient table.</summary>
public sealed record FitCoefficient
{
    /// <summary>The parameter, with a 1-based index for an element of a vector: <c>b0</c>, <c>w[2]</c>.</summary>
    public required string Parameter { get; init; }
    /// <summary>The estimate.</summary>
    public required double Estimate { get; init; }
    /// <summary>Its standard error, sqrt(σ²·[(JᵀJ)⁻¹]ᵢᵢ); null for a fixed parameter or a singular JᵀJ.</summary>
    public double? StandardError { get; init; }
    /// <summary>Estimate / standard error.</summary>
    public double? TValue { get; init; }
    /// <summary>Two-sided p value of the t value on the residual degrees of freedom (Student t).</summary>
    public double? PValue { get; init; }
    /// <summary>Lower end of the 95% confidence interval, estimate - t(0.975, df)·SE.</summary>
    public double? ConfidenceLow { get; init; }
    /// <summary>Upper end of the 95% confidence interval.</summary>
    public double? ConfidenceHigh { get; init; }
    /// <summary>True when min = max fixed the parameter: it was not estimated.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public bool Fixed { get; init; }
    /// <summary>True when the estimate lies on a bound: its standard error assumes it is free, which it is not.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public bool AtBound { get; init; }
}
