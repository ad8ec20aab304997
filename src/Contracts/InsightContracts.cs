using System.Text.Json.Serialization;

namespace Autograd.Contracts;

/// <summary>The gradient check: every parameter element's reverse-mode derivative against central differences.</summary>
public sealed record GradientCheck
{
    /// <summary>True when no element failed (elements at a kink are not failures).</summary>
    public required bool Passed { get; init; }
    /// <summary>Elements that failed.</summary>
    public required int Failures { get; init; }
    /// <summary>Elements whose differences straddle a kink (abs or relu at 0, a min/max tie, clamp at a bound).</summary>
    public required int Kinks { get; init; }
    /// <summary>How the estimate is formed and what passes.</summary>
    public required string Method { get; init; }
    /// <summary>One entry per parameter element, in request order.</summary>
    public required GradientCheckElement[] Elements { get; init; }
}

/// <summary>One parameter element's check.</summary>
public sealed record GradientCheckElement
{
    /// <summary>The parameter's name, with the 1-based element for a vector, e.g. <c>w[2]</c>.</summary>
    public required string Parameter { get; init; }
    /// <summary>The reverse-mode derivative (the value in <c>gradient</c>).</summary>
    public required double Reverse { get; init; }
    /// <summary>The central-difference estimate, Richardson-extrapolated from steps h and h/2.</summary>
    public required double Estimate { get; init; }
    /// <summary>|reverse - estimate|.</summary>
    public required double AbsoluteError { get; init; }
    /// <summary>|reverse - estimate| / max(|reverse|, |estimate|); 0 when both are 0.</summary>
    public required double RelativeError { get; init; }
    /// <summary>The step h: eps^(1/3)·max(1, |x|).</summary>
    public required double Step { get; init; }
    /// <summary>The largest absolute error that passes: rtol·max(|reverse|, |estimate|) plus the rounding of the differences.</summary>
    public required double Tolerance { get; init; }
    /// <summary>Whether the element passed; null at a kink, where finite differences prove nothing.</summary>
    public bool? Passed { get; init; }
    /// <summary>The kink the differences straddle: which op, where in the formula, and the convention the gradient follows.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Kink { get; init; }
}

/// <summary>
/// The curvature at a point: the Hessian's eigenvalues and what they make of it. A point with a small gradient
/// and kind <c>saddle</c> is not a minimum, whatever the optimizer's stopping rule said.
/// </summary>
public sealed record CurvatureCertificate
{
    /// <summary>minimum, saddle, maximum or degenerate (an eigenvalue within the tolerance of 0); absent when skipped.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Kind { get; init; }
    /// <summary>Ascending Hessian eigenvalues: all of them up to the Hessian limit, else the smallest and largest (Lanczos).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double[]? Eigenvalues { get; init; }
    /// <summary>True when <c>eigenvalues</c> holds every eigenvalue.</summary>
    public bool Complete { get; init; }
    /// <summary>jacobi (dense Hessian, all eigenvalues) or lanczos (Hessian-vector products, the extremes).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Method { get; init; }
    /// <summary>An eigenvalue within ±tolerance of 0 counts as 0: sqrt(eps)·max(1, max|λ|).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double? Tolerance { get; init; }
    /// <summary>max|λ| / min|λ|; absent where an eigenvalue is 0 within the tolerance.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double? ConditionNumber { get; init; }
    /// <summary>The gradient's Euclidean norm at the point; for a bounded job, the projected gradient's.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double? GradientNorm { get; init; }
    /// <summary>
    /// For a bounded job: the parameter elements a bound holds at the point (fixed, or on a bound the gradient pushes
    /// against), left out of the eigenvalues, which are those of the Hessian over the free elements.
    /// </summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public int? HeldByBounds { get; init; }
    /// <summary>Hessian-vector products spent.</summary>
    public int HessianVectorProducts { get; init; }
    /// <summary>Why there is no certificate (mini-batches, a tape too large, a non-finite Hessian), when skipped.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Skipped { get; init; }
}

/// <summary>The learning-rate preflight of a first-order optimizer: the curvature at the start and the stable sgd rate.</summary>
public sealed record LearningRatePreflight
{
    /// <summary>The largest Hessian eigenvalue at the start, by power iteration on Hessian-vector products.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double? LambdaMax { get; init; }
    /// <summary>2/lambdaMax: the largest rate at which plain gradient descent is stable on the local quadratic; absent when lambdaMax ≤ 0.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double? StableLearningRate { get; init; }
    /// <summary>The learning rate the job uses.</summary>
    public double LearningRate { get; init; }
    /// <summary>Set when the learning rate is above the stable rate (sgd) or more than 10 times it (adaptive optimizers).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Warning { get; init; }
    /// <summary>Why there is no estimate (mini-batches, a tape too large, a non-finite curvature), when skipped.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Skipped { get; init; }
}

/// <summary>A parameter's derivative written in the formula language.</summary>
public sealed record SymbolicDerivative
{
    /// <summary>d(loss)/d(parameter) as a formula, with <c>let</c> statements for shared subexpressions; for a vector parameter see <c>elements</c>.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Expression { get; init; }
    /// <summary>For a vector parameter: one formula per element, d(loss)/d(parameter[i]).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string[]? Elements { get; init; }
    /// <summary>True when the service evaluated the text at the point and it agreed with the tape's gradient.</summary>
    public required bool Verified { get; init; }
    /// <summary>The largest relative difference between the text's value and the tape's gradient.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double? MaxRelativeError { get; init; }
    /// <summary>Why there is no verified formula (an op the language cannot write the derivative of, or disagreement).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Note { get; init; }
}
