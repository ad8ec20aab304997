using System.Text.Json.Serialization;

namespace Autograd.Contracts;

/// <summary>The floating-point type the engine computes in.</summary>
[JsonConverter(typeof(NamedEnumConverter<DType>))]
public enum DType
{
    /// <summary>IEEE double precision, the default.</summary>
    [JsonStringEnumMemberName("float64")] Float64,
    /// <summary>IEEE single precision, as PyTorch and R torch compute by default.</summary>
    [JsonStringEnumMemberName("float32")] Float32,
}

/// <summary>A loss formula, the point to evaluate it at, and what to return.</summary>
public sealed record GradientRequest
{
    /// <summary>The loss in the formula language, e.g. <c>0.2*x1^2 + 0.2*x2^2 - 5</c>. It must give a single number.</summary>
    public string? Expression { get; init; }

    /// <summary>The leaves that require grad, by name: a number or an array of numbers. The gradient has the same names and shapes.</summary>
    public Dictionary<string, NumberOrVector>? Parameters { get; init; }

    /// <summary>Fixed values by name: a number or an array of numbers. Not differentiated.</summary>
    public Dictionary<string, NumberOrVector>? Constants { get; init; }

    /// <summary>Data by name: columns (arrays of numbers) and matrices (arrays of rows, e.g. a design matrix X), all with the same number of rows. Not differentiated.</summary>
    public Dictionary<string, NumberOrVector>? Data { get; init; }

    /// <summary>The id of a stored dataset (POST /datasets) whose columns the formula may use; instead of <c>data</c>.</summary>
    public string? Dataset { get; init; }

    /// <summary>Also return the exact Hessian over the flattened parameters.</summary>
    public bool Hessian { get; init; }

    /// <summary>Also return the recorded tape: every node with its op, inputs, value and adjoint.</summary>
    public bool Explain { get; init; }

    /// <summary><c>float64</c> (default) or <c>float32</c>.</summary>
    public DType Dtype { get; init; } = DType.Float64;

    /// <summary>Also check the gradient element by element against Richardson-extrapolated central differences.</summary>
    public bool Check { get; init; }

    /// <summary>Also return the curvature certificate: the Hessian's eigenvalues and whether the point is a minimum, saddle or maximum.</summary>
    public bool Certificate { get; init; }

    /// <summary>Also return each parameter's derivative as a formula in the language, simplified and verified against the tape.</summary>
    public bool Symbolic { get; init; }
}

/// <summary>The value of the loss and its derivatives at the requested point.</summary>
public sealed record GradientResponse
{
    /// <summary>The loss at the point.</summary>
    public required double Value { get; init; }

    /// <summary>d(loss)/d(parameter) for each parameter, in the parameter's shape.</summary>
    public required Dictionary<string, NumberOrVector> Gradient { get; init; }

    /// <summary>
    /// The Hessian as an array of rows over the parameters flattened in request order, a vector element by element.
    /// Present when asked for.
    /// </summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double[][]? Hessian { get; init; }

    /// <summary>The order in which parameter elements appear in the Hessian's rows and columns, e.g. <c>x[1]</c>.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string[]? HessianLabels { get; init; }

    /// <summary>The recorded tape in evaluation order. Present when <c>explain</c> is true.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public TapeNodeInfo[]? Tape { get; init; }

    /// <summary>The gradient check. Present when <c>check</c> is true.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public GradientCheck? Check { get; init; }

    /// <summary>The curvature certificate at the point. Present when <c>certificate</c> is true.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public CurvatureCertificate? Certificate { get; init; }

    /// <summary>Each parameter's derivative as a formula. Present when <c>symbolic</c> is true.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public Dictionary<string, SymbolicDerivative>? Symbolic { get; init; }
}

/// <summary>One recorded node: what it computes from which nodes, its value and d(loss)/d(node).</summary>
public sealed record TapeNodeInfo
{
    /// <summary>The node's id; inputs always have smaller ids.</summary>
    public required int Id { get; init; }

    /// <summary>The op: <c>input</c> for parameters, constants, data and literals, else e.g. <c>mul</c>, <c>pow</c>, <c>sum</c>.</summary>
    public required string Op { get; init; }

    /// <summary>Ids of the nodes this one reads.</summary>
    public required int[] Inputs { get; init; }

    /// <summary>For an input: its name (or a literal's text) and kind; for a node bound by a let statement (<c>r = ...; mean(r^2)</c>): the bound name.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Name { get; init; }

    /// <summary>parameter, constant, data, literal, or null for computed nodes.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Kind { get; init; }

    /// <summary>The exponent of a pow with a constant exponent, or the 1-based position of an index.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double? Argument { get; init; }

    /// <summary>The 1-based column where this node's text starts in the formula, and its length; null for bound inputs.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public SourceSpanInfo? Span { get; init; }

    /// <summary>Whether d(loss)/d(node) is tracked: true where any parameter flows in.</summary>
    public required bool RequiresGrad { get; init; }

    /// <summary>The node's value: a number or an array.</summary>
    public required NumberOrVector Value { get; init; }

    /// <summary>d(loss)/d(node), the adjoint; absent where the node does not require grad.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public NumberOrVector? Adjoint { get; init; }
}

/// <summary>A stretch of formula text.</summary>
/// <param name="Column">1-based column of the first character.</param>
/// <param name="Length">Number of characters.</param>
/// <param name="Text">The text itself.</param>
public sealed record SourceSpanInfo(int Column, int Length, string Text);
