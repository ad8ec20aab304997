namespace Autograd.Contracts;

/// <summary>The loss over a grid of two parameter elements, the other parameters held fixed.</summary>
public sealed record SurfaceRequest
{
    /// <summary>The loss formula.</summary>
    public string? Expression { get; init; }
    /// <summary>All parameters; those not on an axis stay at these values.</summary>
    public Dictionary<string, NumberOrVector>? Parameters { get; init; }
    /// <summary>Fixed values by name.</summary>
    public Dictionary<string, NumberOrVector>? Constants { get; init; }
    /// <summary>Data by name: columns (arrays of numbers) and matrices (arrays of rows), all with the same number of rows.</summary>
    public Dictionary<string, NumberOrVector>? Data { get; init; }
    /// <summary>A stored dataset instead of data.</summary>
    public string? Dataset { get; init; }
    /// <summary>float64 (default) or float32.</summary>
    public DType Dtype { get; init; } = DType.Float64;
    /// <summary>The horizontal axis: a scalar parameter's name or a vector element such as <c>x[1]</c>, and its range.</summary>
    public SurfaceAxis? X { get; init; }
    /// <summary>The vertical axis.</summary>
    public SurfaceAxis? Y { get; init; }
    /// <summary>Grid points along each axis (2 to the documented maximum; default 50).</summary>
    public int Resolution { get; init; } = 50;
}

/// <summary>One axis of a surface: which parameter element, from where to where.</summary>
public sealed record SurfaceAxis
{
    /// <summary>A scalar parameter (<c>b0</c>) or a vector parameter's element, 1-based (<c>x[2]</c>).</summary>
    public string? Parameter { get; init; }
    /// <summary>Lowest value.</summary>
    public double Min { get; init; }
    /// <summary>Highest value.</summary>
    public double Max { get; init; }
}

/// <summary>The loss on the grid: <c>z[j][i]</c> is the loss at (<c>x[i]</c>, <c>y[j]</c>); null where it is not finite.</summary>
public sealed record SurfaceResponse
{
    /// <summary>Grid coordinates along the horizontal axis.</summary>
    public required double[] X { get; init; }
    /// <summary>Grid coordinates along the vertical axis.</summary>
    public required double[] Y { get; init; }
    /// <summary>Rows over y, columns over x.</summary>
    public required double?[][] Z { get; init; }
}
