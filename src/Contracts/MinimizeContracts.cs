using System.Text.Json.Serialization;

namespace Autograd.Contracts;

/// <summary>A minimisation to run as a job: the loss and start point as for /gradient, an optimizer and when to stop.</summary>
public sealed record MinimizeRequest
{
    /// <summary>The loss in the formula language; it must give a single number. Or give model, target and loss instead.</summary>
    public string? Expression { get; init; }

    /// <summary>Shorthand instead of expression: the model's prediction as a formula over parameters and data, e.g. <c>b0 + b1*x</c>.</summary>
    public string? Model { get; init; }

    /// <summary>With model: the data column the model predicts.</summary>
    public string? Target { get; init; }

    /// <summary>With model: mse (default), mae, huber, logcosh or bce (binary cross-entropy of sigmoid(model) against a 0/1 target).</summary>
    public string? Loss { get; init; }

    /// <summary>With model: settings of the loss; huber takes <c>delta</c> (default 1).</summary>
    public Dictionary<string, double>? LossOptions { get; init; }

    /// <summary>
    /// With model: data columns bound as the matrix <c>X = cbind(...)</c>, one row per data row: a list of names, or
    /// <c>"*"</c> for every data column but the target, so that <c>b0 + X %*% w</c> with loss bce is a logistic regression.
    /// </summary>
    public FeatureSelection? Features { get; init; }

    /// <summary>The id of a stored dataset (POST /datasets); instead of <c>data</c>.</summary>
    public string? Dataset { get; init; }

    /// <summary>Rows per iteration; each iteration is one mini-batch step. Default: all rows.</summary>
    public int? BatchSize { get; init; }

    /// <summary>With batchSize: draw a new order of the rows each epoch.</summary>
    public bool Shuffle { get; init; }

    /// <summary>With shuffle: the seed of the row order, so that runs are reproducible bit for bit (default 0).</summary>
    public int Seed { get; init; }

    /// <summary>The starting point: each parameter a number or an array of numbers.</summary>
    public Dictionary<string, NumberOrVector>? Parameters { get; init; }

    /// <summary>Fixed values by name.</summary>
    public Dictionary<string, NumberOrVector>? Constants { get; init; }

    /// <summary>Data by name: columns (arrays of numbers) and matrices (arrays of rows, e.g. a design matrix X), all with the same number of rows.</summary>
    public Dictionary<string, NumberOrVector>? Data { get; init; }

    /// <summary><c>float64</c> (default) or <c>float32</c>.</summary>
    public DType Dtype { get; init; } = DType.Float64;

    /// <summary>The update rule and its settings.</summary>
    public OptimizerRequest? Optimizer { get; init; }

    /// <summary>
    /// A race instead of <c>optimizer</c>: 2 to 8 configurations run from the same start in one job, their iterations
    /// interleaved in the stream (each event names its run); the result ranks them.
    /// </summary>
    public OptimizerRequest[]? Optimizers { get; init; }

    /// <summary>With optimizers: the loss a run must reach; the ranking puts the runs that reach it first, by iterations to it.</summary>
    public double? RaceTarget { get; init; }

    /// <summary>Required: the most iterations to run (one iteration = one loss evaluation and one update).</summary>
    public int? MaxIterations { get; init; }

    /// <summary>Stop as converged when the gradient's Euclidean norm is at most this.</summary>
    public double? GradientNormTolerance { get; init; }

    /// <summary>Stop as converged when the loss changes by at most this between iterations.</summary>
    public double? ValueChangeTolerance { get; init; }

    /// <summary>Stop as converged when an update moves the parameters by at most this (Euclidean norm).</summary>
    public double? ParameterChangeTolerance { get; init; }

    /// <summary>Stop after this many seconds of running (capped by the service's own wall-clock limit).</summary>
    public double? TimeLimitSeconds { get; init; }

    /// <summary>Record every n-th iteration (and always the first and the last); default 1.</summary>
    public int RecordEvery { get; init; } = 1;

    /// <summary>Include the gradient in each recorded iteration.</summary>
    public bool IncludeGradient { get; init; }

    /// <summary>
    /// Box bounds by parameter name: <c>min</c> and/or <c>max</c>, a number for every element or an array with one per
    /// element. min = max fixes a parameter. A start outside the box is projected into it.
    /// </summary>
    public Dictionary<string, ParameterBounds>? Bounds { get; init; }

