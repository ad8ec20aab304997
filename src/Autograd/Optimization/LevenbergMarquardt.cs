using System.Numerics;

namespace Autograd.Optimization;

/// <summary>
/// Levenberg–Marquardt for a loss c·Σ rᵢ(x)²: each step solves (JᵀJ + λ·D²)·δ = -Jᵀr with Moré's scaling D (the
/// largest column norms of J seen so far, as MINPACK's lmder), and takes x + δ (under bounds: over the free coordinates, the
/// ε-active ones moved onto their bound, then projected) when the gain ratio ρ of actual to predicted reduction is positive; λ then shrinks by
/// max(1/3, 1 - (2ρ - 1)³), else grows by a doubling factor (Nielsen's update, as in Madsen, Nielsen and
/// Tingleff, "Methods for non-linear least squares problems"). Fixed coordinates never move.
/// One <see cref="Step"/> computes one Jacobian and tries damped steps until one decreases the sum of squares.
/// </summary>
public sealed class LevenbergMarquardt<T>(IResidualObjective<T> residuals, Bounds<T>? bounds = null)
    : Optimizer<T> where T : IFloatingPointIeee754<T>
{
    const int MaxAttempts = 60;
    readonly int _n = residuals.Dimension;
    readonly int _m = residuals.Rows;
    readonly T[] _r = new T[residuals.Rows];
    readonly T[] _trialResiduals = new T[residuals.Rows];
    readonly T[] _jacobian = new T[residuals.Rows * residuals.Dimension];
    readonly T[] _normal = new T[residuals.Dimension * residuals.Dimension];
    readonly T[] _factor = new T[residuals.Dimension * residuals.Dimension];
    readonly T[] _scale = new T[residuals.Dimension];
    readonly T[] _scaleSquared = new T[residuals.Dimension];
    readonly T[] _jtr = new T[residuals.Dimension];
    readonly T[] _step = new T[residuals.Dimension];
    readonly T[] _trial = new T[residuals.Dimension];
    readonly bool[] _held = new bool[residuals.Dimension];
    T _lambda = T.CreateChecked(1e-3);
    T _growth = T.CreateChecked(2);

    public override StepResult Step(Span<T> x, T value, ReadOnlySpan<T> gradient, IObjective<T> objective)
    {
        int n = _n, m = _m;
        residuals.Jacobian(x, _r, _jacobian);
        var sumOfSquares = SumOfSquares(_r);
        if (!T.IsFinite(sumOfSquares)) return StepResult.Stuck;
        // Coordinates held by a bound (fixed, or in the ε-active set: at or near a bound that the gradient pushes
        // against) leave the system: their columns are zeroed, and they are moved onto their bound. The free ones take
        // the damped Gauss-Newton step of the reduced problem, as in projected Newton.
        if (bounds is not null) bounds.ActiveSet(x, gradient, _held);
        for (var j = 0; j < n; j++)
        {
            if (_held[j])
                for (var i = 0; i < m; i++) _jacobian[i * n + j] = T.Zero;
        }
        Array.Clear(_normal);
        Array.Clear(_jtr);
        for (var i = 0; i < m; i++)
        {
            var row = _jacobian.AsSpan(i * n, n);
            for (var a = 0; a < n; a++)
            {
                if (row[a] == T.Zero) continue;
                _jtr[a] += row[a] * _r[i];
                for (var b = 0; b <= a; b++) _normal[a * n + b] += row[a] * row[b];
            }
        }
        for (var a = 0; a < n; a++)
        {
            for (var b = 0; b < a; b++) _normal[b * n + a] = _normal[a * n + b];
            _scale[a] = T.Max(_scale[a], T.Sqrt(_normal[a * n + a]));
            // A column that is zero (a fixed or unused parameter) gets unit scale, so that its row of the system stays regular.
            _scaleSquared[a] = _scale[a] > T.Zero ? _scale[a] * _scale[a] : T.One;
        }

        for (var attempt = 0; attempt < MaxAttempts; attempt++)
        {
            if (!DenseLinearAlgebra.Cholesky<T>(_normal, _lambda, _scaleSquared, _factor, n))
            {
                _lambda *= T.CreateChecked(10);
                continue;
            }
            for (var a = 0; a < n; a++) _step[a] = -_jtr[a];
            DenseLinearAlgebra.CholeskySolve<T>(_factor, _step, n);
            for (var a = 0; a < n; a++)
                _trial[a] = !_held[a] ? x[a] + _step[a] : gradient[a] > T.Zero ? bounds!.Lower[a] : gradient[a] < T.Zero ? bounds!.Upper[a] : x[a];
            bounds?.Project(_trial);
            // The linear model's reduction for the step actually taken (after projection): ‖r‖² - ‖r + J·δ‖².
            var predicted = T.Zero;
            for (var a = 0; a < n; a++) _step[a] = _trial[a] - x[a];
            for (var i = 0; i < m; i++)
            {
                var linear = _r[i];
                for (var a = 0; a < n; a++) linear += _jacobian[i * n + a] * _step[a];
                predicted += _r[i] * _r[i] - linear * linear;
            }
            residuals.Residuals(_trial, _trialResiduals);
            var trialSum = SumOfSquares(_trialResiduals);
            var actual = sumOfSquares - trialSum;
            if (T.IsFinite(trialSum) && predicted > T.Zero && actual > T.Zero)
            {
                var rho = actual / predicted;
                var shrink = T.One - T.Pow(T.CreateChecked(2) * rho - T.One, T.CreateChecked(3));
                _lambda *= T.Max(T.CreateChecked(1.0 / 3), shrink);
                _lambda = T.Max(_lambda, T.CreateChecked(1e-300));
                _growth = T.CreateChecked(2);
                _trial.CopyTo(x);
                return StepResult.Moved;
            }
            _lambda *= _growth;
            _growth *= T.CreateChecked(2);
            if (!T.IsFinite(_lambda)) break;
        }
        _lambda = T.CreateChecked(1e-3);
        _growth = T.CreateChecked(2);
        return StepResult.Stuck;
    }

    public override void Reset()
    {
        _lambda = T.CreateChecked(1e-3);
        _growth = T.CreateChecked(2);
        Array.Clear(_scale);
    }

    public override bool CanCheckpoint => true;

    /// <summary>The damping λ, its growth factor and Moré's scaling (the largest column norms seen so far).</summary>
    public override OptimizerState ExportState() =>
        new OptimizerState("levenberg-marquardt").With<T>("damping", [_lambda, _growth]).With<T>("scale", _scale);

    public override void ImportState(OptimizerState state)
    {
        var damping = new T[2];
        state.Of("levenberg-marquardt").Read<T>("damping", damping);
        state.Read<T>("scale", _scale);
        (_lambda, _growth) = (damping[0], damping[1]);
    }

    static T SumOfSquares(ReadOnlySpan<T> values)
    {
        var sum = T.Zero;
        foreach (var v in values) sum += v * v;
        return sum;
    }
}
