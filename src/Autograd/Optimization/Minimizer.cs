using System.Diagnostics;
using System.Numerics;

namespace Autograd.Optimization;

/// <summary>Why a run stopped; the first three are convergence.</summary>
public enum StopReason
{
    GradientNormTolerance,
    ValueChangeTolerance,
    ParameterChangeTolerance,
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

/// <summary>How a run ended.</summary>
/// <param name="Iterations">Iterations whose loss was evaluated.</param>
/// <param name="Parameters">After the last update; for a diverged run, the last point with a finite loss and gradient.</param>
/// <param name="Value">The loss at the last evaluated finite point.</param>
public sealed record MinimizeOutcome<T>(StopReason Reason, string Message, int Iterations, T[] Parameters, T Value, T GradientNorm)
    where T : IFloatingPointIeee754<T>
{
    public bool Converged => Reason <= StopReason.ParameterChangeTolerance;
}

/// <summary>The loop of the tutorial: evaluate, report, test the stopping rules, update; repeat.</summary>
public static class Minimizer
{
    public static MinimizeOutcome<T> Run<T>(IObjective<T> objective, ReadOnlySpan<T> start, Optimizer<T> optimizer,
        StoppingRules rules, IterationCallback<T>? onIteration = null, CancellationToken cancellation = default)
        where T : IFloatingPointIeee754<T>
    {
        var n = objective.Dimension;
        var x = start.ToArray();
        var gradient = new T[n];
        var lastFinite = start.ToArray();
        var before = new T[n];
        T value = T.Zero, lastValue = T.NaN, gradientNorm = T.Zero;
        var clock = Stopwatch.StartNew();

        for (var k = 1; k <= rules.MaxIterations; k++)
        {
            if (cancellation.IsCancellationRequested)
                return Stop(StopReason.Cancelled, $"Cancelled before iteration {k}.", k - 1);
            if (rules.TimeLimit is { } limit && clock.Elapsed > limit)
                return Stop(StopReason.TimeLimit, $"Stopped after {limit.TotalSeconds:0.###} s, the time limit, at iteration {k - 1}.", k - 1);

            (objective as IIterationAware)?.BeginIteration(k);
            value = objective.ValueAndGradient(x, gradient);
            gradientNorm = Norm(gradient);
            if (!T.IsFinite(value) || !T.IsFinite(gradientNorm) || !AllFinite(x))
                return Stop(StopReason.Diverged,
                    $"Diverged at iteration {k}: the loss is {value} and the gradient norm {gradientNorm}; the result is the last point where both were finite.",
                    k, diverged: true);
            x.CopyTo(lastFinite, 0);
            onIteration?.Invoke(new IterationState<T>(k, value, gradientNorm, x, gradient));

            if (rules.GradientNormTolerance is { } gTol && double.CreateChecked(gradientNorm) <= gTol)
                return Stop(StopReason.GradientNormTolerance, $"Converged at iteration {k}: gradient norm {gradientNorm} ≤ {gTol}.", k);
            if (rules.ValueChangeTolerance is { } vTol && k > 1 && double.CreateChecked(T.Abs(value - lastValue)) <= vTol)
                return Stop(StopReason.ValueChangeTolerance, $"Converged at iteration {k}: the loss changed by {T.Abs(value - lastValue)} ≤ {vTol}.", k);
            lastValue = value;

            x.CopyTo(before, 0);
            optimizer.Step(x, value, gradient, objective);
            if (rules.ParameterChangeTolerance is { } pTol)
            {
                var moved = Distance(before, x);
                if (double.CreateChecked(moved) <= pTol)
                    return Stop(StopReason.ParameterChangeTolerance, $"Converged at iteration {k}: the update moved the parameters by {moved} ≤ {pTol}.", k);
            }
        }
        return Stop(StopReason.MaxIterations, $"Reached maxIterations = {rules.MaxIterations} with loss {value} and gradient norm {gradientNorm}.", rules.MaxIterations);

        MinimizeOutcome<T> Stop(StopReason reason, string message, int iterations, bool diverged = false) =>
            new(reason, message, iterations, diverged || !AllFinite(x) ? lastFinite : x, diverged ? lastValue : value, gradientNorm);
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
