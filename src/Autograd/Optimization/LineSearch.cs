using System.Numerics;

namespace Autograd.Optimization;

/// <summary>
/// The strong-Wolfe line search of Nocedal and Wright (Numerical Optimization, algorithms 3.5 and 3.6),
/// with safeguarded cubic interpolation in the zoom phase, as torch.optim.LBFGS uses it. Its tolerances
/// are measured in parameter space and relative to the loss, so that scaling the loss or the parameters
/// changes none of its decisions.
/// </summary>
internal sealed class StrongWolfeLineSearch<T>(int dimension) where T : IFloatingPointIeee754<T>
{
    static readonly T C1 = T.CreateChecked(1e-4), C2 = T.CreateChecked(0.9);
    static readonly T Epsilon = T.BitIncrement(T.One) - T.One;
    /// <summary>
    /// The part of |f0| below which two losses are taken to differ by rounding alone: a hundred units of rounding,
    /// more than a sum of some thousands of terms usually loses.
    /// </summary>
    static readonly T RelativeNoise = T.CreateChecked(100) * Epsilon;
    const int MaxEvaluations = 25;

    readonly T[] _x0 = new T[dimension];
    readonly T[] _direction = new T[dimension];
    int _evaluations;
    T _f0 = T.Zero, _slope0 = T.Zero, _noise = T.Zero, _lastStep = T.Zero;
    // Squared gradient norms at x0 and at the point last evaluated.
    T _gradientSquare0 = T.Zero, _gradientSquare = T.Zero;

    /// <summary>The point reached, its loss and gradient, after <see cref="Search"/>.</summary>
    public T[] Point { get; } = new T[dimension];
    public T[] Gradient { get; } = new T[dimension];
    public T Value { get; private set; } = T.Zero;

    /// <summary>Searches along <paramref name="direction"/> from x0; returns false if it found no acceptable point.</summary>
    public bool Search(IObjective<T> objective, ReadOnlySpan<T> x0, T f0, ReadOnlySpan<T> g0, ReadOnlySpan<T> direction, T initialStep)
    {
        x0.CopyTo(_x0);
        direction.CopyTo(_direction);
        _evaluations = 0;
        var slope0 = Dot(g0, direction);
        if (!(slope0 < T.Zero) || !T.IsFinite(initialStep) || !(initialStep > T.Zero)) return false;
        (_f0, _slope0, _noise, _gradientSquare0) = (f0, slope0, RelativeNoise * T.Abs(f0), Dot(g0, g0));

        T previous = T.Zero, fPrevious = f0, slopePrevious = slope0, step = initialStep;
        while (_evaluations < MaxEvaluations)
        {
            var (f, slope) = Evaluate(objective, step);
            if (!T.IsFinite(f) || !DecreasesEnough(step, f) || (_evaluations > 1 && NotLower(f, fPrevious, step)))
                return Zoom(objective, previous, step, fPrevious, f, slopePrevious, slope);
            if (T.Abs(slope) <= -C2 * slope0) return true;
            if (slope >= T.Zero)
                return Zoom(objective, step, previous, f, fPrevious, slope, slopePrevious);
            (previous, fPrevious, slopePrevious) = (step, f, slope);
            step *= T.CreateChecked(2);
        }
        // Every trial so far decreased the loss enough and still sloped down: the last one is the best.
        return true;
    }

    bool Zoom(IObjective<T> objective, T low, T high, T fLow, T fHigh, T slopeLow, T slopeHigh)
    {
        while (_evaluations < MaxEvaluations && !BracketIsExhausted(low, high))
        {
            var step = Interpolate(low, fLow, slopeLow, high, fHigh, slopeHigh);
            var (f, slope) = Evaluate(objective, step);
            if (!T.IsFinite(f) || !DecreasesEnough(step, f) || NotLower(f, fLow, step))
            {
                (high, fHigh, slopeHigh) = (step, f, slope);
            }
            else
            {
                if (T.Abs(slope) <= -C2 * _slope0) return true;
                if (slope * (high - low) >= T.Zero) (high, fHigh, slopeHigh) = (low, fLow, slopeLow);
                (low, fLow, slopeLow) = (step, f, slope);
            }
        }
        // The best point found, if any: every low but the starting one passed the decrease test.
        if (low == T.Zero) return false;
        if (_lastStep != low) Evaluate(objective, low);
        return true;
    }

