using System.Numerics;
using Autograd.Api.Infrastructure;
using Autograd.Contracts;
using Autograd.Expressions;
using Autograd.Optimization;

namespace Autograd.Api.Minimize;

/// <summary>A validated, compiled minimisation waiting to run.</summary>
public interface IMinimizeWork
{
    /// <summary>Numbers one recorded iteration carries (parameters, gradient if asked, value and norm).</summary>
    int ValuesPerRecord { get; }

    /// <summary>Memory the work holds until it ends: its data and its tape; charged to the memory budget.</summary>
    long RetainedBytes { get; }

    MinimizeCompleted Run(JobProgress progress, CancellationToken cancellation);

    /// <summary>
    /// Runs from <paramref name="resume"/> (a checkpoint of this same job) if given, offering checkpoints to
    /// <paramref name="onCheckpoint"/>. Work that cannot checkpoint offers none and, never having saved one,
    /// is never resumed: a worker that takes it over runs it from the start, and its events already logged are kept.
    /// </summary>
    MinimizeCompleted Run(JobProgress progress, CancellationToken cancellation, MinimizerCheckpoint? resume, CheckpointCallback? onCheckpoint) =>
        resume is null ? Run(progress, cancellation) : throw new NotSupportedException("This work cannot resume from a checkpoint.");
    /// <summary>Gives back what the work holds (its compiled formula) when it will not run.</summary>
    void Release();
}

