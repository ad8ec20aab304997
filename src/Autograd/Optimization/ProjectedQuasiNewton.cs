using System.Numerics;

namespace Autograd.Optimization;

/// <summary>
/// The projected backtracking search of Bertsekas' two-metric projection methods: trial points P(x + α·d) for
/// α = α₀, α₀/2, ..., accepted at the first with f(P(x + αd)) ≤ f(x) + 10⁻⁴·gᵀ(P(x + αd) - x), a sufficient
/// decrease along the projection arc. With d a descent direction on the free coordinates and -g (scaled) on the
/// ε-active ones, every limit point is stationary in the box (Bertsekas 1982, "Projected Newton methods for
/// optimization problems with simple constraints").
/// </summary>
static class ProjectedSearch
{
    const int MaxHalvings = 60;

    /// <summary>Moves <paramref name="x"/> to the accepted point; false (x unchanged) if none decreased the loss enough.</summary>
    public static bool Search<T>(IObjective<T> objective, Bounds<T> bounds, Span<T> x, T value, ReadOnlySpan<T> gradient,
        ReadOnlySpan<T> direction, T initialStep, T[] trial, T[] trialGradient) where T : IFloatingPointIeee754<T>
    {
        var step = initialStep;
        for (var halving = 0; halving < MaxHalvings; halving++, step /= T.CreateChecked(2))
        {
            for (var i = 0; i < x.Length; i++) trial[i] = x[i] + step * direction[i];
            bounds.Project(trial);
            var slope = T.Zero;
            for (var i = 0; i < x.Length; i++) slope += gradient[i] * (trial[i] - x[i]);
            if (!(slope < T.Zero)) continue;
            var trialValue = objective.ValueAndGradient(trial, trialGradient);
            if (T.IsFinite(trialValue) && trialValue <= value + T.CreateChecked(1e-4) * slope)
            {
                trial.CopyTo(x);
                return true;
            }
        }
        return false;
    }
}