    /// <summary>
    /// Instead of expression or model: the residuals of a least-squares fit, one per data row, e.g. <c>y - (b0 + b1*x)</c>;
    /// the loss minimised is <c>sum((residuals)^2)</c>.
    /// </summary>
    public string? Residuals { get; init; }
}

/// <summary>Lower and upper bounds of one parameter; a side left out is unbounded.</summary>
public sealed record ParameterBounds
{
    /// <summary>Lower bound: a number for every element, or an array with one per element.</summary>
    public NumberOrVector? Min { get; init; }
    /// <summary>Upper bound: a number for every element, or an array with one per element.</summary>
    public NumberOrVector? Max { get; init; }
}

/// <summary>
/// An optimizer following torch.optim's update rules. Unset settings take torch's defaults; the learning
/// rate defaults to 0.01 (sgd, rmsprop, adagrad), 0.001 (adam, adamw) or 1 (lbfgs, newton).
/// </summary>
public sealed record OptimizerRequest
{
    /// <summary>sgd, adam, adamw, rmsprop, adagrad, lbfgs, newton or levenberg-marquardt (least-squares losses only).</summary>
    public string? Type { get; init; }
    /// <summary>In a race: the run's name in events and ranking (default: the type, numbered when a type repeats).</summary>
    public string? Label { get; init; }
    /// <summary>Step size; must be positive.</summary>
    public double? LearningRate { get; init; }
    /// <summary>sgd, rmsprop: momentum factor (default 0).</summary>
    public double? Momentum { get; init; }
    /// <summary>sgd: dampening of momentum (default 0).</summary>
    public double? Dampening { get; init; }
    /// <summary>sgd: Nesterov momentum (default false).</summary>
    public bool? Nesterov { get; init; }
    /// <summary>L2 penalty (default 0; adamw: decoupled, default 0.01).</summary>
    public double? WeightDecay { get; init; }
    /// <summary>adam, adamw: the two moment decay rates (default [0.9, 0.999]).</summary>
    public double[]? Betas { get; init; }
    /// <summary>adam, adamw, rmsprop, adagrad: term added to the denominator.</summary>
    public double? Eps { get; init; }
    /// <summary>adam, adamw: the AMSGrad variant (default false).</summary>
    public bool? Amsgrad { get; init; }
    /// <summary>rmsprop: smoothing constant (default 0.99).</summary>
    public double? Alpha { get; init; }
    /// <summary>rmsprop: normalise by the estimated variance (default false).</summary>
    public bool? Centered { get; init; }
    /// <summary>adagrad: learning-rate decay (default 0).</summary>
    public double? LearningRateDecay { get; init; }
    /// <summary>adagrad: starting value of the accumulator (default 0).</summary>
    public double? InitialAccumulatorValue { get; init; }
    /// <summary>lbfgs: number of curvature pairs kept (default 10).</summary>
    public int? HistorySize { get; init; }
    /// <summary>lbfgs: <c>strong_wolfe</c> (default) or <c>none</c> (a fixed step of the learning rate).</summary>
    public string? LineSearch { get; init; }
}

/// <summary>Where a job is in its life.</summary>
[JsonConverter(typeof(NamedEnumConverter<JobStatus>))]
public enum JobStatus
{
    /// <summary>Waiting for a worker.</summary>
    [JsonStringEnumMemberName("queued")] Queued,
    /// <summary>Iterating.</summary>
    [JsonStringEnumMemberName("running")] Running,
    /// <summary>Stopped by a stopping rule (converged, iteration limit or time limit) or because it could make no further progress.</summary>
    [JsonStringEnumMemberName("succeeded")] Succeeded,
    /// <summary>Diverged, or failed with an error.</summary>
    [JsonStringEnumMemberName("failed")] Failed,
    /// <summary>Cancelled by DELETE or by the service shutting down.</summary>
    [JsonStringEnumMemberName("cancelled")] Cancelled,
}

