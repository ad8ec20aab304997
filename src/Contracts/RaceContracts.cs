namespace Autograd.Contracts;

/// <summary>One run of an optimizer race: its configuration, result and place.</summary>
public sealed record RaceRun
{
    /// <summary>1 for the best run. Runs that reached raceTarget come first, by iterations to it; then by final loss, then iterations.</summary>
    public required int Rank { get; init; }
    /// <summary>0-based index of the run in <c>optimizers</c>; the <c>run</c> of its events.</summary>
    public required int Run { get; init; }
    /// <summary>The run's label.</summary>
    public required string Label { get; init; }
    /// <summary>The optimizer's type.</summary>
    public required string Optimizer { get; init; }
    /// <summary>succeeded, failed or cancelled.</summary>
    public required JobStatus Status { get; init; }
    /// <summary>Why it stopped.</summary>
    public required StopReasonCode StopReason { get; init; }
    /// <summary>True when a convergence rule stopped it.</summary>
    public required bool Converged { get; init; }
    /// <summary>What happened, with the numbers.</summary>
    public required string Message { get; init; }
    /// <summary>Iterations evaluated.</summary>
    public required int Iterations { get; init; }
    /// <summary>Loss evaluations, line searches included (lbfgs takes several per iteration).</summary>
    public required int Evaluations { get; init; }
    /// <summary>The loss at <see cref="Parameters"/>.</summary>
    public double? Value { get; init; }
    /// <summary>The gradient's Euclidean norm at <see cref="Parameters"/>.</summary>
    public double? GradientNorm { get; init; }
    /// <summary>The run's result.</summary>
    public Dictionary<string, NumberOrVector>? Parameters { get; init; }
    /// <summary>Seconds this run computed (the others' turns not counted).</summary>
    public required double Seconds { get; init; }
    /// <summary>The first iteration whose loss was at most raceTarget; null if none was (or no target was given).</summary>
    public int? IterationsToTarget { get; init; }
    /// <summary>This run's computing seconds up to that iteration.</summary>
    public double? SecondsToTarget { get; init; }
}
