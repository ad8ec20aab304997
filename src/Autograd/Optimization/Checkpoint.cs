using System.Numerics;

namespace Autograd.Optimization;

/// <summary>
/// What an optimizer carries from one step to the next (moments, momentum buffers, curvature pairs, step counts), as
/// plain data that serialises: named vectors in float64 (exact for float32 and float64 elements) and named counters.
/// </summary>
[method: System.Text.Json.Serialization.JsonConstructor]
public sealed record OptimizerState(string Rule, Dictionary<string, double[]> Vectors, Dictionary<string, long> Counters)
{
    /// <summary>An empty state of <paramref name="rule"/>, for the <c>With</c> calls to fill.</summary>
    public OptimizerState(string rule) : this(rule, [], []) { }

    public OptimizerState With<T>(string name, ReadOnlySpan<T> values) where T : IFloatingPointIeee754<T>
    {
        var copy = new double[values.Length];
        for (var i = 0; i < values.Length; i++) copy[i] = double.CreateChecked(values[i]);
        Vectors[name] = copy;
        return this;
    }

    public OptimizerState With(string name, long value)
    {
        Counters[name] = value;
        return this;
    }

    /// <summary>Copies the vector <paramref name="name"/> into <paramref name="into"/>, which must have its length.</summary>
    public void Read<T>(string name, Span<T> into) where T : IFloatingPointIeee754<T>
    {
        var values = Vector(name);
        if (values.Length != into.Length)
            throw new ArgumentException($"The checkpoint's '{name}' has {values.Length} elements, not {into.Length}.", nameof(name));
        for (var i = 0; i < values.Length; i++) into[i] = T.CreateChecked(values[i]);
    }

    public double[] Vector(string name) =>
        Vectors.TryGetValue(name, out var values) ? values : throw new ArgumentException($"The checkpoint of {Rule} has no '{name}'.", nameof(name));

    public long Counter(string name) =>
        Counters.TryGetValue(name, out var value) ? value : throw new ArgumentException($"The checkpoint of {Rule} has no '{name}'.", nameof(name));

    /// <summary>Throws unless the state is one of <paramref name="rule"/>.</summary>
    public OptimizerState Of(string rule) =>
        Rule == rule ? this : throw new ArgumentException($"A checkpoint of {Rule} cannot resume {rule}.", nameof(rule));
}

/// <summary>Where a mini-batch run is: the epoch of the last iteration and that epoch's row order.</summary>
public sealed record MiniBatchState(int Epoch, int[] Order);

/// <summary>
/// An objective over a compiled formula whose replay history (<see cref="Expressions.CompiledFormula{T}.ReplayHistory"/>)
/// a checkpoint carries, so that a resumed run's replay switches loops where the original's did.
/// </summary>
public interface IReplayHistory
{
    long ReplayHistory { get; set; }
}

/// <summary>An objective whose state between iterations (which rows come next) a checkpoint saves and restores.</summary>
public interface ICheckpointedObjective
{
    /// <summary>The state, or null when there is none to save (a wrapper around an objective over all rows).</summary>
    MiniBatchState? ExportState();
    void ImportState(MiniBatchState state);
}

/// <summary>
/// A run between two iterations, as plain data: everything <see cref="Minimizer.Run{T}(IObjective{T}, ReadOnlySpan{T}, Optimizer{T}, StoppingRules, MinimizerCheckpoint?, CheckpointCallback?, IterationCallback{T}?, CancellationToken)"/>
/// needs to carry on as if it had never stopped, so that the resumed run gives the same iterations bit for bit.
/// </summary>
/// <param name="Iteration">Iterations done (their updates applied).</param>
/// <param name="Parameters">The point the next iteration evaluates.</param>
/// <param name="Evaluated">The last point evaluated with a finite loss and gradient, and those two there.</param>
/// <param name="PreviousValue">The loss of iteration <paramref name="Iteration"/>, for the value-change rule.</param>
/// <param name="Stalled">Updates in a row that went nowhere.</param>
/// <param name="ElapsedSeconds">Time the run has taken so far, counted against its time limit.</param>
public sealed record MinimizerCheckpoint(int Iteration, double[] Parameters, double[] Evaluated, double Value, double GradientNorm,
    double PreviousValue, int Stalled, double ElapsedSeconds, OptimizerState Optimizer, MiniBatchState? Batches)
{
    /// <summary>The objective's <see cref="IReplayHistory.ReplayHistory"/> at the checkpoint; 0 for objectives without one.</summary>
    public long ReplayHistory { get; init; }

    /// <summary>
    /// For several runs that take turns (an optimizer race), each run's own state after the round
    /// <paramref name="Iteration"/>; the other members then describe no run (<see cref="OfLanes"/>).
    /// </summary>
    public LaneCheckpoint[]? Lanes { get; init; }

    /// <summary>A checkpoint of several runs taking turns, taken when every run still going has done round <paramref name="round"/>.</summary>
    public static MinimizerCheckpoint OfLanes(int round, double elapsedSeconds, LaneCheckpoint[] lanes) =>
        new(round, [], [], 0, 0, 0, 0, elapsedSeconds, new OptimizerState("lanes"), null) { Lanes = lanes };
}

/// <summary>
/// One run of several taking turns: its checkpoint while it runs, or, once it has ended, its result as its owner
/// serialised it (it is not run again); and the owner's counters for it (evaluations, time).
/// </summary>
public sealed record LaneCheckpoint(MinimizerCheckpoint? Running, System.Text.Json.JsonElement? Ended, Dictionary<string, double> Counters);

/// <summary>
/// Called after each iteration's update; <paramref name="capture"/> builds the checkpoint (it copies the state, so call
/// it only when one is due).
/// </summary>
public delegate void CheckpointCallback(int iteration, Func<MinimizerCheckpoint> capture);

static class CheckpointVectors
{
    public static double[] ToDoubles<T>(ReadOnlySpan<T> values) where T : IFloatingPointIeee754<T>
    {
        var copy = new double[values.Length];
        for (var i = 0; i < values.Length; i++) copy[i] = double.CreateChecked(values[i]);
        return copy;
    }

    public static T[] FromDoubles<T>(double[] values) where T : IFloatingPointIeee754<T>
    {
        var copy = new T[values.Length];
        for (var i = 0; i < values.Length; i++) copy[i] = T.CreateChecked(values[i]);
        return copy;
    }
}