    /// <summary>
    /// Whether a step's promised decrease, C1·step·slope0, is larger than the rounding noise of the loss. Below it,
    /// comparing losses decides nothing, and the gradient decides instead (after the approximate Wolfe conditions of
    /// Hager and Zhang): that is what lets a run drive the gradient far below what the loss itself can resolve.
    /// </summary>
    bool Resolvable(T step) => -C1 * step * _slope0 > _noise;

    /// <summary>
    /// Armijo's sufficient decrease of the loss (at the point just evaluated). Where the loss cannot resolve it: no
    /// increase beyond the noise, and a smaller gradient, so that a run at the bottom does not wander from one
    /// rounding of the minimum to the next but runs out of points to go to.
    /// </summary>
    bool DecreasesEnough(T step, T f) => Resolvable(step)
        ? f <= _f0 + C1 * step * _slope0
        : f <= _f0 + _noise && _gradientSquare < _gradientSquare0;

    bool NotLower(T f, T than, T step) => Resolvable(step) ? f >= than : f > than + _noise;

    /// <summary>
    /// True when the bracket is narrower than the parameters' resolution: moving from one end to the other changes
    /// no parameter by more than a rounding error. Measured in parameter space (step times direction), as torch's
    /// tolerance_change is, and relative to each parameter, so that neither the loss's scale nor the direction's
    /// length matters.
    /// </summary>
    bool BracketIsExhausted(T low, T high)
    {
        var width = T.Abs(high - low);
        for (var i = 0; i < _x0.Length; i++)
            if (width * T.Abs(_direction[i]) > Epsilon * T.Abs(_x0[i] + low * _direction[i])) return false;
        return true;
    }

    /// <summary>The minimiser of the cubic through both ends' values and slopes, kept inside the bracket.</summary>
    static T Interpolate(T x1, T f1, T g1, T x2, T f2, T g2)
    {
        T lower = T.Min(x1, x2), upper = T.Max(x1, x2), width = upper - lower;
        var middle = (lower + upper) / T.CreateChecked(2);
        if (!T.IsFinite(f1) || !T.IsFinite(f2) || !T.IsFinite(g1) || !T.IsFinite(g2)) return middle;
        var d1 = g1 + g2 - T.CreateChecked(3) * (f1 - f2) / (x1 - x2);
        var d2Square = d1 * d1 - g1 * g2;
        if (d2Square < T.Zero) return middle;
        var d2 = T.Sqrt(d2Square);
        var minimum = x1 <= x2
            ? x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + T.CreateChecked(2) * d2))
            : x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + T.CreateChecked(2) * d2));
        var margin = T.CreateChecked(0.1) * width;
        if (!T.IsFinite(minimum) || minimum < lower + margin || minimum > upper - margin) return middle;
        return minimum;
    }

    (T Value, T Slope) Evaluate(IObjective<T> objective, T step)
    {
        _evaluations++;
        _lastStep = step;
        for (var i = 0; i < Point.Length; i++) Point[i] = _x0[i] + step * _direction[i];
        Value = objective.ValueAndGradient(Point, Gradient);
        _gradientSquare = Dot(Gradient, Gradient);
        return (Value, Dot(Gradient, _direction));
    }

    static T Dot(ReadOnlySpan<T> a, ReadOnlySpan<T> b)
    {
        var sum = T.Zero;
        for (var i = 0; i < a.Length; i++) sum += a[i] * b[i];
        return sum;
    }
}
