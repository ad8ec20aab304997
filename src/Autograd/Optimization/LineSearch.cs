using System.Numerics;

namespace Autograd.Optimization;

/// <summary>
/// The strong-Wolfe line search of Nocedal and Wright (Numerical Optimization, algorithms 3.5 and 3.6),
/// with safeguarded cubic interpolation in the zoom phase, as torch.optim.LBFGS uses it.
/// </summary>
internal sealed class StrongWolfeLineSearch<T>(int dimension) where T : IFloatingPointIeee754<T>
{
    static readonly T C1 = T.CreateChecked(1e-4), C2 = T.CreateChecked(0.9);
    const int MaxEvaluations = 25;

    readonly T[] _x0 = new T[dimension];
    readonly T[] _direction = new T[dimension];
    int _evaluations;

    /// <summary>The point reached, its loss and gradient, after <see cref="Search"/>.</summary>
    public T[] Point { get; } = new T[dimension];
    public T[] Gradient { get; } = new T[dimension];
    public T Value { get; private set; } = T.Zero;

    /// <summary>Searches along <paramref name="direction"/> from x0; returns false if it found no decrease.</summary>
    public bool Search(IObjective<T> objective, ReadOnlySpan<T> x0, T f0, ReadOnlySpan<T> g0, ReadOnlySpan<T> direction, T initialStep)
    {
        x0.CopyTo(_x0);
        direction.CopyTo(_direction);
        _evaluations = 0;
        var slope0 = Dot(g0, direction);
        if (!(slope0 < T.Zero)) return false;

        T previous = T.Zero, fPrevious = f0, slopePrevious = slope0, step = initialStep;
        while (_evaluations < MaxEvaluations)
        {
            var (f, slope) = Evaluate(objective, step);
            if (!T.IsFinite(f)) return Zoom(objective, f0, slope0, previous, step, fPrevious, f, slopePrevious, slope);
            if (f > f0 + C1 * step * slope0 || (_evaluations > 1 && f >= fPrevious))
                return Zoom(objective, f0, slope0, previous, step, fPrevious, f, slopePrevious, slope);
            if (T.Abs(slope) <= -C2 * slope0) return true;
            if (slope >= T.Zero)
                return Zoom(objective, f0, slope0, step, previous, f, fPrevious, slope, slopePrevious);
            (previous, fPrevious, slopePrevious) = (step, f, slope);
            step *= T.CreateChecked(2);
        }
        return Value < f0;
    }

    bool Zoom(IObjective<T> objective, T f0, T slope0, T low, T high, T fLow, T fHigh, T slopeLow, T slopeHigh)
    {
        while (_evaluations < MaxEvaluations)
        {
            var step = Interpolate(low, fLow, slopeLow, high, fHigh, slopeHigh);
            var (f, slope) = Evaluate(objective, step);
            if (!T.IsFinite(f) || f > f0 + C1 * step * slope0 || f >= fLow)
            {
                (high, fHigh, slopeHigh) = (step, f, slope);
            }
            else
            {
                if (T.Abs(slope) <= -C2 * slope0) return true;
                if (slope * (high - low) >= T.Zero) (high, fHigh, slopeHigh) = (low, fLow, slopeLow);
                (low, fLow, slopeLow) = (step, f, slope);
            }
            if (T.Abs(high - low) <= T.CreateChecked(1e-12) * T.Max(T.One, T.Abs(low))) break;
        }
        if (low == T.Zero || !(fLow < f0)) return false;
        Evaluate(objective, low);
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
        for (var i = 0; i < Point.Length; i++) Point[i] = _x0[i] + step * _direction[i];
        Value = objective.ValueAndGradient(Point, Gradient);
        return (Value, Dot(Gradient, _direction));
    }

    static T Dot(ReadOnlySpan<T> a, ReadOnlySpan<T> b)
    {
        var sum = T.Zero;
        for (var i = 0; i < a.Length; i++) sum += a[i] * b[i];
        return sum;
    }
}