/// <summary>
/// L-BFGS under box bounds as a projected quasi-Newton method (Bertsekas' two-metric projection, the simpler
/// relative of L-BFGS-B): coordinates in the ε-active set (at or near a bound, the gradient pushing against it)
/// take a projected steepest-descent step; the free ones take the two-loop recursion's direction computed over
/// the free coordinates only; then <see cref="ProjectedSearch"/>. Pairs whose curvature over the free coordinates
/// is not positive are left out of the recursion. The line search is always the projected backtracking one.
/// </summary>
public sealed class ProjectedLbfgs<T>(int dimension, Bounds<T> bounds, double learningRate = 1, int historySize = 10)
    : Optimizer<T> where T : IFloatingPointIeee754<T>
{
    static readonly T Epsilon = T.BitIncrement(T.One) - T.One;
    readonly T _lr = Of(learningRate);
    readonly List<(T[] S, T[] Y)> _history = [];
    readonly bool[] _active = new bool[dimension];
    readonly T[] _direction = new T[dimension];
    readonly T[] _previousX = new T[dimension];
    readonly T[] _previousGradient = new T[dimension];
    readonly T[] _trial = new T[dimension];
    readonly T[] _trialGradient = new T[dimension];
    readonly T[] _alpha = new T[Math.Max(historySize, 1)];
    readonly T[] _rho = new T[Math.Max(historySize, 1)];
    bool _moved;

    public override StepResult Step(Span<T> x, T value, ReadOnlySpan<T> gradient, IObjective<T> objective)
    {
        if (_moved) Remember(x, gradient);
        x.CopyTo(_previousX);
        gradient.CopyTo(_previousGradient);
        bounds.ActiveSet(x, gradient, _active);
        ComputeDirection(gradient);
        if (!ProjectedSearch.Search(objective, bounds, x, value, gradient, _direction, InitialStep(x, gradient), _trial, _trialGradient))
        {
            _moved = false;
            if (_history.Count == 0) return StepResult.Stuck;
            _history.Clear();
            ComputeDirection(gradient);
            if (!ProjectedSearch.Search(objective, bounds, x, value, gradient, _direction, InitialStep(x, gradient), _trial, _trialGradient))
                return StepResult.Stuck;
        }
        _moved = true;
        return StepResult.Moved;
    }

    public override void Reset()
    {
        _history.Clear();
        _moved = false;
    }

    public override bool CanCheckpoint => true;

    /// <summary>The curvature pairs (oldest first), the previous point and gradient, and whether the last step moved.</summary>
    public override OptimizerState ExportState()
    {
        var state = new OptimizerState("projected-lbfgs").With<T>("previousX", _previousX).With<T>("previousGradient", _previousGradient)
            .With("moved", _moved ? 1 : 0).With("pairs", _history.Count);
        for (var k = 0; k < _history.Count; k++) state.With<T>($"s{k}", _history[k].S).With<T>($"y{k}", _history[k].Y);
        return state;
    }

    public override void ImportState(OptimizerState state)
    {
        state.Of("projected-lbfgs").Read<T>("previousX", _previousX);
        state.Read<T>("previousGradient", _previousGradient);
        _moved = state.Counter("moved") != 0;
        var pairs = checked((int)state.Counter("pairs"));
        if (pairs > _alpha.Length) throw new ArgumentException($"The checkpoint holds {pairs} curvature pairs; this L-BFGS keeps {_alpha.Length}.", nameof(state));
        _history.Clear();
        for (var k = 0; k < pairs; k++)
        {
            var (s, y) = (new T[_direction.Length], new T[_direction.Length]);
            state.Read<T>($"s{k}", s);
            state.Read<T>($"y{k}", y);
            _history.Add((s, y));
        }
    }

    T InitialStep(ReadOnlySpan<T> x, ReadOnlySpan<T> gradient)
    {
        if (_history.Count > 0) return _lr;
        var oneNorm = T.Zero;
        for (var i = 0; i < x.Length; i++) oneNorm += T.Abs(bounds.ProjectedGradient(x, gradient, i));
        return oneNorm > T.Zero ? _lr / oneNorm : _lr;
    }

    void Remember(ReadOnlySpan<T> x, ReadOnlySpan<T> gradient)
    {
        var n = x.Length;
        T[] s, y;
        if (_history.Count == _alpha.Length)
        {
            (s, y) = _history[0];
            _history.RemoveAt(0);
        }
        else
        {
            (s, y) = (new T[n], new T[n]);
        }
        T ys = T.Zero, promised = T.Zero;
        for (var i = 0; i < n; i++)
        {
            s[i] = x[i] - _previousX[i];
            y[i] = gradient[i] - _previousGradient[i];
            ys += s[i] * y[i];
            promised -= _previousGradient[i] * s[i];
        }
        if (ys > Epsilon * T.Abs(promised) && T.IsFinite(ys)) _history.Add((s, y));
    }

    void ComputeDirection(ReadOnlySpan<T> gradient)
    {
        var n = gradient.Length;
        var q = _direction;
        for (var i = 0; i < n; i++) q[i] = _active[i] ? T.Zero : -gradient[i];
        var used = 0;
        T gamma = T.One;
        for (var k = _history.Count - 1; k >= 0; k--)
        {
            var (s, y) = _history[k];
            var ys = FreeDot(s, y);
            if (!(ys > T.Zero))
            {
                _rho[k] = T.Zero;
                continue;
            }
            _rho[k] = T.One / ys;
            if (used++ == 0) gamma = ys / FreeDot(y, y);
            _alpha[k] = _rho[k] * FreeDot(s, q);
            for (var i = 0; i < n; i++) if (!_active[i]) q[i] -= _alpha[k] * y[i];
        }
        for (var i = 0; i < n; i++) q[i] *= gamma;
        for (var k = 0; k < _history.Count; k++)
        {
            if (_rho[k] == T.Zero) continue;
            var (s, y) = _history[k];
            var beta = _rho[k] * FreeDot(y, q);
            for (var i = 0; i < n; i++) if (!_active[i]) q[i] += (_alpha[k] - beta) * s[i];
        }
        var slope = T.Zero;
        for (var i = 0; i < n; i++) if (!_active[i]) slope += gradient[i] * q[i];
        if (!(slope < T.Zero) || !T.IsFinite(slope))
        {
            _history.Clear();
            for (var i = 0; i < n; i++) q[i] = _active[i] ? T.Zero : -gradient[i];
            gamma = T.One;
        }
        // Active coordinates: steepest descent on the same scale, which the projection stops at the bound.
        for (var i = 0; i < n; i++) if (_active[i] && !bounds.IsFixed(i)) q[i] = -gamma * gradient[i];
    }

    T FreeDot(ReadOnlySpan<T> a, ReadOnlySpan<T> b)
    {
        var sum = T.Zero;
        for (var i = 0; i < a.Length; i++) if (!_active[i]) sum += a[i] * b[i];
        return sum;
    }
}

