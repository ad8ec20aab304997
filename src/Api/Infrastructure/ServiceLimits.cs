namespace Autograd.Api.Infrastructure;

/// <summary>Limits on what one request may ask for; configured under <c>Limits</c>, documented in the README.</summary>
public sealed class ServiceLimits
{
    public const string Section = "Limits";

    /// <summary>Bytes in a request body.</summary>
    public long MaxRequestBodyBytes { get; set; } = 64 * 1024 * 1024;

    /// <summary>Characters in a formula.</summary>
    public int MaxExpressionLength { get; set; } = 100_000;

    /// <summary>Numbers, names, operators, calls and indexings in a formula.</summary>
    public int MaxExpressionNodes { get; set; } = 50_000;

    /// <summary>Nesting depth of a formula's syntax tree.</summary>
    public int MaxExpressionDepth { get; set; } = 10_000;

    /// <summary>Numbers a recorded formula may hold over all its nodes: bounds the memory of one request.</summary>
    public long MaxTapeElements { get; set; } = 50_000_000;

    /// <summary>Numbers a tape may hold for <c>explain</c> to return it node by node.</summary>
    public long MaxExplainElements { get; set; } = 100_000;

    /// <summary>Parameter elements in one request (a vector of 10 counts 10).</summary>
    public int MaxParameterElements { get; set; } = 100_000;

    /// <summary>Flattened parameter elements for which a Hessian may be asked (it has this many squared entries).</summary>
    public int MaxHessianParameters { get; set; } = 200;

    /// <summary>Rows in a data column.</summary>
    public int MaxDataRows { get; set; } = 2_000_000;

    /// <summary>Grid points along each axis of a /surface request.</summary>
    public int MaxSurfaceResolution { get; set; } = 200;

    /// <summary>Grid points times data rows that one /surface request may evaluate.</summary>
    public long MaxSurfaceElementEvaluations { get; set; } = 200_000_000;

    /// <summary>
    /// Tape numbers times sweeps that a gradient check, certificate or preflight may spend (a check replays the tape 4
    /// times per parameter element; a certificate or preflight does one Hessian-vector product per step).
    /// </summary>
    public long MaxInsightElementSweeps { get; set; } = 200_000_000;

    /// <summary>Compiled formulas kept for replay.</summary>
    public int FormulaCacheSize { get; set; } = 256;

    public Autograd.Expressions.FormulaLimits FormulaLimits =>
        new(MaxExpressionLength, MaxExpressionNodes, MaxExpressionDepth, MaxTapeElements);
}
