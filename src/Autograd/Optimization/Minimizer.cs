using System.Diagnostics;
using System.Numerics;

namespace Autograd.Optimization;

/// <summary>Why a run stopped; the first three are convergence.</summary>
public enum StopReason
{
    GradientNormTolerance,
    ValueChangeTolerance,
    ParameterChangeTolerance,
    /// <summary><see cref="Minimizer.StallLimit"/> iterations in a row left the parameters as they were.</summary>
    NoProgress,
    MaxIterations,
    TimeLimit,
    Diverged,
    Cancelled,
}

/// <summary>When to stop. A null tolerance is not checked; <see cref="MaxIterations"/> always is.</summary>
public sealed record StoppingRules(int MaxIterations)
{
    /// <summary>Stop when the Euclidean norm of the gradient is at most this.</summary>
    public double? GradientNormTolerance { get; init; }
    /// <summary>Stop when the loss changed by at most this from the previous iteration.</summary>
    public double? ValueChangeTolerance { get; init; }
    /// <summary>Stop when an update moved the parameters by at most this (Euclidean norm).</summary>
    public double? ParameterChangeTolerance { get; init; }
    public TimeSpan? TimeLimit { get; init; }
}

/// <summary>
/// What iteration <see cref="Iteration"/> (1-based) saw: the point at which the loss was evaluated, the
/// loss and the gradient there. The update follows the report, as in the tutorial's loop.
/// </summary>
public readonly ref struct IterationState<T>(int iteration, T value, T gradientNorm, ReadOnlySpan<T> parameters, ReadOnlySpan<T> gradient)
    where T : IFloatingPointIeee754<T>
{
    public int Iteration { get; } = iteration;
    public T Value { get; } = value;
    public T GradientNorm { get; } = gradientNorm;
    public ReadOnlySpan<T> Parameters { get; } = parameters;
    public ReadOnlySpan<T> Gradient { get; } = gradient;
}

public delegate void IterationCallback<T>(in IterationState<T> state) where T : IFloatingPointIeee754<T>;

/// <summary>How a run ended: why, and the result, a point with its own loss and gradient norm.</summary>
/// <param name="Iterations">Iterations whose loss was evaluated; a last evaluation at the final parameters is not one.</param>
/// <param name="Parameters">
/// The final point: after the last update, evaluated once more if that update moved it; for a diverged run, the
/// last point where the loss and gradient were finite; the start when no iteration ran.
/// </param>
/// <param name="Value">The loss at <paramref name="Parameters"/> (for mini-batches, on the last iteration's batch); NaN if never evaluated.</param>
/// <param name="GradientNorm">The gradient's Euclidean norm at <paramref name="Parameters"/>; NaN if never evaluated.</param>
public sealed record MinimizeOutcome<T>(StopReason Reason, string Message, int Iterations, T[] Parameters, T Value, T GradientNorm)
    where T : IFloatingPointIeee754<T>
{
    public bool Converged => Reason <= StopReason.ParameterChangeTolerance;
}

/// <summary>The loop of the tutorial: evaluate, report, test the stopping rules, update; repeat.</summary>
public static class Minimizer
{
    /// <summary>
    /// Iterations in a row whose update changed no parameter, or whose optimizer found nowhere to go, after which a
    /// run ends as <see cref="StopReason.NoProgress"/>. More than one, because a rule with state (momentum, moments,
    /// a fresh mini-batch, a line search restarted from steepest descent) may move again after one still step.
    /// </summary>
    public const int StallLimit = 3;

    public static MinimizeOutcome<T> Run<T>(IObjective<T> objective, ReadOnlySpan<T> start, Optimizer<T> optimizer,
        StoppingRules rules, IterationCallback<T>? onIteration = null, CancellationToken cancellation = default,
        Bounds<T>? bounds = null)
        where T : IFloatingPointIeee754<T> =>
        Run(objective, start, optimizer, rules, null, null, onIteration, cancellation, bounds);