/// <summary>Why a finished job stopped.</summary>
[JsonConverter(typeof(NamedEnumConverter<StopReasonCode>))]
public enum StopReasonCode
{
    /// <summary>Converged: the gradient norm fell to gradientNormTolerance (at an iteration, or at the result after the last update).</summary>
    [JsonStringEnumMemberName("gradientNormTolerance")] GradientNormTolerance,
    /// <summary>Converged: the loss changed by at most valueChangeTolerance.</summary>
    [JsonStringEnumMemberName("valueChangeTolerance")] ValueChangeTolerance,
    /// <summary>Converged: an update moved the parameters by at most parameterChangeTolerance.</summary>
    [JsonStringEnumMemberName("parameterChangeTolerance")] ParameterChangeTolerance,
    /// <summary>
    /// Not converged, but the optimizer could not move the parameters any further: three iterations in a row changed
    /// no parameter, or found no lower loss even along steepest descent. The job succeeded; its result is where it
    /// stalled, and gradientNorm says how close to a stationary point that is.
    /// </summary>
    [JsonStringEnumMemberName("noProgress")] NoProgress,
    /// <summary>Ran maxIterations iterations.</summary>
    [JsonStringEnumMemberName("maxIterations")] MaxIterations,
    /// <summary>Reached timeLimitSeconds (status succeeded) or, first, the service's wall-clock cap per job (status failed).</summary>
    [JsonStringEnumMemberName("timeLimit")] TimeLimit,
    /// <summary>The loss or gradient became non-finite; the result is the last finite point.</summary>
    [JsonStringEnumMemberName("diverged")] Diverged,
    /// <summary>Cancelled by DELETE or shutdown.</summary>
    [JsonStringEnumMemberName("cancelled")] Cancelled,
    /// <summary>An unexpected error; see message.</summary>
    [JsonStringEnumMemberName("error")] Error,
}

/// <summary>A minimisation job: its status, progress and, once finished, its result.</summary>
public sealed record MinimizeJob
{
    /// <summary>The job's id, as in <c>/minimize/{id}</c>.</summary>
    public required string Id { get; init; }
    /// <summary>queued, running, succeeded, failed or cancelled.</summary>
    public required JobStatus Status { get; init; }
    /// <summary>The loss being minimised; for the model shorthand, its expansion.</summary>
    public required string Expression { get; init; }
    /// <summary>The dataset the job reads, if any.</summary>
    public string? Dataset { get; init; }
    /// <summary>Rows per iteration when fitting in mini-batches.</summary>
    public int? BatchSize { get; init; }
    /// <summary>How well the result fits the whole dataset, for a finished job over data.</summary>
    public FitReport? Fit { get; init; }
    /// <summary>True when the start point lay outside the bounds and was projected into them before the first iteration.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public bool? StartProjected { get; init; }
    /// <summary>The curvature certificate at the result, for a finished job.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public CurvatureCertificate? Certificate { get; init; }
    /// <summary>The learning-rate preflight at the start, for first-order optimizers.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public LearningRatePreflight? Preflight { get; init; }
    /// <summary>The optimizer's type.</summary>
    public required string Optimizer { get; init; }
    /// <summary>float64 or float32.</summary>
    public required DType Dtype { get; init; }
    /// <summary>The iteration cap.</summary>
    public required int MaxIterations { get; init; }
    /// <summary>Iterations evaluated so far.</summary>
    public int Iteration { get; init; }
    /// <summary>
    /// While running, the loss at the latest evaluated point; once finished, the loss at <see cref="Parameters"/> (for
    /// mini-batches, on the last iteration's batch).
    /// </summary>
    public double? Value { get; init; }
    /// <summary>The gradient's Euclidean norm at the same point as <see cref="Value"/>.</summary>
    public double? GradientNorm { get; init; }
    /// <summary>
    /// While running, the latest evaluated point; once finished, the result: the parameters after the last update (for
    /// a diverged job, the last point where the loss and gradient were finite), with <see cref="Value"/> and
    /// <see cref="GradientNorm"/> evaluated there.
    /// </summary>
    public Dictionary<string, NumberOrVector>? Parameters { get; init; }
    /// <summary>Why it stopped, once finished.</summary>
    public StopReasonCode? StopReason { get; init; }
    /// <summary>True when a convergence rule stopped it.</summary>
    public bool? Converged { get; init; }
    /// <summary>What happened, with the numbers.</summary>
    public string? Message { get; init; }
    /// <summary>Every n-th iteration is recorded; it grows when the event log is decimated.</summary>
    public int RecordEvery { get; init; }
    /// <summary>Recorded iterations kept.</summary>
    public int RecordedIterations { get; init; }
    /// <summary>True when older recorded iterations were thinned out to respect the per-job event cap.</summary>
    public bool Decimated { get; init; }
    /// <summary>
    /// True when the recorded iterations were evicted to keep the service within its memory budget (the oldest
    /// finished jobs' go first): this summary stays, but the trace and the event stream answer 410.
    /// </summary>
    public bool EventsEvicted { get; init; }
    /// <summary>When the job was accepted.</summary>
    public DateTimeOffset CreatedAt { get; init; }
    /// <summary>When a worker started it.</summary>
    public DateTimeOffset? StartedAt { get; init; }
    /// <summary>When it finished.</summary>
    public DateTimeOffset? FinishedAt { get; init; }
    /// <summary>Seconds spent running so far.</summary>
    public double ElapsedSeconds { get; init; }
    /// <summary>For a finished race (optimizers): every run, best first.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public RaceRun[]? Race { get; init; }
}

