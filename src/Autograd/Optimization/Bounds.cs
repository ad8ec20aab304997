using System.Numerics;

namespace Autograd.Optimization;

/// <summary>
/// A box lower ≤ x ≤ upper over the flat parameter vector; an infinite side is no bound. A coordinate with
/// lower = upper is fixed. Projection clamps each coordinate; the projected gradient x - P(x - g) is zero
/// exactly at the points that satisfy the box's first-order (KKT) conditions.
/// </summary>
public sealed class Bounds<T> where T : IFloatingPointIeee754<T>
{
    public Bounds(T[] lower, T[] upper)
    {
        if (lower.Length != upper.Length) throw new ArgumentException("lower and upper differ in length.");
        for (var i = 0; i < lower.Length; i++)
            if (T.IsNaN(lower[i]) || T.IsNaN(upper[i]) || lower[i] > upper[i])
                throw new ArgumentException($"Element {i}: lower {lower[i]} is above upper {upper[i]}.");
        Lower = lower;
        Upper = upper;
    }

    public T[] Lower { get; }
    public T[] Upper { get; }
    public int Dimension => Lower.Length;

    public bool IsFixed(int i) => Lower[i] == Upper[i];

    /// <summary>Clamps <paramref name="x"/> into the box in place; true if any coordinate moved.</summary>
    public bool Project(Span<T> x)
    {
        var moved = false;
        for (var i = 0; i < x.Length; i++)
        {
            var clamped = T.Min(T.Max(x[i], Lower[i]), Upper[i]);
            if (clamped != x[i]) moved = true;
            x[i] = clamped;
        }
        return moved;
    }

    /// <summary>
    /// The projected gradient's i-th element, x - P(x - g): the gradient where the coordinate is free to move
    /// downhill, and only the distance to the bound where a bound stops it.
    /// </summary>
    public T ProjectedGradient(ReadOnlySpan<T> x, ReadOnlySpan<T> gradient, int i) =>
        x[i] - T.Min(T.Max(x[i] - gradient[i], Lower[i]), Upper[i]);

    /// <summary>The Euclidean norm of the projected gradient: the certificate of a stationary point in the box.</summary>
    public T ProjectedGradientNorm(ReadOnlySpan<T> x, ReadOnlySpan<T> gradient)
    {
        var sum = T.Zero;
        for (var i = 0; i < x.Length; i++)
        {
            var p = ProjectedGradient(x, gradient, i);
            sum += p * p;
        }
        return T.Sqrt(sum);
    }

    /// <summary>
    /// The ε-active set of Bertsekas' projected Newton method: coordinates within ε of a bound whose gradient
    /// pushes against it, and fixed coordinates. ε = min(ε₀, ‖x - P(x - g)‖) shrinks as the point converges,
    /// so that the set settles on the bounds active at the solution.
    /// </summary>
    public void ActiveSet(ReadOnlySpan<T> x, ReadOnlySpan<T> gradient, Span<bool> active)
    {
        var epsilon = T.Min(T.CreateChecked(1e-3), ProjectedGradientNorm(x, gradient));
        for (var i = 0; i < x.Length; i++)
            active[i] = IsFixed(i)
                || (x[i] <= Lower[i] + epsilon && gradient[i] > T.Zero)
                || (x[i] >= Upper[i] - epsilon && gradient[i] < T.Zero);
    }
}

/// <summary>
/// A first-order rule made to honour a box by projecting after each of its steps (projected gradient descent,
/// projected Adam, ...): the rule's own update, then each coordinate clamped into the box.
/// </summary>
public sealed class ProjectedOptimizer<T>(Optimizer<T> inner, Bounds<T> bounds) : Optimizer<T>
    where T : IFloatingPointIeee754<T>
{
    public override StepResult Step(Span<T> x, T value, ReadOnlySpan<T> gradient, IObjective<T> objective)
    {
        var result = inner.Step(x, value, gradient, objective);
        bounds.Project(x);
        return result;
    }

    public override void Reset() => inner.Reset();

    /// <summary>The projection keeps nothing between steps: the state is the rule's own.</summary>
    public override bool CanCheckpoint => inner.CanCheckpoint;

    public override OptimizerState ExportState() => inner.ExportState();

    public override void ImportState(OptimizerState state) => inner.ImportState(state);
}