    /// <summary>
    /// Runs as <see cref="Run{T}(IObjective{T}, ReadOnlySpan{T}, Optimizer{T}, StoppingRules, IterationCallback{T}?, CancellationToken, Bounds{T}?)"/>,
    /// from <paramref name="resume"/> if given (a checkpoint of a run with the same objective, optimizer settings and rules;
    /// <paramref name="start"/> is then not used), offering a checkpoint to <paramref name="onCheckpoint"/> after each update
    /// when the optimizer and objective can be checkpointed.
    /// </summary>
    public static MinimizeOutcome<T> Run<T>(IObjective<T> objective, ReadOnlySpan<T> start, Optimizer<T> optimizer,
        StoppingRules rules, MinimizerCheckpoint? resume, CheckpointCallback? onCheckpoint,
        IterationCallback<T>? onIteration = null, CancellationToken cancellation = default, Bounds<T>? bounds = null)
        where T : IFloatingPointIeee754<T>
    {
        // Under bounds, the gradient norm reported and tested is the projected gradient's: zero at a solution on the box.
        T ReportedNorm(ReadOnlySpan<T> point, ReadOnlySpan<T> g) => bounds is null ? Minimizer.Norm(g) : bounds.ProjectedGradientNorm(point, g);
        var n = objective.Dimension;
        var x = start.ToArray();
        var gradient = new T[n];
        // The last point evaluated with a finite loss and gradient, and those two there: the result, unless an update
        // moved on from it.
        var evaluated = start.ToArray();
        T value = T.NaN, gradientNorm = T.NaN, previousValue = T.NaN;
        var before = new T[n];
        var stalled = 0;
        var clock = Stopwatch.StartNew();
        var first = 1;
        var earlier = TimeSpan.Zero;
        if (resume is not null)
        {
            if (resume.Parameters.Length != n || resume.Evaluated.Length != n)
                throw new ArgumentException($"The checkpoint has {resume.Parameters.Length} parameters; the objective has {n}.", nameof(resume));
            x = CheckpointVectors.FromDoubles<T>(resume.Parameters);
            evaluated = CheckpointVectors.FromDoubles<T>(resume.Evaluated);
            (value, gradientNorm, previousValue) = (T.CreateChecked(resume.Value), T.CreateChecked(resume.GradientNorm), T.CreateChecked(resume.PreviousValue));
            stalled = resume.Stalled;
            earlier = TimeSpan.FromSeconds(resume.ElapsedSeconds);
            optimizer.ImportState(resume.Optimizer);
            if (resume.Batches is { } batches)
                (objective as ICheckpointedObjective ?? throw new ArgumentException("The checkpoint has mini-batches; the objective has none.", nameof(resume)))
                    .ImportState(batches);
            if (objective is IReplayHistory history) history.ReplayHistory = resume.ReplayHistory;
            first = resume.Iteration + 1;
        }
        var checkpoints = onCheckpoint is not null && optimizer.CanCheckpoint
            && (objective is ICheckpointedObjective || objective is not IIterationAware);

        for (var k = first; k <= rules.MaxIterations; k++)
        {
            if (cancellation.IsCancellationRequested)
                return Finish(StopReason.Cancelled, k - 1, $"Cancelled before iteration {k}.");
            if (rules.TimeLimit is { } limit && clock.Elapsed + earlier > limit)
                return Finish(StopReason.TimeLimit, k - 1, $"Stopped after {limit.TotalSeconds:0.###} s, the time limit, at iteration {k - 1}.");

            (objective as IIterationAware)?.BeginIteration(k);
            var newValue = objective.ValueAndGradient(x, gradient);
            var newNorm = ReportedNorm(x, gradient);
            if (!T.IsFinite(newValue) || !T.IsFinite(newNorm) || !AllFinite(x))
                return new(StopReason.Diverged,
                    $"Diverged at iteration {k}: the loss is {newValue} and the gradient norm {newNorm}; the result is the last point where both were finite.",
                    k, evaluated, value, gradientNorm);
            x.CopyTo(evaluated, 0);
            (value, gradientNorm) = (newValue, newNorm);
            onIteration?.Invoke(new IterationState<T>(k, value, gradientNorm, x, gradient));

            if (rules.GradientNormTolerance is { } gTol && double.CreateChecked(gradientNorm) <= gTol)
                return Finish(StopReason.GradientNormTolerance, k, $"Converged at iteration {k}: gradient norm {gradientNorm} ≤ {gTol}.");
            if (rules.ValueChangeTolerance is { } vTol && k > 1 && double.CreateChecked(T.Abs(value - previousValue)) <= vTol)
                return Finish(StopReason.ValueChangeTolerance, k, $"Converged at iteration {k}: the loss changed by {T.Abs(value - previousValue)} ≤ {vTol}.");
            previousValue = value;

            x.CopyTo(before, 0);
            var result = optimizer.Step(x, value, gradient, objective);
            if (rules.ParameterChangeTolerance is { } pTol)
            {
                var moved = Distance(before, x);
                if (double.CreateChecked(moved) <= pTol)
                    return Finish(StopReason.ParameterChangeTolerance, k, $"Converged at iteration {k}: the update moved the parameters by {moved} ≤ {pTol}.");
            }
            // A stuck rule leaves the point as it was, so the result is the point just evaluated.
            var stuck = result == StepResult.Stuck;
            stalled = stuck || x.AsSpan().SequenceEqual(before) ? stalled + 1 : 0;
            if (stalled == StallLimit)
                return Finish(StopReason.NoProgress, k, stuck
                    ? $"No progress: the optimizer's search found no better point in {StallLimit} iterations in a row; stopped at iteration {k} with loss {value} and gradient norm {gradientNorm}."
                    : $"No progress: {StallLimit} updates in a row changed no parameter; stopped at iteration {k} with loss {value} and gradient norm {gradientNorm}.");
            if (checkpoints)
            {
                // The capture may be called later, until the next iteration begins (a race's round ends): it must not see k move on.
                var done = k;
                onCheckpoint!(done, () => Capture(done));
            }
        }
        return Finish(StopReason.MaxIterations, rules.MaxIterations, null);

        // The result is the point after the last update. If that update moved it, it is evaluated once more (not an
        // iteration), so that the loss and gradient norm reported are its own.
        // A null message is that of maxIterations, which names the final loss and gradient norm.
        MinimizeOutcome<T> Finish(StopReason reason, int iterations, string? message)
        {
            if (iterations == 0 || x.AsSpan().SequenceEqual(evaluated))
                return new(reason, message ?? Reached(), iterations, evaluated, value, gradientNorm);
            var finalValue = objective.ValueAndGradient(x, gradient);
            var finalNorm = ReportedNorm(x, gradient);
            if (!T.IsFinite(finalValue) || !T.IsFinite(finalNorm) || !AllFinite(x))
                return new(StopReason.Diverged,
                    $"Diverged after iteration {iterations}: its update led to loss {finalValue} and gradient norm {finalNorm}; the result is the last point where both were finite.",
                    iterations, evaluated, value, gradientNorm);
            x.CopyTo(evaluated, 0);
            (value, gradientNorm) = (finalValue, finalNorm);
            if (reason is StopReason.MaxIterations or StopReason.TimeLimit
                && rules.GradientNormTolerance is { } gTol && double.CreateChecked(gradientNorm) <= gTol)
                return new(StopReason.GradientNormTolerance,
                    $"Converged after iteration {iterations}: gradient norm {gradientNorm} ≤ {gTol} at the final parameters.",
                    iterations, evaluated, value, gradientNorm);
            return new(reason, message ?? Reached(), iterations, evaluated, value, gradientNorm);
        }

        MinimizerCheckpoint Capture(int iteration) => new(iteration, CheckpointVectors.ToDoubles<T>(x), CheckpointVectors.ToDoubles<T>(evaluated),
            double.CreateChecked(value), double.CreateChecked(gradientNorm), double.CreateChecked(previousValue), stalled,
            (clock.Elapsed + earlier).TotalSeconds, optimizer.ExportState(), (objective as ICheckpointedObjective)?.ExportState())
        {
            ReplayHistory = (objective as IReplayHistory)?.ReplayHistory ?? 0,
        };

        string Reached() => $"Reached maxIterations = {rules.MaxIterations} with loss {value} and gradient norm {gradientNorm}.";
    }

    public static T Norm<T>(ReadOnlySpan<T> values) where T : IFloatingPointIeee754<T>
    {
        var sum = T.Zero;
        foreach (var v in values) sum += v * v;
        return T.Sqrt(sum);
    }

    static T Distance<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b) where T : IFloatingPointIeee754<T>
    {
        var sum = T.Zero;
        for (var i = 0; i < a.Length; i++) sum += (a[i] - b[i]) * (a[i] - b[i]);
        return T.Sqrt(sum);
    }

    static bool AllFinite<T>(ReadOnlySpan<T> values) where T : IFloatingPointIeee754<T>
    {
        foreach (var v in values) if (!T.IsFinite(v)) return false;
        return true;
    }
}