/// <summary>A formula loss minimised in element type <typeparamref name="T"/>.</summary>
public sealed class FormulaMinimizeWork<T>(CompiledFormula<T> compiled, IObjective<T> objective, BoundInputs inputs,
    OptimizerSettings settings, StoppingRules rules, bool includeGradient, FormulaCache cache, FormulaSource source,
    ServiceLimits limits, FitSpec? fit) : IMinimizeWork where T : IFloatingPointIeee754<T>
{
    /// <summary>The box the parameters stay in, if the request gave bounds.</summary>
    public BoundsSpec? Bounds { get; init; }

    /// <summary>The residuals, when the loss is a sum or mean of squares: for Levenberg–Marquardt and the coefficient table.</summary>
    public LeastSquaresSpec? LeastSquares { get; init; }

    public MinimizeCompleted Run(JobProgress progress, CancellationToken cancellation) => Run(progress, cancellation, null, null);

    public MinimizeCompleted Run(JobProgress progress, CancellationToken cancellation, MinimizerCheckpoint? resume, CheckpointCallback? onCheckpoint)
    {
        CompiledFormula<T>? residualFormula = null;
        try
        {
            var start = new FormulaObjective<T>(compiled).CurrentParameters();
            var box = Bounds?.For<T>();
            box?.Project(start);
            var batches = (objective is TurnTakingObjective<T> race ? race.Inner : objective) as MiniBatchObjective<T>;
            if (settings.Kind == OptimizerKind.LevenbergMarquardt)
                residualFormula = Gradients.GradientService.Rent<T>(cache, LeastSquares!.SumOfResiduals, inputs, limits);
            var optimizer = BoundedOptimizers.Create(settings, objective.Dimension, box,
                residualFormula is null ? null : new FormulaResiduals<T>(residualFormula));
            var preflight = JobInsight.Preflight(compiled, settings, batches is not null, limits);
            var last = new T[objective.Dimension];
            var lastGradient = new T[objective.Dimension];
            T lastValue = T.Zero, lastNorm = T.Zero;
            int? epoch = null;
            var lastIteration = resume?.Iteration ?? 0;
            var firstHere = lastIteration + 1;

            var outcome = Minimizer.Run(objective, start, optimizer, rules, resume, onCheckpoint, (in IterationState<T> state) =>
            {
                epoch = batches?.Epoch;
                lastIteration = state.Iteration;
                state.Parameters.CopyTo(last);
                state.Gradient.CopyTo(lastGradient);
                (lastValue, lastNorm) = (state.Value, state.GradientNorm);
                if (progress.ShouldRecord(state.Iteration))
                    Record(progress, state.Iteration, epoch, last, lastGradient, lastValue, lastNorm);
                // Also when every iteration is recorded: the status shows how far the job got.
                if (progress.SnapshotDue)
                    progress.Snapshot(state.Iteration, double.CreateChecked(state.Value), double.CreateChecked(state.GradientNorm), () => Parameters(last));
            }, cancellation, box);

            // The last iteration's record; the result below may be a later point (after its update), evaluated once more.
            if (lastIteration >= firstHere && lastIteration > progress.LastRecorded)
                Record(progress, lastIteration, epoch, last, lastGradient, lastValue, lastNorm, final: true);

            return new MinimizeCompleted
            {
                Status = outcome.Reason switch
                {
                    StopReason.Diverged => JobStatus.Failed,
                    StopReason.Cancelled => JobStatus.Cancelled,
                    _ => JobStatus.Succeeded,
                },
                StopReason = (StopReasonCode)outcome.Reason,
                Converged = outcome.Converged,
                Message = Bounds?.StartProjection is { } projection
                    ? $"{JobInsight.Message(outcome.Message, outcome.Reason, preflight)} {projection}"
                    : JobInsight.Message(outcome.Message, outcome.Reason, preflight),
                Iterations = outcome.Iterations,
                Value = outcome.Iterations > 0 && T.IsFinite(outcome.Value) ? double.CreateChecked(outcome.Value) : null,
                GradientNorm = outcome.Iterations > 0 && T.IsFinite(outcome.GradientNorm) ? double.CreateChecked(outcome.GradientNorm) : null,
                Parameters = Parameters(outcome.Parameters),
                Fit = fit is null || outcome.Iterations == 0 ? null : WithCoefficients(FitReport(fit, outcome.Parameters), fit, outcome, box),
                Certificate = JobInsight.Certificate(compiled, outcome.Parameters, outcome.Reason, outcome.Iterations, batches is not null, limits, box),
                Preflight = preflight,
            };
        }
        finally
        {
            if (residualFormula is not null) cache.Return(residualFormula);
            Release();
        }
    }

    /// <summary>
    /// For a least-squares loss, the report with the coefficient table at the result (see <see cref="LeastSquaresSummary"/>);
    /// for a mini-batch run, a note on why there is none.
    /// </summary>
    FitReport? WithCoefficients(FitReport? report, FitSpec spec, MinimizeOutcome<T> outcome, Bounds<T>? box)
    {
        if (report is null || LeastSquares is null || outcome.Reason is StopReason.Diverged or StopReason.Cancelled) return report;
        if (spec.BatchSize is not null)
            return report with
            {
                Note = "No coefficient table for a mini-batch run: its standard errors would assume the result minimises the loss over " +
                       "all rows, which stochastic steps on batches do not reach exactly. Fit without batchSize (e.g. with lbfgs or " +
                       "levenberg-marquardt) for the table.",
            };
        var formula = Gradients.GradientService.Rent<T>(cache, LeastSquares.SumOfResiduals, inputs, limits);
        try
        {
            var residuals = new FormulaResiduals<T>(formula);
            var n = residuals.Dimension;
            var r = new T[residuals.Rows];
            var jacobian = new T[residuals.Rows * n];
            residuals.Jacobian(outcome.Parameters, r, jacobian);
            var estimates = outcome.Parameters.Select(double.CreateChecked).ToArray();
            var estimated = Enumerable.Range(0, n).Select(i => box?.IsFixed(i) != true).ToArray();
            var targetSlot = Enumerable.Range(0, inputs.Specs.Count)
                .FirstOrDefault(i => inputs.Specs[i].Name == LeastSquares.Target && inputs.Specs[i].Kind == InputKind.Data, -1);
            var target = targetSlot >= 0 && inputs.Values[targetSlot].Length == r.Length ? inputs.Values[targetSlot] : [];
            var summary = LeastSquaresSummary.Compute(estimates, r.Select(double.CreateChecked).ToArray(),
                jacobian.Select(double.CreateChecked).ToArray(), estimated, target);
            var names = inputs.ParameterSlots.SelectMany(slot => Enumerable.Range(0, inputs.Specs[slot].Length)
                .Select(i => LeastSquaresRequests.Element(inputs.Specs[slot], i))).ToArray();
            static double? Finite(double v) => double.IsFinite(v) ? v : null;
            var coefficients = Enumerable.Range(0, n).Select(i => new FitCoefficient
            {
                Parameter = names[i],
                Estimate = estimates[i],
                StandardError = Finite(summary.StandardErrors[i]),
                TValue = Finite(summary.TValues[i]),
                PValue = Finite(summary.PValues[i]),
                ConfidenceLow = Finite(summary.ConfidenceLow[i]),
                ConfidenceHigh = Finite(summary.ConfidenceHigh[i]),
                Fixed = !estimated[i],
                AtBound = estimated[i] && box is not null && (outcome.Parameters[i] == box.Lower[i] || outcome.Parameters[i] == box.Upper[i]),
            }).ToArray();
            var notes = new List<string>();
            if (summary.Note is { } note) notes.Add(note);
            if (!outcome.Converged)
                notes.Add($"The run stopped by {System.Text.Json.JsonNamingPolicy.CamelCase.ConvertName(outcome.Reason.ToString())} with gradient norm {outcome.GradientNorm}, " +
                          "not by a convergence rule: the table describes the final point, the least-squares estimate only if that gradient norm is small " +
                          "for this loss's scale (set gradientNormTolerance to have convergence tested).");
            if (coefficients.Any(c => c.AtBound))
                notes.Add("Estimates on a bound have standard errors computed as if they were free; treat them with care.");
            return report with
            {
                ResidualSumOfSquares = summary.ResidualSumOfSquares,
                DegreesOfFreedom = summary.DegreesOfFreedom,
                ResidualStandardError = summary.ResidualStandardError,
                RSquared = summary.RSquared ?? report.RSquared,
                AdjustedRSquared = summary.AdjustedRSquared,
                Coefficients = coefficients,
                Correlation = summary.Correlation?.Select(row => row.Select(Finite).ToArray()).ToArray(),
                Note = notes.Count == 0 ? null : string.Join(" ", notes),
            };
        }
        finally
        {
            cache.Return(formula);
        }
    }

    public void Release() => cache.Return(compiled);

    public int ValuesPerRecord => compiled.ParameterCount * (includeGradient ? 2 : 1) + 3;

    public long RetainedBytes { get; } = inputs.Values.Sum(v => (long)v.Length * sizeof(double))
        + compiled.Tape.Nodes.Sum(node => (long)node.Length) * 2 * System.Runtime.CompilerServices.Unsafe.SizeOf<T>();

    /// <summary>Writes a recorded iteration as <see cref="MinimizeProgress"/> JSON straight from the optimizer's arrays.</summary>
    void Record(JobProgress progress, int iteration, int? epoch, T[] x, T[] gradient, T value, T norm, bool final = false)
    {
        if (!progress.BeginRecord(iteration, final)) return;
        var writer = progress.Writer;
        writer.WriteStartObject();
        writer.WriteNumber("iteration"u8, iteration);
        if (progress.Run is { } run)
        {
            writer.WriteNumber("run"u8, run);
            writer.WriteString("label"u8, progress.Label);
        }
        if (epoch is { } e) writer.WriteNumber("epoch"u8, e);
        WriteNumber(writer, "value"u8, double.CreateChecked(value));
        WriteNumber(writer, "gradientNorm"u8, double.CreateChecked(norm));
        writer.WritePropertyName("parameters"u8);
        WriteNamed(writer, x);
        if (includeGradient)
        {
            writer.WritePropertyName("gradient"u8);
            WriteNamed(writer, gradient);
        }
        writer.WriteEndObject();
        progress.EndRecord();
    }

    void WriteNamed(System.Text.Json.Utf8JsonWriter writer, ReadOnlySpan<T> flat)
    {
        writer.WriteStartObject();
        var offset = 0;
        foreach (var slot in inputs.ParameterSlots)
        {
            var spec = inputs.Specs[slot];
            writer.WritePropertyName(spec.Name);
            if (spec.IsScalar) WriteNumber(writer, flat[offset]);
            else
            {
                // A matrix as rows of its columns, a vector as one array.
                var width = spec.IsMatrix ? spec.Columns : spec.Length;
                writer.WriteStartArray();
                for (var start = 0; start < spec.Length; start += width)
                {
                    if (spec.IsMatrix) writer.WriteStartArray();
                    for (var i = start; i < start + width; i++) WriteNumber(writer, flat[offset + i]);
                    if (spec.IsMatrix) writer.WriteEndArray();
                }
                writer.WriteEndArray();
            }
            offset += spec.Length;
        }
        writer.WriteEndObject();
    }

    /// <summary>A recorded point is finite (the minimizer stops before recording anything else); null guards the JSON if not.</summary>
    static void WriteNumber(System.Text.Json.Utf8JsonWriter writer, T value)
    {
        var number = double.CreateChecked(value);
        if (double.IsFinite(number)) writer.WriteNumberValue(number);
        else writer.WriteNullValue();
    }

    static void WriteNumber(System.Text.Json.Utf8JsonWriter writer, ReadOnlySpan<byte> name, double value)
    {
        if (double.IsFinite(value)) writer.WriteNumber(name, value);
        else writer.WriteNull(name);
    }

    /// <summary>The loss over every row at the final parameters; for mse also the residual standard error and R².</summary>
    /// <returns>Null where the loss at the result is not finite (an update that overshot into overflow).</returns>
    FitReport? FitReport(FitSpec spec, T[] parameters)
    {
        var full = spec.BatchSize is null ? compiled : Gradients.GradientService.Rent<T>(cache, source, inputs, limits);
        try
        {
            var objective = new FormulaObjective<T>(full);
            var loss = double.CreateChecked(objective.ValueAndGradient(parameters, new T[parameters.Length]));
            if (!double.IsFinite(loss)) return null;
            if (spec.Loss != "mse" || spec.Target is not { } y) return new FitReport { Loss = loss, Rows = spec.Rows };
            var mean = y.Average();
            var total = y.Sum(v => (v - mean) * (v - mean));
            var residual = loss * spec.Rows;
            var freedom = spec.Rows - parameters.Length;
            return new FitReport
            {
                Loss = loss,
                Rows = spec.Rows,
                ResidualStandardError = freedom > 0 && double.IsFinite(residual) ? Math.Sqrt(residual / freedom) : null,
                RSquared = total > 0 && double.IsFinite(residual) ? 1 - residual / total : null,
            };
        }
        finally
        {
            if (!ReferenceEquals(full, compiled)) cache.Return(full);
        }
    }

    Dictionary<string, NumberOrVector> Parameters(ReadOnlySpan<T> flat)
    {
        var result = new Dictionary<string, NumberOrVector>();
        var offset = 0;
        foreach (var slot in inputs.ParameterSlots)
        {
            var spec = inputs.Specs[slot];
            result[spec.Name] = Gradients.GradientService.ToContract(flat.Slice(offset, spec.Length), spec.IsScalar, spec.Columns);
            offset += spec.Length;
        }
        return result;
    }
}
