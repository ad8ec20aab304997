using System.Numerics;

namespace Autograd.Optimization;

/// <summary>What one <see cref="Optimizer{T}.Step"/> did.</summary>
public enum StepResult
{
    /// <summary>The rule updated the point (an update too small to change any bit is noticed by the minimizer).</summary>
    Moved,
    /// <summary>The rule found nowhere to go: its search found no better point, even along steepest descent. The point is unchanged.</summary>
    Stuck,
}

/// <summary>
/// One update rule. <see cref="Step"/> receives the point, the loss and gradient just evaluated there,
/// and moves the point in place; the update is plain arithmetic, never recorded on a tape (torch's
/// <c>with_no_grad</c>). Rules that search along a direction may evaluate <paramref name="objective"/> again.
/// </summary>
public abstract class Optimizer<T> where T : IFloatingPointIeee754<T>
{
    public abstract StepResult Step(Span<T> x, T value, ReadOnlySpan<T> gradient, IObjective<T> objective);

    /// <summary>Forgets the state of earlier steps (momentum, moments, curvature pairs), as if newly created.</summary>
    public virtual void Reset()
    {
    }

    /// <summary>True when <see cref="ExportState"/> and <see cref="ImportState"/> carry all that later steps depend on, so a run can be checkpointed and resumed.</summary>
    public virtual bool CanCheckpoint => false;

    /// <summary>The state later steps depend on, as plain data.</summary>
    public virtual OptimizerState ExportState() => throw new NotSupportedException($"{GetType().Name} cannot be checkpointed.");

    /// <summary>Takes over the state a twin (same rule, settings and dimension) exported.</summary>
    public virtual void ImportState(OptimizerState state) => throw new NotSupportedException($"{GetType().Name} cannot be checkpointed.");

    protected static T Dot(ReadOnlySpan<T> a, ReadOnlySpan<T> b)
    {
        var sum = T.Zero;
        for (var i = 0; i < a.Length; i++) sum += a[i] * b[i];
        return sum;
    }

    protected static T Of(double value) => T.CreateChecked(value);
}