/// <summary>
/// Newton's method under box bounds (Bertsekas' projected Newton): the exact Hessian restricted to the free
/// coordinates, damped (λ·I added) until its Cholesky factorisation succeeds, gives their step; ε-active
/// coordinates take -g/Hᵢᵢ; then <see cref="ProjectedSearch"/> from the full step. Fixed coordinates never move.
/// </summary>
public sealed class ProjectedNewton<T>(int dimension, Bounds<T> bounds, double learningRate = 1)
    : Optimizer<T> where T : IFloatingPointIeee754<T>
{
    readonly T _lr = Of(learningRate);
    readonly T[] _hessian = new T[dimension * dimension];
    readonly bool[] _active = new bool[dimension];
    readonly int[] _free = new int[dimension];
    readonly T[] _direction = new T[dimension];
    readonly T[] _trial = new T[dimension];
    readonly T[] _trialGradient = new T[dimension];

    public override StepResult Step(Span<T> x, T value, ReadOnlySpan<T> gradient, IObjective<T> objective)
    {
        var n = x.Length;
        objective.Hessian(x, _hessian);
        bounds.ActiveSet(x, gradient, _active);
        var m = 0;
        for (var i = 0; i < n; i++) if (!_active[i]) _free[m++] = i;
        var reduced = new T[m * m];
        var factor = new T[m * m];
        var scale = T.Zero;
        for (var a = 0; a < m; a++)
        {
            for (var b = 0; b < m; b++) reduced[a * m + b] = _hessian[_free[a] * n + _free[b]];
            scale = T.Max(scale, T.Abs(reduced[a * m + a]));
        }
        if (!(scale > T.Zero) || !T.IsFinite(scale)) scale = T.One;
        var damping = T.Zero;
        for (var attempt = 0; !DenseLinearAlgebra.Cholesky<T>(reduced, damping, default, factor, m); attempt++)
        {
            if (attempt == 60) return StepResult.Stuck;
            damping = damping == T.Zero ? scale * Of(1e-8) : damping * Of(10);
        }
        var freeStep = new T[m];
        for (var a = 0; a < m; a++) freeStep[a] = -gradient[_free[a]];
        DenseLinearAlgebra.CholeskySolve<T>(factor, freeStep, m);
        Array.Clear(_direction);
        for (var a = 0; a < m; a++) _direction[_free[a]] = freeStep[a];
        for (var i = 0; i < n; i++)
        {
            if (!_active[i] || bounds.IsFixed(i)) continue;
            var curvature = _hessian[i * n + i];
            _direction[i] = -gradient[i] / (curvature > T.Zero && T.IsFinite(curvature) ? curvature : scale);
        }
        return ProjectedSearch.Search(objective, bounds, x, value, gradient, _direction, _lr, _trial, _trialGradient)
            ? StepResult.Moved
            : StepResult.Stuck;
    }

    /// <summary>Nothing carries over between steps: the damping starts afresh from the Hessian at each.</summary>
    public override bool CanCheckpoint => true;

    public override OptimizerState ExportState() => new("projected-newton");

    public override void ImportState(OptimizerState state) => state.Of("projected-newton");
}