/// <summary>One recorded iteration: the point at which the loss was evaluated, the loss and gradient there (the update follows).</summary>
public sealed record MinimizeProgress
{
    /// <summary>1-based iteration number; also the event's SSE id (in a race: iteration × runs + run).</summary>
    public required int Iteration { get; init; }
    /// <summary>In a race: the 0-based index of the run, in the order of <c>optimizers</c>.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public int? Run { get; init; }
    /// <summary>In a race: the run's label.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Label { get; init; }
    /// <summary>The 1-based epoch, when fitting in mini-batches.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public int? Epoch { get; init; }
    /// <summary>The loss at <see cref="Parameters"/>.</summary>
    public required double Value { get; init; }
    /// <summary>Euclidean norm of the gradient.</summary>
    public required double GradientNorm { get; init; }
    /// <summary>The point at which the loss was evaluated in this iteration.</summary>
    public required Dictionary<string, NumberOrVector> Parameters { get; init; }
    /// <summary>The gradient there, when includeGradient was asked.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public Dictionary<string, NumberOrVector>? Gradient { get; init; }
}

/// <summary>
/// The final event of a job's stream: its end state and result, one point with its own loss and gradient norm. The
/// stream closes after it.
/// </summary>
public sealed record MinimizeCompleted
{
    /// <summary>succeeded, failed or cancelled.</summary>
    public required JobStatus Status { get; init; }
    /// <summary>Why it stopped.</summary>
    public required StopReasonCode StopReason { get; init; }
    /// <summary>True when a convergence rule stopped it.</summary>
    public required bool Converged { get; init; }
    /// <summary>What happened, with the numbers.</summary>
    public required string Message { get; init; }
    /// <summary>Iterations evaluated. When the last update moved the parameters, the result is evaluated once more; that is not an iteration.</summary>
    public required int Iterations { get; init; }
    /// <summary>The loss at <see cref="Parameters"/> (for mini-batches, on the last iteration's batch); absent when none was evaluated.</summary>
    public double? Value { get; init; }
    /// <summary>The gradient's Euclidean norm at <see cref="Parameters"/>.</summary>
    public double? GradientNorm { get; init; }
    /// <summary>
    /// The result: the parameters after the last update; for a diverged job (including one whose last update made the
    /// loss non-finite), the last point where the loss and gradient were finite.
    /// </summary>
    public Dictionary<string, NumberOrVector>? Parameters { get; init; }
    /// <summary>How well the result fits the whole dataset, for a job over data.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public FitReport? Fit { get; init; }
    /// <summary>For a race: every run, best first; the fields above are the best run's.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public RaceRun[]? Race { get; init; }
    /// <summary>The curvature certificate at the result: Hessian eigenvalues and whether it is a minimum, saddle or maximum.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public CurvatureCertificate? Certificate { get; init; }
    /// <summary>The learning-rate preflight at the start, for sgd, adam, adamw, rmsprop and adagrad.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public LearningRatePreflight? Preflight { get; init; }
}

/// <summary>Sent when older recorded iterations were thinned out to respect the per-job event cap.</summary>
public sealed record MinimizeDecimated
{
    /// <summary>Every n-th iteration is recorded from now on.</summary>
    public required int RecordEvery { get; init; }
    /// <summary>What happened.</summary>
    public required string Message { get; init; }
}
